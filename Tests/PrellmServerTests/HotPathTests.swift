import Foundation
import PrellmRuntime
import PrellmSchema
import Synchronization
import Testing

@testable import PrellmServer

/// What the hot path's shortcuts must not change: admissions batched into one SQLite
/// transaction are as exact as one by one, a bad write in a batch fails only itself, the shared
/// deadline thread times requests out as the timer tasks did, metrics labels are still escaped,
/// and the request log line is the JSON it was.
@Suite struct HotPathTests {
    static func sqlite() throws -> SQLiteGatewayStore {
        try SQLiteGatewayStore(path: FileManager.default.temporaryDirectory.appendingPathComponent("prellm-hot-\(UUID().uuidString).sqlite").path)
    }

    static func ask(_ id: String, usd: Double, limit: Double) -> BudgetAsk {
        let (day, month) = UsagePeriod.of(Date())
        return BudgetAsk(
            key: "k", id: id, usd: usd, day: day, month: month, dayLimit: limit, monthLimit: nil, expires: Date().addingTimeInterval(600))
    }

    /// 300 requests at once against a budget that fits 100: exactly 100 are admitted (however
    /// the store's thread groups them), each counted in the minute; settled, the day's spend
    /// is exactly theirs.
    @Test func batchedAdmissionsAreExact() async throws {
        let store = try Self.sqlite()
        let window = RateWindow.of(Date())
        let holds = await withTaskGroup(of: BudgetHold?.self) { group in
            for i in 0..<300 {
                group.addTask {
                    let rate = RateAsk(key: "k", window: window, rpm: 1000, tpm: nil, tokens: 0)
                    guard case .admitted(let hold) = try? await store.admit(rate: rate, budget: Self.ask("h\(i)", usd: 0.01, limit: 1.0)) else {
                        return nil
                    }
                    return hold
                }
            }
            var kept: [BudgetHold] = []
            for await h in group { if let h { kept.append(h) } }
            return kept
        }
        #expect(holds.count == 100)
        let (day, month) = UsagePeriod.of(Date())
        await withTaskGroup(of: Void.self) { group in
            for (i, h) in holds.enumerated() {
                group.addTask {
                    let record = SpendRecord(
                        key: "k", requestID: "r\(i)", model: "m", day: day, month: month, usd: 0.005, tokens: 1, settlement: "s\(i)")
                    try? await store.settle(h, record)
                }
            }
        }
        let spent = try await store.spent(key: "k", day: day, month: month)
        #expect(abs(spent.day - 0.5) < 1e-9)
        // Budget-refused requests are not counted against the rate.
        let over = try await store.admit(rate: RateAsk(key: "k", window: window, rpm: 100, tpm: nil, tokens: 0), budget: nil)
        guard case .overRate(let requests, _) = over else {
            Issue.record("expected the minute to hold 100 requests, got \(over)")
            return
        }
        #expect(requests == 100)
    }

    /// Two requests that share a hold id (the second insert breaks the primary key) in a batch
    /// of many: only the second fails; the others are admitted.
    @Test func aBadWriteInABatchFailsOnlyItself() async throws {
        let store = try Self.sqlite()
        let results = await withTaskGroup(of: (String, Bool).self) { group in
            for i in 0..<40 {
                let id = i < 2 ? "same" : "h\(i)"
                group.addTask {
                    guard case .admitted = try? await store.admit(rate: nil, budget: Self.ask(id, usd: 0.01, limit: 100)) else { return (id, false) }
                    return (id, true)
                }
            }
            var all: [(String, Bool)] = []
            for await r in group { all.append(r) }
            return all
        }
        #expect(results.filter { $0.0 == "same" && $0.1 }.count == 1)
        #expect(results.filter { $0.0 != "same" && !$0.1 }.isEmpty)
    }

