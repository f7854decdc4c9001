import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PrellmCompiler
import PrellmSchema
import PrellmServer
import ProviderStandIn
import Testing

/// Providers a config names itself: two stand-ins as two OpenAI-format endpoints of one model,
/// balanced by `least_busy`; one stopped leaves the route, and comes back when it answers again.
@Suite struct NamedEndpointTests {
    static func config(_ a: String, _ b: String) -> String {
        """
        prellm: 1
        providers:
          gpu-a: {format: openai, base_url: "\(a)/v1", health: {interval: 200ms, timeout: 1s}}
          gpu-b: {format: openai, base_url: "\(b)/v1", api_key_env: GPU_B_KEY, health: {interval: 200ms, timeout: 1s}}
        models:
          llama: {use: [gpu-a/llama3.1:8b, gpu-b/llama3.1:8b], policy: least_busy}
        """
    }

    /// A stand-in whose answers take 400 ms, so that concurrent requests overlap there.
    static func slowStandIn(port: Int = 0) throws -> ScriptedStandIn {
        let slow: ScriptedStandIn.Responder = { request, w in
            w.pause(400)
            Reply.openAI("ok")(request, w)
        }
        return try ScriptedStandIn(["llama3.1:8b": [slow]], port: port)
    }

    @Test func twoNamedEndpointsShareALeastBusyRouteAndAStoppedOneLeavesIt() async throws {
        let a = try Self.slowStandIn()
        let b = try Self.slowStandIn()
        defer { b.server.stop() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("prellm-named-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("prellm.yaml").path
        try Self.config(a.baseURL, b.baseURL).write(toFile: path, atomically: true, encoding: .utf8)
        let result = WorkflowCompiler().compile(path: path)
        #expect(result.diagnostics.isEmpty, "\(result.diagnostics)")
        let gateway = try Gateway(
            config: try #require(result.config), environment: ["PATH": "/usr/bin:/bin", "GPU_B_KEY": "sk-gpu-b"])
        let app = Application(router: gateway.makeRouter())
        try await app.test(.router) { client in
            try await Self.waitFor(client, a: "healthy", b: "healthy")
            let both = try await Self.ask(client, times: 6)
            #expect(both["gpu-a/llama3.1:8b", default: 0] >= 2 && both["gpu-b/llama3.1:8b", default: 0] >= 2, "\(both)")
            let chats = { (s: ScriptedStandIn) in s.requests.filter { $0.method == "POST" } }
            #expect(chats(a).allSatisfy { $0.header("Authorization") == nil }, "gpu-a has no key")
            #expect(chats(b).allSatisfy { $0.header("Authorization") == "Bearer sk-gpu-b" })
            #expect(chats(a).allSatisfy { $0.bodyText.contains(#""model":"llama3.1:8b""#) }, "the provider name is not sent")

            a.server.stop()
            try await Self.waitFor(client, a: "failing", b: "healthy")
            let sentToA = chats(a).count
            #expect(try await Self.ask(client, times: 4) == ["gpu-b/llama3.1:8b": 4])
            #expect(chats(a).count == sentToA, "the stopped endpoint was not tried")

            let back = try Self.slowStandIn(port: a.server.port)
            defer { back.server.stop() }
            try await Self.waitFor(client, a: "healthy", b: "healthy")
            let again = try await Self.ask(client, times: 6)
            #expect(again["gpu-a/llama3.1:8b", default: 0] >= 2, "the endpoint is back in the route: \(again)")
        }
    }

    /// `n` concurrent requests for `llama`; how many each model answered.
    static func ask(_ client: some TestClientProtocol, times n: Int) async throws -> [String: Int] {
        try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<n {
                group.addTask {
                    let r = try await client.execute(
                        uri: "/v1/chat/completions", method: .post, headers: [.contentType: "application/json"],
                        body: ByteBuffer(string: #"{"model": "llama", "messages": [{"role": "user", "content": "Hi"}]}"#))
                    #expect(r.status == .ok, "\(String(buffer: r.body))")
                    return r.headers[HTTPField.Name("x-prellm-model")!] ?? "none"
                }
            }
            return try await group.reduce(into: [:]) { $0[$1, default: 0] += 1 }
        }
    }

    /// Polls `/readyz?deep=1` until the two endpoints are in the given states (at most 10 s).
    static func waitFor(_ client: some TestClientProtocol, a: String, b: String) async throws {
        var last: JSONValue = .null
        for _ in 0..<100 {
            let r = try await client.execute(uri: "/readyz?deep=1", method: .get)
            last = try JSONParser.parse(String(buffer: r.body))
            if last["upstreams"]?["gpu-a"]?["state"]?.stringValue == a, last["upstreams"]?["gpu-b"]?["state"]?.stringValue == b { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("endpoints never became gpu-a \(a), gpu-b \(b): \(last.jsonText)")
    }
}
