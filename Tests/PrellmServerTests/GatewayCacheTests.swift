import Foundation
import PrellmCompiler
import PrellmHTTP
import PrellmSchema
import PrellmServer
import ProviderStandIn
import Testing

/// The gateway's answer cache, over real sockets: two `prellm serve` replicas on one store
/// (a SQLite file, and a PostgreSQL server the tests start, in PostgresStoreTests) share answers; each key reads only
/// its own; `Cache-Control: no-cache` goes upstream; a streamed request replays a kept answer;
/// errors are never kept; a hit costs nothing and its spend record says so.
@Suite(.serialized) struct GatewayCacheTests {
    static let keyA = "pk-cache-a-0123456789abcdef"
    static let keyB = "pk-cache-b-0123456789abcdef"

    static func config(port: Int, store: String) -> String {
        """
        prellm: 1
        server: {host: 127.0.0.1, port: \(port)}
        store: \(store)
        cache: {ttl: 10m, scope: key}
        models:
          fast: openai/gpt-4o-mini
          broken: openai/gpt-broken
        keys:
          - {id: team-a, hash: "sha256:\(SHA256.hex(keyA))"}
          - {id: team-b, hash: "sha256:\(SHA256.hex(keyB))"}
        """
    }

    @Test func replicasOnOneSQLiteFileShareTheCache() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("prellm-cache-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try await Self.exercise(store: "{path: \"\(dir.appendingPathComponent("store.sqlite").path)\"}")
    }

