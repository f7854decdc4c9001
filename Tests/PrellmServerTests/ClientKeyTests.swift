import Foundation
import PrellmCompiler
import PrellmHTTP
import PrellmServer
import ProviderStandIn
import Testing

/// `server.auth: client` and `hybrid` over real sockets: a client's own provider key goes to
/// the upstream of the model it asks for, and to nothing else — not the log, the metrics, the
/// store, nor an error's message; the gateway's own provider key is not spent for it.
@Suite struct ClientKeyTests {
    static let userKey = "sk-user-0123456789abcdefghij"
    static let wrongKey = "sk-user-wrong-9876543210zyxw"
    static let gatewayKey = "pk-hybrid-0123456789abcdef"

    /// Answers only the keys it knows, as OpenAI does; a wrong key's 401 echoes it.
    static func standIn() throws -> ScriptedStandIn {
        let checked: ScriptedStandIn.Responder = { request, w in
            let auth = request.header("Authorization") ?? ""
            if auth == "Bearer \(userKey)" {
                Reply.openAI("with your key")(request, w)
            } else if auth == "Bearer sk-standin" {
                Reply.openAI("with the gateway's key")(request, w)
            } else {
                let key = auth.replacingOccurrences(of: "Bearer ", with: "")
                w.error(
                    status: 401,
                    body: #"{"error":{"message":"Incorrect API key provided: \#(key).","type":"invalid_request_error","code":"invalid_api_key"}}"#)
            }
        }
        return try ScriptedStandIn(["gpt-4o-mini": [checked], "gpt-4o": [checked]])
    }

    @Test func aClientsOwnKeyGoesUpstreamAndNowhereElse() async throws {
        let upstream = try Self.standIn()
        let gateway = try await ServedGateway(environment: upstream.environment) { port in
            "prellm: 1\nserver: {host: 127.0.0.1, port: \(port), auth: client}\nmodels:\n  fast: openai/gpt-4o-mini\n"
        }
        defer { gateway.stop() }
        let ok = try await Self.post(gateway.port, key: Self.userKey)
        #expect(ok.status == 200 && ok.body.contains("with your key"), "\(ok.body)")
        #expect(upstream.requests.allSatisfy { $0.header("Authorization") != "Bearer sk-standin" }, "the gateway's own key is not spent")

        let missing = try await Self.post(gateway.port, key: nil)
        #expect(missing.status == 401)
        let wrong = try await Self.post(gateway.port, key: Self.wrongKey)
        #expect(wrong.status == 401, "the upstream refused the client's own key")
        #expect(!wrong.body.contains(Self.wrongKey), "an upstream error echoing the key reaches the client without it: \(wrong.body)")

        var embeddings = HTTPRequest(method: "POST", url: "http://127.0.0.1:\(gateway.port)/v1/embeddings")
        embeddings.headers = [("Content-Type", "application/json"), ("Authorization", "Bearer \(Self.userKey)")]
        embeddings.body = Array(#"{"model": "fast", "input": "hi"}"#.utf8)
        #expect(try await HTTPClient.shared.send(embeddings).head.status == 403, "an endpoint on the gateway's keys refuses a client key")

        let metrics = try await HTTPClient.shared.send(HTTPRequest(method: "GET", url: "http://127.0.0.1:\(gateway.port)/metrics"))
        let leaks = [gateway.log, String(decoding: metrics.body, as: UTF8.self)] + Self.storeFiles(gateway.dir)
        for text in leaks {
            #expect(!text.contains(Self.userKey) && !text.contains(Self.wrongKey), "a client key leaked: \(text.prefix(2000))")
        }
        #expect(gateway.log.contains(#""key_id":"client""#), "the log names the caller as a client: \(gateway.log)")
    }

    @Test func hybridTakesGatewayKeysAndClientKeysForTheAllowedModels() async throws {
        let upstream = try Self.standIn()
        let gateway = try await ServedGateway(environment: upstream.environment) { port in
            """
            prellm: 1
            server: {host: 127.0.0.1, port: \(port), auth: hybrid, client_key_models: [fast]}
            models:
              fast: openai/gpt-4o-mini
              smart: openai/gpt-4o
            keys:
              - {id: team, hash: "sha256:\(SHA256.hex(Self.gatewayKey))"}
            """
        }
        defer { gateway.stop() }
        let keyed = try await Self.post(gateway.port, key: Self.gatewayKey, model: "smart")
        #expect(keyed.status == 200 && keyed.body.contains("with the gateway's key"), "\(keyed.body)")
        let own = try await Self.post(gateway.port, key: Self.userKey, model: "fast")
        #expect(own.status == 200 && own.body.contains("with your key"), "\(own.body)")
        let notAllowed = try await Self.post(gateway.port, key: Self.userKey, model: "smart")
        #expect(notAllowed.status == 401, "a client key for a model not in client_key_models is an unknown key")
        #expect(!gateway.log.contains(Self.userKey))
    }

    @Test func aClientKeyModelOnSeveralProvidersIsRefusedAtStart() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("prellm-clientkey-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("prellm.yaml").path
        try """
        prellm: 1
        server: {auth: client}
        models:
          smart: {use: [openai/gpt-4o, anthropic/claude-haiku-4-5], policy: fallback}
        """.write(toFile: path, atomically: true, encoding: .utf8)
        let config = try #require(WorkflowCompiler().compile(path: path).config)
        #expect(throws: Gateway.StartupError.self) { try Gateway(config: config, environment: [:]) }
    }

    /// The gateway's store files, as text.
    static func storeFiles(_ dir: URL) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.filter { $0.hasPrefix("prellm-store") }.compactMap { FileManager.default.contents(atPath: dir.appendingPathComponent($0).path) }
            .map { String(decoding: $0, as: UTF8.self) }
    }

    static func post(_ port: Int, key: String?, model: String = "fast") async throws -> (status: Int, body: String) {
        var request = HTTPRequest(method: "POST", url: "http://127.0.0.1:\(port)/v1/chat/completions")
        request.headers = [("Content-Type", "application/json")] + (key.map { [("Authorization", "Bearer \($0)")] } ?? [])
        request.body = Array(#"{"model": "\#(model)", "messages": [{"role": "user", "content": "Hi"}]}"#.utf8)
        let r = try await HTTPClient.shared.send(request)
        return (r.head.status, String(decoding: r.body, as: UTF8.self))
    }
}
