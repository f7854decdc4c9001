import Foundation
import PrellmCompiler
import Synchronization

/// KeyLimits enforces each key's rate limits and budgets, and holds under concurrency: a
/// request's estimated cost is reserved before the upstream call and settled with the real
/// cost after it, so 100 parallel requests cannot together spend more than a key may.
///
/// Rate limits are token buckets (requests per minute, tokens per minute), refilled
/// continuously. Budgets are per UTC day and month, from the store's ledger plus what is
/// reserved right now.
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
    }

    struct State {
        var requests: [String: Bucket] = [:]
        var tokens: [String: Bucket] = [:]
        var reserved: [String: Double] = [:]
    }

    let store: any GatewayStore
    private let state = Mutex(State())

    init(store: any GatewayStore) { self.store = store }

    static func periods(_ date: Date = Date()) -> (day: String, month: String) {
        let c = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC")!, from: date)
        let day = String(format: "%04d-%02d-%02d", c.year!, c.month!, c.day!)
        return (day, String(day.prefix(7)))
    }

    /// Admits a request of `estimateUSD` (nil when the price is unknown) and `estimateTokens`,
    /// or says which limit it would break.
    func admit(_ key: ConfigFile.Key, estimateUSD: Double?, estimateTokens: Int, now: ContinuousClock.Instant) throws(GatewayError) -> Reservation {
        let id = key.id.value
        let (day, month) = Self.periods()
        if (key.usdPerDay != nil || key.usdPerMonth != nil) && estimateUSD == nil {
            throw GatewayError(.forbidden, "key '\(id)' has a USD budget, and the model's price is unknown", code: "budget_exceeded")
        }
        let spent: (day: Double, month: Double)
        do { spent = try store.spent(key: id, day: day, month: month) } catch {
            throw GatewayError(.unavailable, "the usage store cannot be read: \(error)")
        }
        let result: Result<Reservation, GatewayError> = state.withLock { s in
            if let rpm = key.rpm {
                var b = Self.refill(s.requests[id], capacity: Double(rpm), perMinute: Double(rpm), now: now)
                guard b.level >= 1 else {
                    return .failure(GatewayError(.rateLimited, "key '\(id)' is over its rate limit of \(rpm) requests per minute",
                                                 code: "rate_limit_exceeded", retryAfter: .seconds(max(1, Int((1 - b.level) * 60 / Double(rpm)) + 1))))
                }
                b.level -= 1
                s.requests[id] = b
            }
            if let tpm = key.tpm {
                var b = Self.refill(s.tokens[id], capacity: Double(tpm), perMinute: Double(tpm), now: now)
                guard b.level >= Double(min(estimateTokens, tpm)) else {
                    return .failure(GatewayError(.rateLimited, "key '\(id)' is over its rate limit of \(tpm) tokens per minute",
                                                 code: "rate_limit_exceeded", retryAfter: .seconds(max(1, Int((Double(estimateTokens) - b.level) * 60 / Double(tpm)) + 1))))
                }
                b.level -= Double(estimateTokens)
                s.tokens[id] = b
            }
            let usd = estimateUSD ?? 0
            let reserved = s.reserved[id] ?? 0
            if let limit = key.usdPerDay, spent.day + reserved + usd > limit {
                return .failure(GatewayError(.forbidden, "key '\(id)' would exceed its daily budget of $\(limit): $\(Self.money(spent.day)) spent, $\(Self.money(reserved)) reserved by requests in flight, this request could cost $\(Self.money(usd))", code: "budget_exceeded"))
            }
            if let limit = key.usdPerMonth, spent.month + reserved + usd > limit {
                return .failure(GatewayError(.forbidden, "key '\(id)' would exceed its monthly budget of $\(limit): $\(Self.money(spent.month)) spent, $\(Self.money(reserved)) reserved, this request could cost $\(Self.money(usd))", code: "budget_exceeded"))
            }
            s.reserved[id] = reserved + usd
            return .success(Reservation(key: id, usd: usd, tokens: estimateTokens, day: day, month: month))
        }
        return try result.get()
    }

    /// Replaces a reservation with what the request really cost.
    func settle(_ r: Reservation, usd actual: Double?, tokens: Int) {
        state.withLock { s in
            s.reserved[r.key] = max(0, (s.reserved[r.key] ?? 0) - r.usd)
            if var b = s.tokens[r.key] { b.level += Double(r.tokens - tokens); s.tokens[r.key] = b }
        }
        try? store.record(key: r.key, day: r.day, month: r.month, usd: actual ?? r.usd, tokens: tokens)
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
