import Foundation
import PrellmRuntime
import Synchronization
import Testing

@testable import PrellmServer

/// The PostgreSQL store's group commit: writes that arrive while calls are in flight share one
/// call, each is answered with its own outcome, a bad one fails only itself, and batched
/// admissions hold keys to their budgets exactly across replicas (on the real server).
@Suite(.serialized) struct PostgresBatchTests {
    static func ask(_ key: String, _ id: String, usd: Double, limit: Double) -> BudgetAsk {
        let (day, month) = UsagePeriod.of(Date())
        return BudgetAsk(
            key: key, id: id, usd: usd, day: day, month: month, dayLimit: limit, monthLimit: nil, expires: Date().addingTimeInterval(600))
    }

    static func record(_ key: String, _ n: Int, usd: Double) -> SpendRecord {
        let (day, month) = UsagePeriod.of(Date())
        return SpendRecord(key: key, requestID: "r\(n)", model: "m", day: day, month: month, usd: usd, tokens: 1, settlement: "\(key)-s\(n)")
    }

    /// Without the database: a write alone is sent at once and alone; writes that arrive
    /// while both slots are busy are sent together; every one gets its own answer; no more
    /// than two calls are ever in flight.
    @Test func writesWaitingTogetherShareACall() async throws {
        let seen = Mutex<(sizes: [Int], inFlight: Int, most: Int)>(([], 0, 0))
        let batcher = PostgresWriteBatcher { writes in
            seen.withLock { s in
                s.sizes.append(writes.count)
                s.inFlight += 1
                s.most = max(s.most, s.inFlight)
            }
            try? await Task.sleep(for: .milliseconds(20))
            seen.withLock { $0.inFlight -= 1 }
            // Each admission is answered with its own hold id, so a mix-up shows.
            return writes.map { w in
                guard case .admit(_, let budget?) = w else { return .success(.settled) }
                return .success(.admission(.admitted(BudgetHold(id: budget.id, key: budget.key, usd: budget.usd))))
            }
        }
        #expect(
            try await batcher.submit(.admit(nil, Self.ask("k", "one", usd: 1, limit: 9))).get()
                == .admission(.admitted(BudgetHold(id: "one", key: "k", usd: 1))))
        #expect(seen.withLock { $0.sizes } == [1])
        let answers = await withTaskGroup(of: Bool.self) { group in
            for i in 0..<200 {
                group.addTask {
                    let answer = await batcher.submit(.admit(nil, Self.ask("k", "h\(i)", usd: 1, limit: 9)))
                    return (try? answer.get()) == .admission(.admitted(BudgetHold(id: "h\(i)", key: "k", usd: 1)))
                }
            }
            var right = 0
            for await ok in group where ok { right += 1 }
            return right
        }
        #expect(answers == 200)
        let (sizes, _, most) = seen.withLock { $0 }
        #expect(sizes.reduce(0, +) == 201)
        #expect(sizes.count < 100, "200 writes arriving together took \(sizes.count) calls")
        #expect(most <= 2)
        #expect(batcher.sent.calls == sizes.count && batcher.sent.writes == 201)
    }

    /// One call of `prellm_batch` with admissions and settlements: each is answered in its
    /// place, settlements are written first (so that an admission sees the spend rather than
    /// the larger hold), and they are recorded. A batch with a write that breaks a constraint
    /// is written again one write at a time: the bad one fails with PostgreSQL's error, alone.
    @Test func aBatchAnswersEachWriteInItsPlace() async throws {
        guard let pg = try await PostgresServer.available() else { return print(PostgresServer.missing) }
        let store = try await PostgresGatewayStore.connect(try pg.database())
        let first = try await store.admit(rate: nil, budget: Self.ask("k", "h0", usd: 0.4, limit: 1))
        guard case .admitted(let h0?) = first else {
            Issue.record("the first hold: \(first)")
            return
        }
        let window = RateWindow.of(Date())
        let answers = await PostgresGatewayStore.write(
            [
                .admit(nil, Self.ask("k", "h1", usd: 0.3, limit: 1)),
                .admit(nil, Self.ask("k", "h2", usd: 0.4, limit: 1)),  // fits once h0's 0.4 is settled at 0.25
                .settle(h0, Self.record("k", 0, usd: 0.25)),
                .admit(nil, Self.ask("k", "h3", usd: 0.1, limit: 1)),  // over: 0.25 + 0.3 + 0.4 + 0.1 > 1
                .admit(RateAsk(key: "other", window: window, rpm: 1, tpm: nil, tokens: 0), nil),
                .admit(RateAsk(key: "other", window: window, rpm: 1, tpm: nil, tokens: 0), nil),
                .settle(nil, Self.record("other", 1, usd: 0.125)),
            ], store.client)
        #expect(answers.count == 7)
        #expect((try? answers[0].get()) == .admission(.admitted(BudgetHold(id: "h1", key: "k", usd: 0.3))))
        #expect((try? answers[1].get()) == .admission(.admitted(BudgetHold(id: "h2", key: "k", usd: 0.4))))
        #expect((try? answers[2].get()) == .settled)
        #expect((try? answers[3].get()) == .admission(.overBudget(daySpent: 0.25, monthSpent: 0.25, held: 0.7)))
        #expect((try? answers[4].get()) == .admission(.admitted(nil)))
        #expect((try? answers[5].get()) == .admission(.overRate(requests: 1, tokens: 0)))
        #expect((try? answers[6].get()) == .settled)
        let (day, month) = UsagePeriod.of(Date())
        #expect(try await store.spent(key: "k", day: day, month: month) == (day: 0.25, month: 0.25))
        #expect(try await store.spent(key: "other", day: day, month: month) == (day: 0.125, month: 0.125))

        let again = await PostgresGatewayStore.write(
            [
                .admit(nil, Self.ask("j", "g1", usd: 0.1, limit: 1)),
                .admit(nil, Self.ask("j", "g1", usd: 0.1, limit: 1)),  // the same hold id again
                .settle(nil, Self.record("j", 2, usd: 0.5)),
            ], store.client)
        #expect((try? again[0].get()) == .admission(.admitted(BudgetHold(id: "g1", key: "j", usd: 0.1))))
        guard case .failure(let duplicate) = again[1] else {
            Issue.record("a second hold g1 was taken: \(again[1])")
            return
        }
        #expect(duplicate.message.contains("duplicate key"), "\(duplicate.message)")
        #expect((try? again[2].get()) == .settled)
        #expect(try await store.spent(key: "j", day: day, month: month) == (day: 0.5, month: 0.5))
        #expect(Set(try await store.releaseExpired(now: .distantFuture).map(\.id)) == ["h1", "h2", "g1"])
    }

    /// Two replicas' batches that count a key in two minutes, in opposite orders, over and
    /// over: every write lands and the database counted no deadlock (every key's lock is taken
    /// first, in one order, even for admissions that hold no budget). On two cores such a
    /// deadlock is rare to provoke even without those locks, so this guards rather than
    /// proves. A failed batch is written one write at a time only when nothing of it can have
    /// landed and a write alone may succeed.
    @Test func batchesOfTwoReplicasNeverDeadlock() async throws {
        guard let pg = try await PostgresServer.available() else { return print(PostgresServer.missing) }
        let url = try pg.database()
        let a = try await PostgresGatewayStore.connect(url)
        let b = try await PostgresGatewayStore.connect(url)
        func count(_ window: String, key: String) -> PostgresWriteBatcher.Write {
            .admit(RateAsk(key: key, window: window, rpm: nil, tpm: nil, tokens: 0), nil)
        }
        let (w1, w2) = ("2026-12-01T10:00", "2026-12-01T10:01")
        let failures = await withTaskGroup(of: Int.self) { group in
            for i in 0..<200 {
                let key = "k\(i % 2)"
                let (forth, back) = ([count(w1, key: key), count(w2, key: key)], [count(w2, key: key), count(w1, key: key)])
                group.addTask {
                    let answers = await PostgresGatewayStore.write(i % 2 == 0 ? forth : back, (i % 4 < 2 ? a : b).client)
                    return answers.filter { (try? $0.get()) != .admission(.admitted(nil)) }.count
                }
            }
            return await group.reduce(0, +)
        }
        #expect(failures == 0)
        let name = String(url.split(separator: "/").last!.split(separator: "?").first!)
        let deadlocks = try await a.fetch("SELECT deadlocks FROM pg_stat_database WHERE datname = \(name)", Int.self)
        #expect(deadlocks == [0])
        #expect(PostgresGatewayStore.retriedAlone(after: "23505") && PostgresGatewayStore.retriedAlone(after: "40P01"))
        #expect(!PostgresGatewayStore.retriedAlone(after: "57014") && !PostgresGatewayStore.retriedAlone(after: "53300"))
    }

    /// Three replicas' stores, 600 requests at once over six keys whose budgets each afford
    /// 25: exactly 25 per key are admitted (batches from different replicas take the keys'
    /// locks in one order, so none deadlocks), and settled together the spend is exact.
    @Test func batchedAdmissionsAcrossReplicasAreExact() async throws {
        guard let pg = try await PostgresServer.available() else { return print(PostgresServer.missing) }
        let url = try pg.database()
        var stores: [PostgresGatewayStore] = []
        for _ in 0..<3 { stores.append(try await PostgresGatewayStore.connect(url)) }
        let replicas = stores
        let keys = (0..<6).map { "key\($0)" }
        let held = await withTaskGroup(of: BudgetHold?.self) { group in
            for i in 0..<600 {
                group.addTask {
                    let a = try? await replicas[i % 3].admit(rate: nil, budget: Self.ask(keys[i % 6], "h\(i)", usd: 0.04, limit: 1))
                    guard case .admitted(let hold?) = a else { return nil }
                    return hold
                }
            }
            var all: [BudgetHold] = []
            for await h in group { if let h { all.append(h) } }
            return all
        }
        for key in keys { #expect(held.filter { $0.key == key }.count == 25, "\(key)") }
        await withTaskGroup(of: Void.self) { group in
            for (n, hold) in held.enumerated() {
                group.addTask { try? await replicas[n % 3].settle(hold, Self.record(hold.key, n, usd: 0.03)) }
            }
        }
        let (day, month) = UsagePeriod.of(Date())
        for key in keys {
            let spent = try await stores[0].spent(key: key, day: day, month: month)
            #expect(abs(spent.day - 0.75) < 1e-9, "\(key) spent \(spent.day)")
        }
        #expect(try await stores[0].releaseExpired(now: .distantFuture).isEmpty, "nothing is left held")
        let sent = stores.map(\.batcher.sent)
        #expect(sent.map(\.writes).reduce(0, +) == 600 + 150)
        #expect(sent.map(\.calls).reduce(0, +) < 600 + 150, "no two writes shared a call: \(sent)")
    }
}