    /// The write-ahead log is checkpointed and restarted as the store writes: a gateway that
    /// settles requests all day keeps a log of a few megabytes, not one that grows with the day
    /// (and, mapped into memory, the process with it).
    @Test func theWriteAheadLogStaysBounded() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("prellm-wal-\(UUID().uuidString).sqlite").path
        let store = try SQLiteGatewayStore(path: path)
        let (day, month) = UsagePeriod.of(Date())
        // One at a time, so that each is a transaction of its own (the most log frames).
        for n in 0..<3000 {
            let record = SpendRecord(
                key: "k\(n % 7)", requestID: "r\(n)", model: "m", day: day, month: month, usd: 0.001, tokens: 1, settlement: "s\(n)")
            try await store.settle(nil, record)
        }
        let wal = try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int ?? 0
        #expect(wal < 16 << 20, "the WAL holds \(wal) bytes after 3,000 settlements")
        #expect(try await store.usage(since: day, key: nil).map(\.requests).reduce(0, +) == 3000)
    }

    @Test func theRequestTimeoutStillFires() async throws {
        let started = ContinuousClock.now
        // Far apart, so that a suite that keeps every thread busy for a while (it did, for 22 s
        // once) cannot make a deadline that fired look like one that did not.
        await #expect(throws: GatewayError.self) {
            _ = try await Gateway.bounded(.milliseconds(100)) { try await Task.sleep(for: .seconds(300)) }
        }
        #expect(ContinuousClock.now - started < .seconds(60))
        #expect(try await Gateway.bounded(.seconds(30)) { 42 } == 42)
        // Many at once, each with its own deadline: the short ones fire, the long ones answer.
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for i in 0..<50 {
                group.addTask {
                    let short = i % 2 == 0
                    let r = try? await Gateway.bounded(short ? .milliseconds(50) : .seconds(30)) {
                        try await Task.sleep(for: short ? .seconds(30) : .milliseconds(20))
                        return i
                    }
                    return short ? r == nil : r == i
                }
            }
            var all: [Bool] = []
            for await ok in group { all.append(ok) }
            return all
        }
        #expect(outcomes.allSatisfy { $0 })
    }

    /// A request cancelled from outside (its client went away) cancels its operation too.
    @Test func cancellingTheRequestCancelsTheOperation() async throws {
        final class Flag: Sendable { let value = Atomic<Bool>(false) }
        let cancelled = Flag()
        let task = Task {
            try await Gateway.bounded(.seconds(30)) {
                do { try await Task.sleep(for: .seconds(30)) } catch {
                    cancelled.value.store(true, ordering: .relaxed)
                    throw error
                }
            }
        }
        try await Task.sleep(for: .milliseconds(50))
        task.cancel()
        _ = await task.result
        let wasCancelled = cancelled.value.load(ordering: .relaxed)
        #expect(wasCancelled)
    }

    @Test func metricsLabelsAreEscapedWhenRendered() {
        let metrics = GatewayMetrics(breakerModels: [], routing: RoutingState())
        metrics.request(model: "odd\"model\\x\ny", key: "k", status: 200, seconds: 0.01, tokens: 3, cost: nil, error: nil)
        let text = metrics.render()
        #expect(text.contains(#"prellm_requests_total{model="odd\"model\\x\ny",key="k",status="200"} 1"#))
        #expect(text.contains(#"prellm_tokens_total{model="odd\"model\\x\ny",key="k"} 3"#))
    }

    @Test func theRequestLogLineIsSortedJSON() throws {
        var entry = RequestLog(requestID: "r-1", path: "/v1/chat/completions")
        entry.keyChecked = true
        entry.model = "fast"
        entry.served(model: "openai/gpt-4o-mini", tokens: 20, cost: nil)
        entry.status = 200
        let line = entry.jsonLine(latencyMS: 1.6)
        #expect(
            line
                == #"{"cost_usd":null,"key_id":null,"latency_ms":2,"model":"fast","model_used":"openai/gpt-4o-mini","path":"/v1/chat/completions","request_id":"r-1","status":200,"tokens":20}"#
        )
        var failed = RequestLog(requestID: "quote\"d", path: "/v1/messages")
        failed.failed("bad \"thing\"\n", kind: "invalid_request_error")
        failed.stream = true
        failed.status = 400
        let parsed = try JSONParser.parse(bytes: Array(failed.jsonLine(latencyMS: 0).utf8))
        #expect(parsed["request_id"] == .string("quote\"d"))
        #expect(parsed["error"] == .string("bad \"thing\"\n"))
        #expect(parsed["key_id"] == nil)
        #expect(parsed["stream"] == .bool(true))
    }
}

/// The integer calendar gives what Foundation's UTC calendar gives, for any date in four
/// centuries either side, and the stores' day, month and minute strings are unchanged.
@Suite struct UTCTimeTests {
    @Test func utcFieldsMatchFoundation() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        var g = SystemRandomNumberGenerator()
        let edges: [Double] = [0, -1, 86_399, 86_400, 951_782_400, 951_868_800, 4_107_542_400, -2_208_988_800, 1_798_761_599]
        for t in edges + (0..<20_000).map({ _ in Double(Int64.random(in: -12_000_000_000...20_000_000_000, using: &g)) }) {
            let date = Date(timeIntervalSince1970: t + 0.25)
            let c = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: date)
            let u = UTCTime(date)
            let expected = [c.year!, c.month!, c.day!, c.hour!, c.minute!]
            if [u.year, u.month, u.day, u.hour, u.minute] != expected { Issue.record("at \(t): \(u), expected \(expected)") }
        }
        let date = Date(timeIntervalSince1970: 1_764_547_200 + 3_723)  // 2025-12-01T01:02:03Z
        let period = UsagePeriod.of(date)
        #expect(period.day == "2025-12-01" && period.month == "2025-12")
        #expect(RateWindow.of(date) == "2025-12-01T01:02")
    }

    @Test func idsAreUnique() {
        let ids = (0..<10_000).map { _ in UniqueID.next() }
        #expect(Set(ids).count == ids.count)
    }
}
