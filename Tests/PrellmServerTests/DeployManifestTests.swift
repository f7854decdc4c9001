import Foundation
import PrellmCompiler
import PrellmSchema
import PrellmServer
import PrellmSyntax
import ProviderStandIn
import Testing

/// The Kubernetes manifests in deploy/kubernetes validate against the Kubernetes schemas
/// (`kubernetes-validate --strict`, from PyPI: unknown fields are errors), and say what the
/// gateway does: each ConfigMap's prellm.yaml is a config that compiles without a diagnostic,
/// the container port is the config's, the probes are the gateway's health endpoints, and the
/// pods run as a non-root user. Without kubernetes-validate the schema check is skipped, saying
/// so, unless PRELLM_REQUIRE_KUBERNETES_VALIDATE=1 (.ci/run sets it).
@Suite struct DeployManifestTests {
    static let folder = GatewayTests.root.appendingPathComponent("deploy/kubernetes")
    static let version = "1.31.0"

    static var manifests: [String] {
        let found = FileManager.default.enumerator(atPath: folder.path)?.compactMap { $0 as? String } ?? []
        return found.filter { $0.hasSuffix(".yaml") }.sorted()
    }

    static func python(_ arguments: [String]) async throws -> Subprocess.Finished {
        try await Subprocess.run(URL(fileURLWithPath: "/usr/bin/env"), ["python3"] + arguments, timeout: .seconds(120))
    }

    static func validatorInstalled() async throws -> Bool {
        if try await python(["-c", "import kubernetes_validate"]).status == 0 { return true }
        if ProcessInfo.processInfo.environment["PRELLM_REQUIRE_KUBERNETES_VALIDATE"] == "1" {
            Issue.record("PRELLM_REQUIRE_KUBERNETES_VALIDATE=1 but kubernetes-validate is not installed (pip install kubernetes-validate)")
        } else {
            print("Kubernetes manifest validation skipped: pip install kubernetes-validate")
        }
        return false
    }

    @Test func theManifestsValidateAgainstTheKubernetesSchemas() async throws {
        #expect(Self.manifests.count >= 5, "\(Self.manifests)")
        guard try await Self.validatorInstalled() else { return }
        for name in Self.manifests {
            let r = try await Self.python([
                "-m", "kubernetes_validate", "--strict", "-k", Self.version, Self.folder.appendingPathComponent(name).path,
            ])
            #expect(r.status == 0, "\(name): \(r.stdout)\(r.stderr)")
        }
        // The check can fail: a misspelt field is refused.
        let bad = FileManager.default.temporaryDirectory.appendingPathComponent("prellm-bad-\(UUID().uuidString).yaml")
        defer { try? FileManager.default.removeItem(at: bad) }
        let deployment = try String(contentsOf: Self.folder.appendingPathComponent("deployment.yaml"), encoding: .utf8)
        try deployment.replacingOccurrences(of: "readinessProbe", with: "readinesProbe").write(to: bad, atomically: true, encoding: .utf8)
        let refused = try await Self.python(["-m", "kubernetes_validate", "--strict", "-k", Self.version, bad.path])
        #expect(refused.status != 0 && (refused.stdout + refused.stderr).contains("readinesProbe"))
    }

    /// Every document of every manifest, as JSON (PyYAML reads the multi-document files).
    static func documents() async throws -> [(file: String, doc: JSONValue)] {
        var out: [(String, JSONValue)] = []
        for name in manifests {
            let script = "import json, sys, yaml; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))"
            let r = try await python(["-c", script, folder.appendingPathComponent(name).path])
            try #require(r.status == 0, "\(name): \(r.stderr)")
            for doc in try JSONParser.parse(r.stdout).arrayValue ?? [] { out.append((name, doc)) }
        }
        return out
    }

