import PrellmProviderKit
import Synchronization

/// RoutingState is shared by every run in a process: round-robin counters, moving averages of
/// latency (for `fastest`), the calls in flight per model (for `least_busy`) and a circuit
/// breaker per provider+model.
public final class RoutingState: Sendable {
    struct Breaker {
        var consecutiveFailures = 0
        var openedAt: ContinuousClock.Instant?
        /// When the half-open probe was let through; a probe that never reports (its run was
        /// cancelled) stops blocking the next one after another cooldown.
        var probeSentAt: ContinuousClock.Instant?
    }

    private let state = Mutex<(counters: [String: Int], latency: [String: Double], breakers: [String: Breaker], inFlight: [String: Int])>(
        ([:], [:], [:], [:]))

    public init() {}

    func nextIndex(_ alias: String, count: Int) -> Int {
        state.withLock { s in
            let i = s.counters[alias, default: 0]
            s.counters[alias] = i + 1
            return i % max(1, count)
        }
    }

    /// Exponential moving average of latency, in milliseconds.
    public func recordLatency(_ model: String, ms: Double) {
        state.withLock { s in s.latency[model] = s.latency[model].map { 0.8 * $0 + 0.2 * ms } ?? ms }
    }

    func latency(_ model: String) -> Double? { state.withLock { $0.latency[model] } }

    /// An attempt on `model` was sent; `ended` when its answer or error is in.
    public func started(_ model: String) { state.withLock { $0.inFlight[model, default: 0] += 1 } }

    public func ended(_ model: String) {
        state.withLock { s in
            let n = s.inFlight[model, default: 1] - 1
            s.inFlight[model] = n > 0 ? n : nil
        }
    }

    /// Providers whose endpoint is failing its active health check, with why; a model of one is
    /// skipped by every route until the check passes again (the gateway's health monitor sets
    /// this; a breaker still opens on passive failures).
    private let failingProbes = Mutex<[String: String]>([:])

    public func setProbe(_ provider: String, failure: String?) { failingProbes.withLock { $0[provider] = failure } }

    /// Why `provider`'s endpoint is out of the routes, or nil when it is in.
    public func probeFailure(_ provider: String) -> String? { failingProbes.withLock { $0[provider] } }

    /// Attempts on `model` in flight now, across every run of the process.
    public func inFlight(_ model: String) -> Int { state.withLock { $0.inFlight[model] ?? 0 } }

    /// Whether a call may go to the model: closed, or open and past its cooldown with no probe
    /// out (half-open: this call is the probe; its result closes or reopens the breaker).
    func allows(_ model: String, now: ContinuousClock.Instant, cooldown: Duration) -> Bool {
        state.withLock { s in
            guard var b = s.breakers[model], let opened = b.openedAt else { return true }
            guard now - opened >= cooldown else { return false }
            if let probe = b.probeSentAt, now - probe < cooldown { return false }
            b.probeSentAt = now
            s.breakers[model] = b
            return true
        }
    }

    func recordResult(_ model: String, success: Bool, now: ContinuousClock.Instant, threshold: Int) {
        state.withLock { s in
            var b = s.breakers[model] ?? Breaker()
            if success {
                b = Breaker()
            } else {
                b.consecutiveFailures += 1
                // A failed probe reopens the breaker for a full cooldown.
                if b.consecutiveFailures >= threshold || b.probeSentAt != nil { b.openedAt = now }
                b.probeSentAt = nil
            }
            s.breakers[model] = b
        }
    }

    public func isOpen(_ model: String) -> Bool { state.withLock { $0.breakers[model]?.openedAt != nil } }
}

/// A RetryPolicy: attempts, exponential backoff with full jitter, a cap, `Retry-After`
/// honoured, and which errors count as retryable.
public struct RetryPolicy: Sendable {
    public var attempts: Int
    public var base: Duration
    public var cap: Duration
    public var retryable: Set<ProviderError.Kind>

    /// The errors a retry may cure by default.
    public static let transient: Set<ProviderError.Kind> = [.rateLimit, .server, .timeout, .connection, .cutStream]

    public init(
        attempts: Int = 2, base: Duration = .seconds(1), cap: Duration = .seconds(30),
        retryable: Set<ProviderError.Kind> = RetryPolicy.transient
    ) {
        self.attempts = attempts
        self.base = base
        self.cap = cap
        self.retryable = retryable
    }

    /// The wait before retry number `n` (1-based): `Retry-After` if the provider sent one (up
    /// to the cap), else a uniformly random share of `min(cap, base · 2^(n-1))`.
    public func delay(retry n: Int, error: ProviderError, random: Double) -> Duration {
        if let after = error.retryAfter { return min(after, cap) }
        let exp = base * Double(1 << min(30, n - 1))
        return min(cap, exp) * random
    }
}
