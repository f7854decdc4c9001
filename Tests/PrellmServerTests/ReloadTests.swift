import Foundation
import PrellmHTTP
import Synchronization
import PrellmServer
import ProviderStandIn
import Testing

/// `prellm serve` reads its config again on SIGHUP and, with `--watch`, when a file changes: new
/// models serve, a config that does not compile is refused with its diagnostics and the old one
/// serves on, a request in flight finishes on the config it started with, and a provider key
/// rotated in its file takes effect.
@Suite struct ReloadTests {
    static func config(_ port: Int, models: String, keyFile: String) -> String {
        """
        prellm: 1
        server: {host: 127.0.0.1, port: \(port)}
        providers:
          openai: {api_key_file: "\(keyFile)"}
        models:
        \(models)
        """
    }

    @Test func sighupReloadsAndABrokenConfigKeepsTheOldOne() async throws {
        let sawKeys = KeysSeen()
        let slow: ScriptedStandIn.Responder = { request, w in
            sawKeys.add(request.header("Authorization") ?? "")
            if request.bodyText.contains("slow please") { w.pause(1500) }
            Reply.openAI("ok")(request, w)
        }
        let upstream = try ScriptedStandIn(["gpt-4o-mini": [slow], "gpt-4o": [slow]])
        let keyFile = FileManager.default.temporaryDirectory.appendingPathComponent("prellm-key-\(UUID().uuidString)").path
        try "sk-first".write(toFile: keyFile, atomically: true, encoding: .utf8)
        var environment = upstream.environment
        environment["OPENAI_API_KEY"] = nil
        var port = 0
        let gateway = try await ServedGateway(environment: environment) { p in
            port = p
            return Self.config(p, models: "  fast: openai/gpt-4o-mini", keyFile: keyFile)
        }
        defer { gateway.stop() }
        #expect(try await Self.ask(gateway.port, "fast").status == 200)
        #expect(try await Self.ask(gateway.port, "smart").status == 404)

        // A request in flight when the config changes finishes on the config it started with.
        let inFlight = Task { try await Self.ask(gateway.port, "fast", text: "slow please") }
        try await Task.sleep(for: .milliseconds(300))
        try "sk-second".write(toFile: keyFile, atomically: true, encoding: .utf8)
        try Self.config(port, models: "  smart: openai/gpt-4o", keyFile: keyFile).write(toFile: gateway.configPath, atomically: true, encoding: .utf8)
        kill(gateway.process.processIdentifier, SIGHUP)
        try await Self.until { gateway.log.contains(#""event":"reloaded""#) }
        #expect(try await Self.ask(gateway.port, "smart").status == 200, "the new model serves")
        #expect(try await Self.ask(gateway.port, "fast").status == 404, "the old one is gone")
        #expect(try await inFlight.value.status == 200, "the request in flight finished on the old config")
        #expect(sawKeys.all.last == "Bearer sk-second", "the key rotated in its file took effect: \(sawKeys.all)")
        #expect(sawKeys.all.first == "Bearer sk-first")

        try "prellm: 1\nmodels:\n  smart: openai/gpt-4o\nserver: {prot: 1}\n".write(toFile: gateway.configPath, atomically: true, encoding: .utf8)
        kill(gateway.process.processIdentifier, SIGHUP)
        try await Self.until { gateway.log.contains(#""event":"reload_rejected""#) }
        #expect(gateway.log.contains("unknown key 'prot'"), "the log has the diagnostics: \(gateway.log)")
        #expect(try await Self.ask(gateway.port, "smart").status == 200, "the old config serves on")
    }

    @Test func watchReloadsWhenTheConfigChanges() async throws {
        let upstream = try ScriptedStandIn(["gpt-4o-mini": [Reply.openAI("ok")], "gpt-4o": [Reply.openAI("ok")]])
        let keyFile = FileManager.default.temporaryDirectory.appendingPathComponent("prellm-key-\(UUID().uuidString)").path
        try "sk-watch".write(toFile: keyFile, atomically: true, encoding: .utf8)
        var port = 0
        let gateway = try await ServedGateway(environment: upstream.environment, arguments: ["--watch"]) { p in
            port = p
            return Self.config(p, models: "  fast: openai/gpt-4o-mini", keyFile: keyFile)
        }
        defer { gateway.stop() }
        #expect(try await Self.ask(gateway.port, "fast").status == 200)
        try Self.config(port, models: "  fast: openai/gpt-4o-mini\n  smart: openai/gpt-4o", keyFile: keyFile)
            .write(toFile: gateway.configPath, atomically: true, encoding: .utf8)
        try await Self.until { gateway.log.contains(#""event":"reloaded""#) }
        #expect(try await Self.ask(gateway.port, "smart").status == 200)
    }

    static func ask(_ port: Int, _ model: String, text: String = "Hi") async throws -> (status: Int, body: String) {
        var request = HTTPRequest(method: "POST", url: "http://127.0.0.1:\(port)/v1/chat/completions")
        request.headers = [("Content-Type", "application/json")]
        request.body = Array(#"{"model": "\#(model)", "messages": [{"role": "user", "content": "\#(text)"}]}"#.utf8)
        let r = try await HTTPClient.shared.send(request)
        return (r.head.status, String(decoding: r.body, as: UTF8.self))
    }

    /// Waits up to 10 s for `condition`.
    static func until(_ condition: () -> Bool) async throws {
        for _ in 0..<200 where !condition() { try await Task.sleep(for: .milliseconds(50)) }
        #expect(condition(), "timed out")
    }

    final class KeysSeen: Sendable {
        private let keys = Synchronization.Mutex<[String]>([])
        func add(_ k: String) { keys.withLock { $0.append(k) } }
        var all: [String] { keys.withLock { $0 } }
    }
}
