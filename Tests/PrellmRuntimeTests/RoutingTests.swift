import PrellmProviderKit
import PrellmRuntime
import PrellmSchema
import Testing

@Suite struct RoutingTests {
    static func workflow(_ policy: String, _ use: String, extra: String = "") -> String {
        """
        prellm: 1
        inputs:
          q: string
        models:
          pool:
            use: \(use)
            policy: \(policy)
        \(extra)
        steps:
          - id: answer
            call: {model: pool, prompt: "{{ inputs.q }}"}
            retry: 0
        output: "{{ answer }}"
        """
    }

    func run(
        _ yaml: String, _ p: ScriptedProvider, prices: [String: ModelPrice] = [:], random: @escaping @Sendable () -> Double = { 0 },
        routing: RoutingState = RoutingState(), clock: ManualClock = ManualClock(), inputs: String = "x"
    ) async throws -> RunResult {
        var ctx = RunContext(models: ScriptedModels(provider: p, prices: prices), clock: clock, random: random, routing: routing)
        ctx.cache = nil
        return try await interpreter(yaml).run(inputs: ["q": .string(inputs)], context: ctx)
    }

    @Test func roundRobinRotates() async throws {
        let p = ScriptedProvider(["openai/a": [.text("A")], "openai/b": [.text("B")]])
        let routing = RoutingState()
        let w = Self.workflow("round_robin", "[openai/a, openai/b]")
        var outputs: [JSONValue] = []
        for _ in 0..<4 { outputs.append(try await run(w, p, routing: routing).output) }
        #expect(outputs == ["A", "B", "A", "B"])
    }

    @Test func weightedFollowsTheDraw() async throws {
        let p = ScriptedProvider(["openai/a": [.text("A")], "openai/b": [.text("B")]])
        let w = Self.workflow("weighted", "[{model: openai/a, weight: 80}, {model: openai/b, weight: 20}]")
        #expect(try await run(w, p, random: { 0.79 }).output == "A")
        #expect(try await run(w, p, random: { 0.81 }).output == "B")
    }

    @Test func cheapestPrefersTheLowerPriceAndFallsBack() async throws {
        let p = ScriptedProvider([
            "openai/dear": [.text("dear")],
            "openai/cheap": [.error(ProviderError(provider: "openai", kind: .server, status: 500, message: "down"))],
        ])
        let prices = ["openai/dear": ModelPrice(input: 5, output: 15), "openai/cheap": ModelPrice(input: 0.1, output: 0.4)]
        let r = try await run(Self.workflow("cheapest", "[openai/dear, openai/cheap]"), p, prices: prices)
        #expect(r.output == "dear")
        #expect(p.requests.map(\.model) == ["openai/cheap", "openai/dear"])
    }

    @Test func fastestUsesTheMovingAverageOfLatency() async throws {
        let p = ScriptedProvider(["openai/a": [.text("A")], "openai/b": [.text("B")], "openai/c": [.text("C")]])
        let w = Self.workflow("fastest", "[openai/a, openai/b, openai/c]")
        let routing = RoutingState()
        routing.recordLatency("openai/a", ms: 900)
        routing.recordLatency("openai/b", ms: 120)
        routing.recordLatency("openai/c", ms: 400)
        #expect(try await run(w, p, routing: routing).output == "B")
        // One slow call moves b's average (0.8 · 120 + 0.2 · 2000 = 496) above c's.
        routing.recordLatency("openai/b", ms: 2000)
        #expect(try await run(w, p, routing: routing).output == "C")
    }

    @Test func leastBusyPicksTheModelWithFewestCallsInFlight() async throws {
        let p = ScriptedProvider(["openai/a": [.text("A")], "openai/b": [.text("B")], "openai/c": [.text("C")]])
        let w = Self.workflow("least_busy", "[openai/a, openai/b, openai/c]")
        let routing = RoutingState()
        routing.started("openai/a")
        routing.started("openai/a")
        routing.started("openai/b")
        #expect(try await run(w, p, routing: routing).output == "C")
        // b and c one each: the tie goes to the lower latency average (c measured 0 ms now).
        routing.started("openai/c")
        routing.recordLatency("openai/b", ms: 900)
        #expect(try await run(w, p, routing: routing).output == "C")
        // Each attempt gave its count back.
        let counts: [Int] = ["openai/a", "openai/b", "openai/c"].map(routing.inFlight)
        #expect(counts == [2, 1, 1])
    }

    /// A call waiting on one model makes the next go to the other; once it ends (here
    /// cancelled), its count is given back.
    @Test func aCallInFlightCountsUntilItEnds() async throws {
        let p = ScriptedProvider(["openai/a": [.hang, .text("A")], "openai/b": [.text("B")]])
        let w = Self.workflow("least_busy", "[openai/a, openai/b]")
        let routing = RoutingState()
        let hanging = Task { try await run(w, p, routing: routing) }
        for _ in 0..<500 where routing.inFlight("openai/a") == 0 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(routing.inFlight("openai/a") == 1)
        #expect(try await run(w, p, routing: routing).output == "B")
        hanging.cancel()
        _ = try? await hanging.value
        #expect(routing.inFlight("openai/a") == 0 && routing.inFlight("openai/b") == 0)
    }

