import Foundation
import PrellmHTTP
import ProviderStandIn
import Testing

/// Faults a hostile model answer or client can cause, against `prellm serve` as a process: the
/// gateway must keep answering everyone else.
@Suite(.serialized) struct GatewayFaultTests {
    static let workflow = """
        prellm: 1
        name: hostile
        inputs:
          message: {type: string}
        models:
          fast: openai/gpt-4o-mini
        contracts:
          Facts:
            type: object
            required: [a]
            properties: {a: {type: string}}
        steps:
          - id: facts
            call: {model: fast, prompt: "{{ inputs.message }}", output: Facts}
        """

    /// A served workflow whose model answers 200,000 `[`: repairing it once took seconds per
    /// answer on the pool that serves requests, and `/healthz` waited 24 s behind two of them.
    @Test func healthStaysFastWhileHostileAnswersAreParsed() async throws {
        let standIn = try ScriptedStandIn(["gpt-4o-mini": [Reply.openAI(String(repeating: "[", count: 200_000))]])
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("prellm-fault-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("hostile.yaml")
        try Self.workflow.write(to: file, atomically: true, encoding: .utf8)
        let gateway = try await ServedGateway(environment: standIn.environment) { port in
            "prellm: 1\nserver: {host: 127.0.0.1, port: \(port)}\nmodels:\n  fast: openai/gpt-4o-mini\nworkflows: [\(file.path)]\n"
        }
        defer { gateway.stop() }
        let base = "http://127.0.0.1:\(gateway.port)"
        let body = Array(#"{"model": "workflow/hostile", "messages": [{"role": "user", "content": "go"}]}"#.utf8)
        let statuses = Task {
            try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<10 {
                    group.addTask {
                        let request = HTTPRequest(url: base + "/v1/chat/completions", headers: [("Content-Type", "application/json")], body: body)
                        return try await HTTPClient.shared.send(request).head.status
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
        }
        var latencies: [Duration] = []
        let clock = ContinuousClock()
        while latencies.count < 40 {
            let started = clock.now
            let r = try await HTTPClient.shared.send(HTTPRequest(method: "GET", url: base + "/healthz"))
            #expect(r.head.status == 200)
            latencies.append(clock.now - started)
            try await Task.sleep(for: .milliseconds(25))
        }
        let ended = try await statuses.value
        #expect(ended.allSatisfy { $0 == 422 || $0 == 502 }, "statuses: \(ended)")
        // The 90th percentile, not the worst: the tests share two cores with other suites, and
        // one probe can lose a scheduling slice. Before the fix a probe took seconds.
        let sorted = latencies.sorted()
        #expect(sorted[sorted.count * 9 / 10] < .milliseconds(50), "/healthz: \(sorted)")
        #expect(sorted.last! < .seconds(1), "/healthz: \(sorted)")
        #expect(standIn.requests.count == 20, "two attempts per request")
    }
}