    static func exercise(store: String) async throws {
        let standIn = try ScriptedStandIn([
            "gpt-4o-mini": [Reply.openAI("kept answer", promptTokens: 20, completionTokens: 10)],
            "gpt-broken": [Reply.status(400, #"{"error":{"message":"bad","type":"invalid_request_error"}}"#)],
        ])
        let one = try await ServedGateway(environment: standIn.environment) { config(port: $0, store: store) }
        defer { one.stop() }
        let two = try await ServedGateway(environment: standIn.environment) { config(port: $0, store: store) }
        defer { two.stop() }
        let upstream = { standIn.requests.filter { $0.method == "POST" && $0.bodyText.contains("gpt-4o-mini") }.count }

        let first = try await post(one.port, key: keyA)
        #expect(first.status == 200 && first.header("x-prellm-cache") == "miss", "\(first.body)")
        #expect(first.header("x-prellm-cost-usd") != "0.0")
        let hit = try await post(two.port, key: keyA)
        #expect(hit.status == 200 && hit.header("x-prellm-cache") == "hit", "the other replica reads the shared answer")
        #expect(hit.header("x-prellm-cost-usd") == "0.0", "a hit costs nothing")
        #expect(try JSONParser.parse(hit.body)["choices"]?[0]?["message"]?["content"] == "kept answer")
        #expect(upstream() == 1)

        let other = try await post(one.port, key: keyB)
        #expect(other.header("x-prellm-cache") == "miss", "a key reads only its own answers")
        let fresh = try await post(two.port, key: keyA, headers: [("Cache-Control", "no-cache")])
        #expect(fresh.header("x-prellm-cache") == "miss", "no-cache goes upstream")
        #expect(upstream() == 3)

        let streamed = try await post(one.port, key: keyA, stream: true)
        #expect(streamed.header("x-prellm-cache") == "hit")
        #expect(streamed.body.contains(#""content":"kept answer""#) && streamed.body.hasSuffix("data: [DONE]\n\n"), "\(streamed.body)")
        #expect(upstream() == 3, "a streamed request replays the kept answer")

        for _ in 0..<2 { #expect(try await post(one.port, key: keyA, model: "broken").status == 400) }
        #expect(standIn.requests.filter { $0.bodyText.contains("gpt-broken") }.count == 2, "an error is never kept")

        let metrics = String(
            decoding: try await HTTPClient.shared.send(HTTPRequest(method: "GET", url: "http://127.0.0.1:\(one.port)/metrics")).body, as: UTF8.self)
        #expect(metrics.contains("prellm_cache_hits_total{model=\"openai/gpt-4o-mini\"} 1"), "\(metrics)")
        #expect(metrics.contains("prellm_cache_misses_total"))
        #expect(metrics.contains("prellm_cache_stored_bytes_total"))
        try await expectSpendRecords(store: store, config: config(port: 0, store: store))
    }

    /// team-a's spend: four requests for `fast`, two of them answered by the cache at no cost.
    static func expectSpendRecords(store: String, config: String) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("prellm-cache-usage-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("prellm.yaml").path
        try config.write(toFile: path, atomically: true, encoding: .utf8)
        let result = WorkflowCompiler().compile(path: path)
        let opened = try await Gateway.openStore(try #require(result.config))
        let rows = try await opened.usage(since: "2000-01-01", key: "team-a").filter { $0.model == "openai/gpt-4o-mini" }
        #expect(rows.map(\.requests).reduce(0, +) == 4)
        #expect(rows.map(\.cached).reduce(0, +) == 2, "\(rows)")
        let each = (20 * 0.15 + 10 * 0.60) / 1_000_000
        #expect(abs(rows.map(\.usd).reduce(0, +) - 2 * each) < 1e-12, "only the two upstream answers are charged")
    }

    struct Answer {
        var status: Int
        var headers: [(name: String, value: String)]
        var body: String
        func header(_ name: String) -> String? { headers.first { $0.name.lowercased() == name }?.value }
    }

    static func post(
        _ port: Int, key: String, model: String = "fast", stream: Bool = false, headers: [(String, String)] = []
    ) async throws -> Answer {
        var request = HTTPRequest(method: "POST", url: "http://127.0.0.1:\(port)/v1/chat/completions")
        request.headers = [("Content-Type", "application/json"), ("Authorization", "Bearer \(key)")] + headers
        request.body = Array(#"{"model": "\#(model)", "stream": \#(stream), "messages": [{"role": "user", "content": "Hi"}]}"#.utf8)
        let r = try await HTTPClient.shared.send(request)
        return Answer(status: r.head.status, headers: r.head.headers, body: String(decoding: r.body, as: UTF8.self))
    }
}

extension PostgresStoreTests {
    /// In the PostgreSQL suite, which is serialized: one of its tests restarts the server.
    @Test func replicasOnOnePostgreSQLDatabaseShareTheCache() async throws {
        guard let pg = try await server() else { return }
        try await GatewayCacheTests.exercise(store: "{url: \"\(try pg.database())\"}")
    }
}

/// Without a `cache:` in the config, a served workflow's steps marked `cache:` are answered from
/// the gateway's store, and nothing else is.
@Suite struct ServedWorkflowCacheTests {
    static let workflow = """
        prellm: 1
        name: twice
        inputs:
          query: {type: string}
        steps:
          - id: kept
            call: {model: openai/gpt-4o-mini, prompt: "Kept: {{ inputs.query }}"}
            cache: {ttl: 1h}
          - id: fresh
            call: {model: openai/gpt-4o-mini, prompt: "Fresh: {{ inputs.query }} {{ kept }}"}
        output: "{{ fresh }}"
        """

    @Test func onlyMarkedStepsAreCached() async throws {
        let standIn = try ScriptedStandIn(["gpt-4o-mini": [Reply.openAI("ok")]])
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("prellm-wfcache-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try Self.workflow.write(to: dir.appendingPathComponent("twice.yaml"), atomically: true, encoding: .utf8)
        let gateway = try await ServedGateway(environment: standIn.environment) { port in
            "prellm: 1\nserver: {host: 127.0.0.1, port: \(port)}\nworkflows: [\"\(dir.path)/twice.yaml\"]\n"
        }
        defer { gateway.stop() }
        for _ in 0..<2 {
            var request = HTTPRequest(method: "POST", url: "http://127.0.0.1:\(gateway.port)/v1/chat/completions")
            request.headers = [("Content-Type", "application/json")]
            request.body = Array(#"{"model": "workflow/twice", "messages": [{"role": "user", "content": "Hi"}]}"#.utf8)
            let r = try await HTTPClient.shared.send(request)
            #expect(r.head.status == 200, "\(String(decoding: r.body, as: UTF8.self))")
            #expect(!r.head.headers.contains { $0.name.lowercased() == "x-prellm-cache" }, "the config has no cache")
        }
        let prompts = standIn.requests.filter { $0.method == "POST" }.map(\.bodyText)
        #expect(prompts.filter { $0.contains("Kept: Hi") }.count == 1, "the marked step reached upstream once")
        #expect(prompts.filter { $0.contains("Fresh: Hi") }.count == 2, "the unmarked one every time")
    }
}
