import Foundation
import PrellmCompiler
import Synchronization
import Testing

@testable import PrellmServer

/// A settlement the store did not take is kept and retried until it lands, and a settlement
/// written twice is recorded once, on either store.
@Suite struct SettlementTests {
    static func sqlite() throws -> SQLiteGatewayStore {
        try SQLiteGatewayStore(path: FileManager.default.temporaryDirectory.appendingPathComponent("prellm-settle-\(UUID().uuidString).sqlite").path)
    }

    static func idempotent(_ store: any GatewayStore) async throws {
        let (day, month) = UsagePeriod.of(Date())
        let record = SpendRecord(key: "k", requestID: "same", model: "m", day: day, month: month, usd: 0.5, tokens: 7, settlement: "s-1")
        try await store.settle(nil, record)
        try await store.settle(nil, record)
        // Another request that reused the client's request id is its own settlement.
        var other = record
        other.settlement = "s-2"
        try await store.settle(nil, other)
        #expect(try await store.spent(key: "k", day: day, month: month).day == 1.0)
    }

    @Test func aSettlementIsRecordedOnceOnTheEmbeddedStore() async throws {
        try await Self.idempotent(try Self.sqlite())
    }

    @Test func aSettlementIsRecordedOnceOnTheSharedStore() async throws {
        guard let pg = try await PostgresServer.available() else { print(PostgresServer.missing); return }
        try await Self.idempotent(try await PostgresGatewayStore.connect(try pg.database()))
    }

    /// The store refuses the first two settlements (the database went away): the spend is kept,
    /// retried every second, and lands; the log says so both times.
    @Test func anUnsettledSpendIsRetriedUntilTheStoreTakesIt() async throws {
        let store = FlakyStore(try Self.sqlite(), failures: 2)
        let events = Mutex<[String]>([])
        let limits = KeyLimits(store: store, holdLifetime: .seconds(60)) { e in
            events.withLock {
                switch e {
                case .error(let m): $0.append("error: " + m)
                case .recovered(let m): $0.append("info: " + m)
                }
            }
        }
        let key = GatewayKey(id: "k", usdPerDay: 1)
        let r = try await limits.admit(key, estimateUSD: 0.5, estimateTokens: 10, requestID: "r1")
        await limits.settle(r, SpendTally.Spent(tokens: 10, usd: 0.25), model: "m")
        #expect(limits.unsettledCount == 1)
        let (day, month) = UsagePeriod.of(Date())
        // Retried each second; generous, since a loaded test machine may run it late.
        let end = ContinuousClock.now + .seconds(30)
        while limits.unsettledCount > 0, ContinuousClock.now < end { try await Task.sleep(for: .milliseconds(100)) }
        #expect(limits.unsettledCount == 0)
        #expect(try await store.base.spent(key: "k", day: day, month: month).day == 0.25, "the spend landed once")
        #expect(try await store.base.releaseExpired(now: .distantFuture).isEmpty, "its hold went with it")
        let log = events.withLock { $0 }
        #expect(log.first?.hasPrefix("error: the usage of key 'k' (request r1, $0.25) could not be recorded yet") == true, "\(log)")
        #expect(log.last?.hasPrefix("info: recorded the usage of key 'k' (request r1)") == true, "\(log)")
    }
}

/// A store whose first `failures` settlements fail, as when the database is away.
final class FlakyStore: GatewayStore {
    let base: any GatewayStore
    private let left: Mutex<Int>

    init(_ base: any GatewayStore, failures: Int) {
        self.base = base
        left = Mutex(failures)
    }

    func settle(_ hold: BudgetHold?, _ spend: SpendRecord) async throws(StoreError) {
        let fail = left.withLock { n in
            defer { n -= 1 }
            return n > 0
        }
        if fail { throw StoreError("PostgreSQL did not answer within 5 seconds") }
        try await base.settle(hold, spend)
    }

    func admit(rate: RateAsk?, budget: BudgetAsk?) async throws(StoreError) -> Admission { try await base.admit(rate: rate, budget: budget) }
    func releaseExpired(now: Date) async throws(StoreError) -> [BudgetHold] { try await base.releaseExpired(now: now) }
    func release(_ hold: BudgetHold) async throws(StoreError) { try await base.release(hold) }
    func usage(since day: String, key: String?) async throws(StoreError) -> [UsageRow] { try await base.usage(since: day, key: key) }
    func spent(key: String, day: String, month: String) async throws(StoreError) -> (day: Double, month: Double) {
        try await base.spent(key: key, day: day, month: month)
    }
    func isReachable() async -> Bool { await base.isReachable() }
    func keys() async throws(StoreError) -> [StoredKey] { try await base.keys() }
    func syncConfigKeys(_ keys: [ConfigKey]) async throws(StoreError) { try await base.syncConfigKeys(keys) }
    func createKey(_ key: GatewayKey, hash: String) async throws(StoreError) -> Bool { try await base.createKey(key, hash: hash) }
    func rotateKey(id: String, hash: String, overlapEnds: Date) async throws(StoreError) -> Bool {
        try await base.rotateKey(id: id, hash: hash, overlapEnds: overlapEnds)
    }
    func revoke(key: String) async throws(StoreError) -> Bool { try await base.revoke(key: key) }
    func watchKeys(_ changed: @escaping @Sendable () async -> Void) async { await base.watchKeys(changed) }
    func save(_ response: StoredResponse) async throws(StoreError) { try await base.save(response) }
    func storedResponse(id: String, keyID: String, now: Date) async throws(StoreError) -> StoredResponse? {
        try await base.storedResponse(id: id, keyID: keyID, now: now)
    }
    func deleteResponse(id: String, keyID: String) async throws(StoreError) -> Bool { try await base.deleteResponse(id: id, keyID: keyID) }
    func cachedAnswer(key: String, now: Date) async throws(StoreError) -> String? { try await base.cachedAnswer(key: key, now: now) }
    func keepAnswer(key: String, answer: String, expires: Date) async throws(StoreError) {
        try await base.keepAnswer(key: key, answer: answer, expires: expires)
    }
}
