import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PrellmCompiler
import PrellmSchema
import PrellmServer
import ProviderStandIn
import Testing

/// Active health checks against real stand-ins: an endpoint that stops answering its probe
/// leaves every route and `/v1/models`, and comes back when it answers again.
@Suite struct HealthCheckTests {
    static let config = """
        prellm: 1
        providers:
          openai: {health: {interval: 200ms, timeout: 1s}}
          anthropic: {health: {interval: 200ms, timeout: 1s}}
        server: {hide_unhealthy: true}
        models:
          smart: {use: [openai/gpt-4o-mini, anthropic/claude-haiku-4-5], policy: fallback}
          mini: openai/gpt-4o-mini
        """

    static func scripts() -> [String: [ScriptedStandIn.Responder]] {
        ["gpt-4o-mini": [Reply.openAI("from openai")], "claude-haiku-4-5": [Reply.anthropic("from anthropic")]]
    }

    @Test func aFailingEndpointLeavesTheRoutesAndComesBack() async throws {
        let openai = try ScriptedStandIn(Self.scripts())
        let anthropic = try ScriptedStandIn(Self.scripts())
        var environment = openai.environment
        environment["ANTHROPIC_BASE_URL"] = anthropic.baseURL
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("prellm-health-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("prellm.yaml").path
        try Self.config.write(toFile: path, atomically: true, encoding: .utf8)
        let result = WorkflowCompiler().compile(path: path)
        #expect(!result.hasErrors, "\(result.diagnostics)")
        let gateway = try Gateway(config: try #require(result.config), environment: environment)
        let app = Application(router: gateway.makeRouter())
        try await app.test(.router) { client in
            try await Self.waitFor(client, openai: "healthy", anthropic: "healthy")
            #expect(try await Self.ask(client) == "openai/gpt-4o-mini")
            #expect(try await Self.listed(client) == ["mini", "smart"])

            openai.server.stop()
            try await Self.waitFor(client, openai: "failing", anthropic: "healthy")
            let requestsBefore = openai.requests.count
            #expect(try await Self.ask(client) == "anthropic/claude-haiku-4-5")
            #expect(openai.requests.count == requestsBefore, "the failing endpoint was not tried")
            #expect(try await Self.listed(client) == ["smart"], "a name with no healthy endpoint is hidden")

            let back = try ScriptedStandIn(Self.scripts(), port: openai.server.port)
            defer { back.server.stop() }
            try await Self.waitFor(client, openai: "healthy", anthropic: "healthy")
            #expect(try await Self.ask(client) == "openai/gpt-4o-mini")
            #expect(try await Self.listed(client) == ["mini", "smart"])
        }
    }

    /// Polls `/readyz?deep=1` until the upstreams are in the given states (at most 10 s).
    static func waitFor(_ client: some TestClientProtocol, openai: String, anthropic: String) async throws {
        var last: JSONValue = .null
        for _ in 0..<100 {
            let r = try await client.execute(uri: "/readyz?deep=1", method: .get)
            last = try JSONParser.parse(String(buffer: r.body))
            if last["upstreams"]?["openai"]?["state"]?.stringValue == openai,
                last["upstreams"]?["anthropic"]?["state"]?.stringValue == anthropic
            {
                #expect(r.status == .ok)
                if openai == "failing" { #expect(last["upstreams"]?["openai"]?["error"] != nil) }
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("upstreams never became openai \(openai), anthropic \(anthropic): \(last.jsonText)")
    }

    /// Asks `smart` and returns the model that answered.
    static func ask(_ client: some TestClientProtocol) async throws -> String? {
        let r = try await client.execute(
            uri: "/v1/chat/completions", method: .post, headers: [.contentType: "application/json"],
            body: ByteBuffer(string: #"{"model": "smart", "messages": [{"role": "user", "content": "Hi"}]}"#))
        #expect(r.status == .ok, "\(String(buffer: r.body))")
        return r.headers[HTTPField.Name("x-prellm-model")!]
    }

    static func listed(_ client: some TestClientProtocol) async throws -> [String] {
        let r = try await client.execute(uri: "/v1/models", method: .get)
        return try JSONParser.parse(String(buffer: r.body))["data"]?.arrayValue?.compactMap { $0["id"]?.stringValue }.sorted() ?? []
    }
}