    @Test func theyDescribeTheGatewayAsItIs() async throws {
        let docs = try await Self.documents()
        var ports: [String: Int] = [:]
        for (file, doc) in docs where doc["kind"] == "ConfigMap" {
            let text = try #require(doc["data"]?["prellm.yaml"]?.stringValue, "\(file)")
            let r = WorkflowCompiler().compile(source: Source(path: "/etc/prellm/prellm.yaml", text: text))
            #expect(r.diagnostics.isEmpty, "\(file): \(DiagnosticRenderer.text(r.diagnostics, sources: r.sources))")
            let config = try #require(r.config, "\(file): not a config")
            #expect(config.server.host == "0.0.0.0", "\(file): a pod's gateway listens on every address")
            ports[file] = config.server.port
        }
        let deployments = docs.filter { $0.doc["kind"] == "Deployment" }
        #expect(deployments.count == 2)
        for (file, doc) in deployments {
            let pod = try #require(doc["spec"]?["template"]?["spec"])
            #expect(pod["securityContext"]?["runAsNonRoot"] == .bool(true), "\(file)")
            let container = try #require(pod["containers"]?[0])
            #expect(container["securityContext"]?["allowPrivilegeEscalation"] == .bool(false), "\(file)")
            #expect(container["ports"]?[0]?["containerPort"]?.int == ports[file] ?? ports["configmap.yaml"], "\(file)")
            #expect(container["readinessProbe"]?["httpGet"]?["path"] == "/readyz", "\(file)")
            #expect(container["livenessProbe"]?["httpGet"]?["path"] == "/healthz", "\(file)")
            #expect(container["resources"]?["requests"] != nil, "\(file)")
            #expect(container["envFrom"]?[0]?["secretRef"]?["name"] == "prellm-provider-keys", "\(file)")
        }
        #expect(docs.contains { $0.doc["kind"] == "Secret" && $0.doc["metadata"]?["name"] == "prellm-provider-keys" })
        #expect(docs.contains { $0.doc["kind"] == "Service" })
        // The probes are endpoints the gateway serves.
        #expect(Gateway.endpoints.contains { $0.contains("/readyz") } && Gateway.endpoints.contains { $0.contains("/healthz") })
    }

    /// deploy/compose.yaml runs the image on the compose file's PostgreSQL with the config beside
    /// it, which compiles; the Dockerfile's runtime has exactly the packages the release
    /// archive's README names, runs as a non-root user and checks /readyz.
    @Test func composeAndTheImageAgreeWithTheRelease() async throws {
        let deploy = GatewayTests.root.appendingPathComponent("deploy")
        let text = try String(contentsOf: deploy.appendingPathComponent("prellm.compose.yaml"), encoding: .utf8)
        let r = WorkflowCompiler().compile(source: Source(path: deploy.appendingPathComponent("prellm.compose.yaml").path, text: text))
        #expect(r.diagnostics.isEmpty, "\(DiagnosticRenderer.text(r.diagnostics, sources: r.sources))")
        let config = try #require(r.config)
        #expect(config.storeURL?.contains("@postgres:5432/") == true)

        let script = "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))"
        let parsed = try await Self.python(["-c", script, deploy.appendingPathComponent("compose.yaml").path])
        try #require(parsed.status == 0, "\(parsed.stderr)")
        let compose = try JSONParser.parse(parsed.stdout)
        let gateway = try #require(compose["services"]?["prellm"])
        #expect(gateway["ports"]?[0] == .string("\(config.server.port):\(config.server.port)"))
        #expect(gateway["volumes"]?.arrayValue?.contains(.string("./prellm.compose.yaml:/etc/prellm/prellm.yaml:ro")) == true)
        #expect(gateway["depends_on"]?["postgres"]?["condition"] == "service_healthy")
        #expect(compose["services"]?["postgres"]?["healthcheck"] != nil)

        let dockerfile = try String(contentsOf: GatewayTests.root.appendingPathComponent("Dockerfile"), encoding: .utf8)
        let release = try String(contentsOf: GatewayTests.root.appendingPathComponent("scripts/release"), encoding: .utf8)
        let named = try #require(release.split(separator: "\n").first { $0.hasPrefix("runtime_packages=(") })
        let packages = Set(named.dropFirst("runtime_packages=(".count).dropLast().split(separator: " ").map(String.init))
        let runtime = try #require(dockerfile.components(separatedBy: "\nFROM ${RUNTIME_IMAGE}").last)
        let installed = Set(runtime.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\\" }).map(String.init).filter(packages.contains))
        #expect(!packages.isEmpty && installed == packages, "\(installed) vs \(packages)")
        #expect(dockerfile.contains("ARG BUILD_IMAGE=") && dockerfile.contains("ARG RUNTIME_IMAGE="))
        #expect(runtime.contains("USER 10001:10001") && runtime.contains("/readyz") && runtime.contains("ENV PRELLM_HOST=0.0.0.0"))
    }
}
