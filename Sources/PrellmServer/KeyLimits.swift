import Foundation
import PrellmCompiler
import Synchronization

/// KeyLimits enforces each key's rate limits and budgets, and holds under concurrency — across
/// replicas too: a request's worst cost is held in the store before the upstream call (one
/// atomic step: spend + holds + this cost within each budget) and settled with the real cost
/// after it, so 100 parallel requests on any number of gateways cannot together spend more
/// than a key may. No spend is cached here: each admission reads the store's.
///
/// Requests and tokens per minute are counted in the store, per UTC minute, by one atomic step
/// that admits a request only if both fit: exact at any number of replicas. A request counts
/// its worst-case tokens and gives back what it did not use when it settles.
final class KeyLimits: Sendable {
    struct Reservation: Sendable {
        var key: String
        var requestID: String
        var usd: Double
        var tokens: Int
        var day: String
        var month: String
        /// The key has a USD budget, so the request is held to `usd`.
        var holdsUSD: Bool
        /// The store's hold, for a key with a budget.
        var hold: BudgetHold?
        /// The minute the request was counted in, for a key with a tokens-per-minute limit (its
        /// unused tokens are given back there).
        var tokenWindow: String?
        /// Unique to this request's settlement (the ledger records it once).
        var settlement = UniqueID.next()
    }

    let store: any GatewayStore
    /// Writes waiting for the store, and how many of them a retry is writing now.
    private let unsettled = Mutex<(pending: [Unsettled], retrying: Bool, writing: Int)>(([], false, 0))
    /// When expired holds were last released (seconds since 1970).
    private let lastSweep = Mutex<Double>(0)
    /// How long a hold lasts if its request never settles (a replica that died): the longest a
    /// request may take, and a margin.
    let holdLifetime: Duration

    /// What the gateway logs about the store: a settlement it could not write yet (the request
    /// itself has been answered by then), one written later, a lapsed hold released.
    enum StoreEvent: Sendable {
        case error(String)
        case recovered(String)
    }

    let onStoreEvent: @Sendable (StoreEvent) -> Void

    init(store: any GatewayStore, holdLifetime: Duration = .seconds(660), onStoreEvent: @escaping @Sendable (StoreEvent) -> Void = { _ in }) {
        self.store = store
        self.holdLifetime = holdLifetime
        self.onStoreEvent = onStoreEvent
    }

    /// Admits a request of `estimateUSD` (nil when the price is unknown) and `estimateTokens`,
    /// or says which limit it would break.
    func admit(_ key: GatewayKey, estimateUSD: Double?, estimateTokens: Int, requestID: String) async throws(GatewayError) -> Reservation {
        let id = key.id
        let budgeted = key.hasBudget
        // One instant for the day, the minute and the hold's expiry, so that they agree.
        let now = Date()
        let (day, month) = UsagePeriod.of(now)
        if budgeted && estimateUSD == nil {
            throw GatewayError(.forbidden, "key '\(id)' has a USD budget, and the model's price is unknown", code: "budget_exceeded")
        }
        let usd = estimateUSD ?? 0
        let limited = key.rpm != nil || key.tpm != nil
        var reservation = Reservation(
            key: id, requestID: requestID, usd: usd, tokens: estimateTokens, day: day, month: month, holdsUSD: budgeted, hold: nil)
        guard limited || budgeted else { return reservation }
        await sweep()
        let rate =
            limited ? RateAsk(key: id, window: RateWindow.of(now), rpm: key.rpm, tpm: key.tpm, tokens: key.tpm == nil ? 0 : estimateTokens) : nil
        let budget =
            budgeted
            ? BudgetAsk(
                key: id, id: requestID + "-" + UniqueID.next(), usd: usd, day: day, month: month, dayLimit: key.usdPerDay,
                monthLimit: key.usdPerMonth,
                expires: now.addingTimeInterval(holdLifetime.seconds))
            : nil
        let admission: Admission
        do { admission = try await store.admit(rate: rate, budget: budget) } catch {
            // The admission may have landed with only its answer lost: its hold is released
            // when the store is back, rather than counting against the budget until it lapses
            // (its count in the minute stays: a refused request may count against the rate).
            if let budget { keepUnsettled(.release(BudgetHold(id: budget.id, key: id, usd: usd))) }
            throw Self.unreachable(error)
        }
        switch admission {
        case .admitted(let hold):
            reservation.hold = hold
            if key.tpm != nil { reservation.tokenWindow = rate?.window }
            return reservation
        case .overRate(let requests, _):
            let retry = Duration.seconds(RateWindow.secondsLeft(now))
            if let rpm = key.rpm, requests >= rpm { throw Self.overRPM(id, rpm, retry) }
            throw GatewayError(
                .rateLimited,
                "key '\(id)' is over its rate limit of \(key.tpm ?? 0) tokens per minute (this request may use about \(estimateTokens))",
                code: "rate_limit_exceeded", retryAfter: retry)
        case .overBudget(let daySpent, let monthSpent, let held):
            throw Self.overBudget(key, usd: usd, daySpent: daySpent, monthSpent: monthSpent, held: held)
        }
    }

    /// The store did not answer: the request is refused before anything is sent upstream.
    static func unreachable(_ error: StoreError) -> GatewayError {
        GatewayError(.unavailable, "the gateway's store cannot be reached (\(error.message)); try again shortly")
    }

