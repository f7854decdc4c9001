import Foundation
import PrellmCompiler
import Synchronization

/// KeyLimits enforces each key's rate limits and budgets, and holds under concurrency — across
/// replicas too: a request's worst cost is held in the store before the upstream call (one
/// atomic step: spend + holds + this cost within each budget) and settled with the real cost
/// after it, so 100 parallel requests on any number of gateways cannot together spend more
/// than a key may. No spend is cached here: each admission reads the store's.
///
/// Requests per minute are counted in the store, per UTC minute, by one atomic step: exact at
/// any number of replicas. Tokens per minute are a token bucket in this process's memory: with
/// N replicas a key's token rate is up to N times its limit (docs/deploying.md).
final class KeyLimits: Sendable {
    struct Bucket {
        var level: Double
        var updated: ContinuousClock.Instant
    }

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
    }

    struct State {
        var tokens: [String: Bucket] = [:]
    }

    let store: any GatewayStore
    private let state = Mutex(State())
    /// When expired holds were last released (seconds since 1970).
    private let lastSweep = Mutex<Double>(0)
    /// How long a hold lasts if its request never settles (a replica that died): the longest a
    /// request may take, and a margin.
    let holdLifetime: Duration

    /// Told when the ledger cannot be written, or a lapsed hold is released, so that the gateway
    /// logs it (the request itself has been answered by then).
    let onStoreFailure: @Sendable (String) -> Void

    init(store: any GatewayStore, holdLifetime: Duration = .seconds(660), onStoreFailure: @escaping @Sendable (String) -> Void = { _ in }) {
        self.store = store
        self.holdLifetime = holdLifetime
        self.onStoreFailure = onStoreFailure
    }

    /// Admits a request of `estimateUSD` (nil when the price is unknown) and `estimateTokens`,
    /// or says which limit it would break.
    func admit(
        _ key: ConfigFile.Key, estimateUSD: Double?, estimateTokens: Int, requestID: String, now: ContinuousClock.Instant
    ) async throws(GatewayError) -> Reservation {
        let id = key.id.value
        let budgeted = key.usdPerDay != nil || key.usdPerMonth != nil
        let (day, month) = UsagePeriod.of(Date())
        if budgeted && estimateUSD == nil {
            throw GatewayError(.forbidden, "key '\(id)' has a USD budget, and the model's price is unknown", code: "budget_exceeded")
        }
        let usd = estimateUSD ?? 0
        if key.rpm != nil || budgeted { await sweep() }
        let window = try await takeRequest(key)
        let charge: RateCharge
        do { charge = try takeTokens(key, tokens: estimateTokens, now: now) } catch {
            await giveBack(window, key: id)
            throw error
        }
        var reservation = Reservation(
            key: id, requestID: requestID, usd: usd, tokens: estimateTokens, day: day, month: month, holdsUSD: budgeted, hold: nil)
        guard budgeted else { return reservation }
        let ask = BudgetAsk(
            key: id, id: requestID + "-" + UUID().uuidString.prefix(8), usd: usd, day: day, month: month, dayLimit: key.usdPerDay,
            monthLimit: key.usdPerMonth, expires: Date().addingTimeInterval(Double(holdLifetime.components.seconds)))
        let outcome: HoldOutcome
        do { outcome = try await store.hold(ask) } catch {
            refund(charge, key: id)
            await giveBack(window, key: id)
            throw Self.unreachable(error)
        }
        switch outcome {
        case .held(let hold):
            reservation.hold = hold
            return reservation
        case .refused(let daySpent, let monthSpent, let held):
            // A request refused by its budget does not use up the key's requests or tokens.
            refund(charge, key: id)
            await giveBack(window, key: id)
            throw Self.overBudget(key, usd: usd, daySpent: daySpent, monthSpent: monthSpent, held: held)
        }
    }

    /// The store did not answer: the request is refused before anything is sent upstream.
    static func unreachable(_ error: StoreError) -> GatewayError {
        GatewayError(.unavailable, "the gateway's store cannot be reached (\(error.message)); try again shortly")
    }

    static func overBudget(_ key: ConfigFile.Key, usd: Double, daySpent: Double, monthSpent: Double, held: Double) -> GatewayError {
        let id = key.id.value
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

    /// What a request took from the key's token bucket, to give back if it is refused after all.
    struct RateCharge {
        var tokens: Double
    }

    /// Counts the request against the key's requests per minute, in the store, so that every
    /// replica counts the same minute (exact to the request); returns the window counted in.
    func takeRequest(_ key: ConfigFile.Key) async throws(GatewayError) -> String? {
        guard let rpm = key.rpm else { return nil }
        let now = Date()
        let window = RateWindow.of(now)
        let admitted: Bool
        do { admitted = try await store.takeRequest(key: key.id.value, window: window, limit: rpm) } catch {
            throw Self.unreachable(error)
        }
        guard admitted else {
            throw GatewayError(
                .rateLimited, "key '\(key.id.value)' is over its rate limit of \(rpm) requests per minute", code: "rate_limit_exceeded",
                retryAfter: .seconds(RateWindow.secondsLeft(now)))
        }
        return window
    }

    func giveBack(_ window: String?, key: String) async {
        guard let window else { return }
        try? await store.returnRequest(key: key, window: window)
    }

    /// Checks the tokens-per-minute bucket and charges it (this process's; see the type's note).
    func takeTokens(_ key: ConfigFile.Key, tokens estimate: Int, now: ContinuousClock.Instant) throws(GatewayError) -> RateCharge {
        let id = key.id.value
        guard let tpm = key.tpm else { return RateCharge(tokens: 0) }
        let result: Result<RateCharge, GatewayError> = state.withLock { s in
            var b = Self.refill(s.tokens[id], capacity: Double(tpm), perMinute: Double(tpm), now: now)
            // A request larger than a whole minute's allowance waits for a full bucket, not forever.
            let need = Double(min(estimate, tpm))
            guard b.level >= need else {
                return .failure(
                    GatewayError(
                        .rateLimited,
                        "key '\(id)' is over its rate limit of \(tpm) tokens per minute (this request may use about \(estimate))",
                        code: "rate_limit_exceeded", retryAfter: .seconds(max(1, Int((need - b.level) * 60 / Double(tpm)) + 1))))
            }
            b.level -= Double(estimate)
            s.tokens[id] = b
            return .success(RateCharge(tokens: Double(estimate)))
        }
        return try result.get()
    }

    func refund(_ c: RateCharge, key: String) {
        state.withLock { s in
            if c.tokens > 0, var b = s.tokens[key] { b.level += c.tokens; s.tokens[key] = b }
        }
    }

    /// Replaces a reservation with what the request really spent (the estimate, where a call's
    /// cost was unknown), in the store.
    func settle(_ r: Reservation, _ spent: SpendTally.Spent, model: String) async {
        let usd = spent.usd ?? r.usd
        state.withLock { s in
            if var b = s.tokens[r.key] { b.level += Double(r.tokens - spent.tokens); s.tokens[r.key] = b }
        }
        let record = SpendRecord(key: r.key, requestID: r.requestID, model: model, day: r.day, month: r.month, usd: usd, tokens: spent.tokens)
        do { try await store.settle(r.hold, record) } catch {
            onStoreFailure("the usage of key '\(r.key)' (request \(r.requestID), $\(Self.money(usd))) could not be recorded: \(error.message)")
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
            onStoreFailure("released the lapsed hold \(h.id) of key '\(h.key)' ($\(Self.money(h.usd))): its request never settled")
        }
    }

    static func refill(_ b: Bucket?, capacity: Double, perMinute: Double, now: ContinuousClock.Instant) -> Bucket {
        guard var b else { return Bucket(level: capacity, updated: now) }
        let elapsed = Double((now - b.updated).components.seconds) + Double((now - b.updated).components.attoseconds) / 1e18
        b.level = min(capacity, b.level + elapsed * perMinute / 60)
        b.updated = now
        return b
    }

    static func money(_ d: Double) -> String { "\((d * 1_000_000).rounded() / 1_000_000)" }
}