    @Test func circuitBreakerOpensAndHalfOpensAfterTheCooldown() async throws {
        let failing = ProviderError(provider: "openai", kind: .server, status: 500, message: "down")
        let p = ScriptedProvider(["openai/a": [.error(failing)], "openai/b": [.text("B")]])
        let routing = RoutingState()
        let clock = ManualClock()
        let w = Self.workflow("fallback", "[openai/a, openai/b]").replacingOccurrences(
            of: "    policy: fallback", with: "    policy: fallback\n    circuit_breaker: {failures: 2, cooldown: 30s}")
        for _ in 0..<2 { #expect(try await run(w, p, routing: routing, clock: clock).output == "B") }
        #expect(routing.isOpen("openai/a"))
        let before = p.requests.count
        #expect(try await run(w, p, routing: routing, clock: clock).output == "B")
        #expect(p.requests.count == before + 1)  // a was not tried: the breaker is open
        clock.advance(.seconds(31))
        _ = try await run(w, p, routing: routing, clock: clock)
        #expect(p.requests.suffix(2).map(\.model) == ["openai/a", "openai/b"])  // half-open: one probe
    }

    /// Half-open means one probe: while it is out, other calls skip the model.
    @Test func aHalfOpenBreakerLetsOneProbeThrough() async throws {
        let failing = ProviderError(provider: "openai", kind: .server, status: 500, message: "down")
        let p = ScriptedProvider(["openai/a": [.error(failing), .error(failing), .hang], "openai/b": [.text("B")]])
        let routing = RoutingState()
        let clock = ManualClock()
        let w = Self.workflow("fallback", "[openai/a, openai/b]").replacingOccurrences(
            of: "    policy: fallback", with: "    policy: fallback\n    circuit_breaker: {failures: 2, cooldown: 30s}")
        for _ in 0..<2 { #expect(try await run(w, p, routing: routing, clock: clock).output == "B") }
        clock.advance(.seconds(31))
        let probe = Task { try await run(w, p, routing: routing, clock: clock) }
        while p.requests.filter({ $0.model == "openai/a" }).count < 3 { await Task.yield() }
        let second = try await run(w, p, routing: routing, clock: clock)
        #expect(second.output == "B")
        #expect(p.requests.filter { $0.model == "openai/a" }.count == 3)  // the second call did not probe too
        probe.cancel()
        _ = try? await probe.value
    }

    @Test func useRunsAnImportedWorkflowAndCountsItsUsage() async throws {
        let dir = "/tmp/prellm-use-\(UInt32.random(in: 0..<UInt32.max))"
        try FileManagerShim.write(
            dir + "/lib.yaml",
            """
            prellm: 1
            inputs:
              text: string
            steps:
              - id: short
                call: {model: openai/mini, prompt: "Summarise: {{ inputs.text }}"}
            output: "{{ short }}"
            """)
        let main = """
            prellm: 1
            inputs:
              q: string
            imports:
              summarise: lib.yaml
            steps:
              - id: s
                use: {workflow: summarise, with: {text: "{{ inputs.q }}"}}
            output: "{{ s | upper }}"
            """
        let p = ScriptedProvider(["openai/mini": [.text("short", usage: Usage(inputTokens: 7, outputTokens: 3))]])
        var ctx = RunContext(models: ScriptedModels(provider: p), clock: ManualClock())
        ctx.cache = nil
        let r = try await interpreter(main, file: dir + "/main.yaml").run(inputs: ["q": "long text"], context: ctx)
        #expect(r.output == "SHORT")
        #expect(r.usage.totalTokens == 10)
        #expect(r.steps.map(\.id) == ["s.short", "s"])
    }
}

import Foundation
enum FileManagerShim {
    static func write(_ path: String, _ text: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }
}

@Suite struct SQLiteCacheTests {
    @Test func answersPersistAndExpire() async throws {
        let path = "/tmp/prellm-cache-\(UInt32.random(in: 0..<UInt32.max)).sqlite"
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        final class Wall: @unchecked Sendable { var t = 1_000_000.0 }
        let wall = Wall()
        let w = """
            prellm: 1
            inputs:
              q: string
            steps:
              - id: a
                call: {model: openai/m, prompt: "{{ inputs.q }}"}
                cache: {ttl: 60s}
            """
        let p = ScriptedProvider(["openai/m": [.text("stored")]])
        func run() async throws -> RunResult {
            var ctx = RunContext(models: ScriptedModels(provider: p), clock: ManualClock())
            // A new cache object each time, as a new process would have: only the file is shared.
            ctx.cache = try ResponseCache(file: path, wallClock: { wall.t })
            return try await interpreter(w).run(inputs: ["q": "x"], context: ctx)
        }
        #expect(try await run().output == "stored")
        #expect(try await run().steps.first?.status == .cached)
        #expect(p.requests.count == 1)
        wall.t += 61
        #expect(try await run().steps.first?.status == .ok)
        #expect(p.requests.count == 2)
    }

    @Test func anUnusableFileIsAClearError() {
        #expect(throws: SQLiteAnswerStore.StoreError.self) { try ResponseCache(file: "/nonexistent-dir/x.sqlite") }
    }
}