    static func overBudget(_ key: GatewayKey, usd: Double, daySpent: Double, monthSpent: Double, held: Double) -> GatewayError {
        let id = key.id
        if let limit = key.usdPerDay, daySpent + held + usd > limit {
            return GatewayError(
                .forbidden,
                "key '\(id)' would exceed its daily budget of $\(limit): $\(money(daySpent)) spent, $\(money(held)) reserved by requests in flight, this request could cost $\(money(usd))",
                code: "budget_exceeded")
        }
        return GatewayError(
            .forbidden,
            "key '\(id)' would exceed its monthly budget of $\(key.usdPerMonth ?? 0): $\(money(monthSpent)) spent, $\(money(held)) reserved, this request could cost $\(money(usd))",
            code: "budget_exceeded")
    }

    static func overRPM(_ id: String, _ rpm: Int, _ retry: Duration) -> GatewayError {
        GatewayError(
            .rateLimited, "key '\(id)' is over its rate limit of \(rpm) requests per minute", code: "rate_limit_exceeded", retryAfter: retry)
    }

    /// Replaces a reservation with what the request really spent (the estimate, where a call's
    /// cost was unknown), in the store.
    func settle(_ r: Reservation, _ spent: SpendTally.Spent, model: String) async {
        let usd = spent.usd ?? r.usd
        var record = SpendRecord(
            key: r.key, requestID: r.requestID, model: model, day: r.day, month: r.month, usd: usd, tokens: spent.tokens,
            settlement: r.settlement)
        record.cached = spent.cached
        // The tokens counted in the minute but not used go back there, with the settlement.
        if let window = r.tokenWindow {
            record.rateWindow = window
            record.unusedTokens = r.tokens - spent.tokens
        }
        do { try await store.settle(r.hold, record) } catch {
            onStoreEvent(
                .error(
                    "the usage of key '\(r.key)' (request \(r.requestID), $\(Self.money(usd))) could not be recorded yet, and is kept to retry: \(error.message)"
                ))
            keepUnsettled(.settle(r.hold, record))
        }
    }

    /// A write the store did not take, kept in memory and retried every second until it does:
    /// a settlement (idempotent, so one that did land is not counted twice; its hold stays in
    /// the store meanwhile, so the budget still counts the request until it lapses), or the
    /// release of a hold whose taking may or may not have landed.
    enum Unsettled: Sendable {
        case settle(BudgetHold?, SpendRecord)
        case release(BudgetHold)

        func write(to store: any GatewayStore) async throws(StoreError) {
            switch self {
            case .settle(let hold, let record): try await store.settle(hold, record)
            case .release(let hold): try await store.release(hold)
            }
        }

        var written: String? {
            switch self {
            case .settle(_, let r): "recorded the usage of key '\(r.key)' (request \(r.requestID)) after the store came back"
            case .release: nil
            }
        }
    }

    /// The most writes kept for the store (about 30 MB): past it a settlement is logged as lost
    /// rather than let an outage of the database exhaust the gateway's memory.
    static let unsettledLimit = 100_000

    private func keepUnsettled(_ u: Unsettled) {
        let (kept, start) = unsettled.withLock { s in
            guard s.pending.count < Self.unsettledLimit else { return (false, false) }
            s.pending.append(u)
            defer { s.retrying = true }
            return (true, !s.retrying)
        }
        if !kept, case .settle(_, let r) = u {
            onStoreEvent(
                .error(
                    "the usage of key '\(r.key)' (request \(r.requestID), $\(Self.money(r.usd))) is lost: \(Self.unsettledLimit) settlements already wait for the store"
                ))
        }
        guard start else { return }
        Task { await retryUnsettled() }
    }

    /// Settlements waiting for the store (for tests and the log).
    var unsettledCount: Int { unsettled.withLock { $0.pending.count + $0.writing } }

    private func retryUnsettled() async {
        while true {
            try? await Task.sleep(for: .seconds(1))
            let batch = unsettled.withLock { s in
                defer {
                    s.writing = s.pending.count
                    s.pending = []
                }
                return s.pending
            }
            var left: [Unsettled] = []
            for (i, u) in batch.enumerated() {
                do { try await u.write(to: store) } catch {
                    left = Array(batch[i...])
                    break
                }
                if let message = u.written { onStoreEvent(.recovered(message)) }
            }
            let done = unsettled.withLock { s in
                s.pending = left + s.pending
                s.writing = 0
                if s.pending.isEmpty { s.retrying = false }
                return s.pending.isEmpty
            }
            if done { return }
        }
    }

    /// Releases holds whose requests never settled (at most every 5 seconds), and logs them.
    func sweep() async {
        let now = Date().timeIntervalSince1970
        let due = lastSweep.withLock { last in
            guard now - last >= 5 else { return false }
            last = now
            return true
        }
        guard due, let released = try? await store.releaseExpired(now: Date()) else { return }
        for h in released {
            onStoreEvent(.error("released the lapsed hold \(h.id) of key '\(h.key)' ($\(Self.money(h.usd))): its request never settled"))
        }
    }

    static func money(_ d: Double) -> String { "\((d * 1_000_000).rounded() / 1_000_000)" }
}
