import Foundation
import PrellmCompiler
import Synchronization

/// KeyLimits enforces each key's rate limits and budgets, and holds under concurrency: a
/// request's estimated cost is reserved before the upstream call and settled with the real
/// cost after it, so 100 parallel requests cannot together spend more than a key may.
///
/// Rate limits are token buckets (requests per minute, tokens per minute), refilled
/// continuously. Budgets are per UTC day and month: the store's ledger (read once per key and
/// day, then kept in memory as requests settle; this process is the store's only writer until a
/// shared store comes) plus what is reserved right now.
final class KeyLimits: Sendable {
    struct Bucket {
        var level: Double
        var updated: ContinuousClock.Instant
    }

    struct Reservation: Sendable {
        var key: String
        var usd: Double
        var tokens: Int
        var day: String
        var month: String
        /// The key has a USD budget, so the request is held to `usd`.
        var holdsUSD: Bool
    }

    /// A key's settled spend in the current day and month. Admission reads this, not the store:
    /// settling moves a request's cost from `reserved` to here under one lock, so no admission
    /// can see the cost in neither place.
    struct Spent {
        var day: String
        var month: String
        var dayUSD: Double
        var monthUSD: Double
    }

    struct State {
        var requests: [String: Bucket] = [:]
        var tokens: [String: Bucket] = [:]
        var reserved: [String: Double] = [:]
        var spent: [String: Spent] = [:]
    }

    let store: any GatewayStore
    private let state = Mutex(State())

    /// Told when the ledger cannot be written, so that the gateway logs it (the request itself
    /// has been answered by then).
    let onStoreFailure: @Sendable (String) -> Void

    init(store: any GatewayStore, onStoreFailure: @escaping @Sendable (String) -> Void = { _ in }) {
        self.store = store
        self.onStoreFailure = onStoreFailure
    }

    /// Admits a request of `estimateUSD` (nil when the price is unknown) and `estimateTokens`,
    /// or says which limit it would break.
    func admit(_ key: ConfigFile.Key, estimateUSD: Double?, estimateTokens: Int, now: ContinuousClock.Instant) throws(GatewayError) -> Reservation {
        let id = key.id.value
        let (day, month) = UsagePeriod.of(Date())
        if (key.usdPerDay != nil || key.usdPerMonth != nil) && estimateUSD == nil {
            throw GatewayError(.forbidden, "key '\(id)' has a USD budget, and the model's price is unknown", code: "budget_exceeded")
        }
        // All limits are checked before any is charged: a request refused by its budget does not
        // use up the key's requests or tokens for the minute.
        let store = self.store
        let result: Result<Reservation, GatewayError> = state.withLock { s in
            // The store is read once per key and day (a short SQLite read, under the lock so that
            // no settlement can slip between the read and its use).
            if s.spent[id].map({ $0.day != day || $0.month != month }) ?? true,
                key.usdPerDay != nil || key.usdPerMonth != nil
            {
                do {
                    let stored = try store.spent(key: id, day: day, month: month)
                    s.spent[id] = Spent(day: day, month: month, dayUSD: stored.day, monthUSD: stored.month)
                } catch {
                    return .failure(GatewayError(.unavailable, "the usage store cannot be read: \(error)"))
                }
            }
            let spent = (day: s.spent[id]?.dayUSD ?? 0, month: s.spent[id]?.monthUSD ?? 0)
            var requests: Bucket?
            if let rpm = key.rpm {
                var b = Self.refill(s.requests[id], capacity: Double(rpm), perMinute: Double(rpm), now: now)
                guard b.level >= 1 else {
                    return .failure(
                        GatewayError(
                            .rateLimited, "key '\(id)' is over its rate limit of \(rpm) requests per minute",
                            code: "rate_limit_exceeded", retryAfter: .seconds(max(1, Int((1 - b.level) * 60 / Double(rpm)) + 1))))
                }
                b.level -= 1
                requests = b
            }
            var tokens: Bucket?
            if let tpm = key.tpm {
                var b = Self.refill(s.tokens[id], capacity: Double(tpm), perMinute: Double(tpm), now: now)
                // A request larger than a whole minute's allowance waits for a full bucket, not forever.
                let need = Double(min(estimateTokens, tpm))
                guard b.level >= need else {
                    return .failure(
                        GatewayError(
                            .rateLimited,
                            "key '\(id)' is over its rate limit of \(tpm) tokens per minute (this request may use about \(estimateTokens))",
                            code: "rate_limit_exceeded", retryAfter: .seconds(max(1, Int((need - b.level) * 60 / Double(tpm)) + 1))))
                }
                b.level -= Double(estimateTokens)
                tokens = b
            }
            let usd = estimateUSD ?? 0
            let reserved = s.reserved[id] ?? 0
            if let limit = key.usdPerDay, spent.day + reserved + usd > limit {
                return .failure(
                    GatewayError(
                        .forbidden,
                        "key '\(id)' would exceed its daily budget of $\(limit): $\(Self.money(spent.day)) spent, $\(Self.money(reserved)) reserved by requests in flight, this request could cost $\(Self.money(usd))",
                        code: "budget_exceeded"))
            }
            if let limit = key.usdPerMonth, spent.month + reserved + usd > limit {
                return .failure(
                    GatewayError(
                        .forbidden,
                        "key '\(id)' would exceed its monthly budget of $\(limit): $\(Self.money(spent.month)) spent, $\(Self.money(reserved)) reserved, this request could cost $\(Self.money(usd))",
                        code: "budget_exceeded"))
            }
            if let requests { s.requests[id] = requests }
            if let tokens { s.tokens[id] = tokens }
            s.reserved[id] = reserved + usd
            return .success(
                Reservation(
                    key: id, usd: usd, tokens: estimateTokens, day: day, month: month,
                    holdsUSD: key.usdPerDay != nil || key.usdPerMonth != nil))
        }
        return try result.get()
    }

    /// Replaces a reservation with what the request really spent (the estimate, where a call's
    /// cost was unknown).
    func settle(_ r: Reservation, _ spent: SpendTally.Spent) {
        let usd = spent.usd ?? r.usd
        state.withLock { s in
            s.reserved[r.key] = max(0, (s.reserved[r.key] ?? 0) - r.usd)
            if var known = s.spent[r.key] {
                if known.day == r.day { known.dayUSD += usd }
                if known.month == r.month { known.monthUSD += usd }
                s.spent[r.key] = known
            }
            if var b = s.tokens[r.key] { b.level += Double(r.tokens - spent.tokens); s.tokens[r.key] = b }
        }
        do {
            try store.record(key: r.key, day: r.day, month: r.month, usd: usd, tokens: spent.tokens)
        } catch {
            onStoreFailure("the usage of key '\(r.key)' could not be recorded: \(error)")
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
