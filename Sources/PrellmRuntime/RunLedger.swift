import PrellmCompiler
import PrellmProviderKit
import PrellmSchema
import Synchronization

/// The RunLedger is a run's shared account: usage and cost so far, what calls in flight have
/// reserved, the limits both are held to, and the step records. The calls a `map` makes
/// concurrently all go through it.
///
/// Budgets exist twice: the compiler's CostBound, which adds up every call a run can make, and
/// this runtime limit. Before a call is sent, its worst case — its prompt's estimated tokens
/// (TokenEstimate) plus the `max_tokens` it is sent with, at its model's price — is reserved
/// against every limit that applies, in one step under one lock: the run's budget, the step's,
/// and an allowance the host gives the run (the gateway's reservation for the request). A call
/// that does not fit what is left after what is spent *and* what is reserved is refused, so
/// concurrent calls cannot together exceed a limit. When the call ends, its reservation is
/// replaced by what the provider reported it used (or released, for an attempt that failed).
///
/// A lock rather than an actor: every operation is a few arithmetic steps, and an actor hop per
/// call would cost more than the work (measured: Benchmarks/interpreter).
public final class RunLedger: Sendable {
    /// A Limit is one budget the run is held to.
    public struct Limit: Sendable {
        /// Who set it, for messages: "the run", "step 'answer'", "the request's reservation".
        public var what: String
        public var maxUSD: Double?
        public var maxTokens: Int?
        public var allowUnpriced: Bool

        public init(what: String, maxUSD: Double?, maxTokens: Int?, allowUnpriced: Bool = false) {
            self.what = what
            self.maxUSD = maxUSD
            self.maxTokens = maxTokens
            self.allowUnpriced = allowUnpriced
        }

        init(_ budget: Workflow.Budget, what: String) {
            self.init(what: what, maxUSD: budget.maxUSD, maxTokens: budget.maxTokens, allowUnpriced: budget.allowUnpriced)
        }
    }

    /// A Reservation is a call's worst case, held until the call ends.
    public struct Reservation: Sendable {
        /// The scoped limits it was taken against, by key.
        let keys: [String]
        public let tokens: Int
        public let usd: Double
    }

    /// A Scope is a limit on part of a run, kept under its own key: a step's `budget` (over its
    /// retries and re-asks), a map's or a `use` step's (over all their calls), an imported
    /// workflow's own `budget:`.
    public struct Scope: Sendable {
        public var key: String
        /// Who set it, for messages: "step 'answer'", "workflow 'summarise'".
        public var what: String
        public var budget: Workflow.Budget

        public init(key: String, what: String, budget: Workflow.Budget) {
            self.key = key
            self.what = what
            self.budget = budget
        }
    }

    struct Tally {
        var tokens = 0
        var usd = 0.0
        var reservedTokens = 0
        var reservedUSD = 0.0
    }

    struct Account {
        var usage = Usage(inputTokens: 0, outputTokens: 0)
        var costKnown = true
        var run = Tally()
        var steps: [String: Tally] = [:]
        var records: [StepRecord] = []
    }

    let limits: [Limit]
    public let started: ContinuousClock.Instant
    private let account = Mutex(Account())

    /// - Parameters:
    ///   - budget: the workflow's `budget:`.
    ///   - allowance: a further limit the host holds the run to (the gateway's reservation).
    public init(budget: Workflow.Budget?, allowance: Limit? = nil, started: ContinuousClock.Instant) {
        limits = [budget.map { Limit($0, what: "the run") }, allowance].compactMap { $0 }
        self.started = started
    }

    /// Reserves a call's worst case, or says which limit it would break: every scope the call is
    /// in (its step's budget, an enclosing map's or import's) and every run-wide limit.
    public func reserve(
        model: String, promptTokens: Int, maxTokens: Int, price: ModelPrice?, scopes: [Scope] = [], stepName: String
    ) throws(RunError) -> Reservation {
        let tokens = promptTokens + maxTokens
        let usd = price?.cost(of: Usage(inputTokens: promptTokens, outputTokens: maxTokens)) ?? 0
        let result: Result<Reservation, RunError> = account.withLock { a in
            for scope in scopes {
                let limit = Limit(scope.budget, what: scope.what)
                if let e = Self.check(
                    limit, a.steps[scope.key] ?? Tally(), model: model, prompt: promptTokens, maxTokens: maxTokens, price: price, usd: usd,
                    step: stepName)
                {
                    return .failure(e)
                }
            }
            for limit in limits {
                if let e = Self.check(
                    limit, a.run, model: model, prompt: promptTokens, maxTokens: maxTokens, price: price, usd: usd, step: stepName)
                {
                    return .failure(e)
                }
            }
            a.run.reservedTokens += tokens
            a.run.reservedUSD += usd
            for scope in scopes {
                a.steps[scope.key, default: Tally()].reservedTokens += tokens
                a.steps[scope.key, default: Tally()].reservedUSD += usd
            }
            return .success(Reservation(keys: scopes.map(\.key), tokens: tokens, usd: usd))
        }
        return try result.get()
    }

    static func check(
        _ limit: Limit, _ t: Tally, model: String, prompt: Int, maxTokens: Int, price: ModelPrice?, usd: Double,
        step: String
    ) -> RunError? {
        let whose = limit.what == "the run" ? "the" : limit.what + "'s"
        let busy = t.reservedTokens > 0 ? ", \(t.reservedTokens) reserved by calls in flight" : ""
        if let max = limit.maxTokens, t.tokens + t.reservedTokens + prompt + maxTokens > max {
            return RunError(
                .budgetExceeded,
                "\(whose) token budget (\(max)) would be exceeded: \(t.tokens) spent\(busy), this call could use \(prompt + maxTokens) (\(prompt) prompt + \(maxTokens) max_tokens) on \(model)",
                step: step)
        }
        guard let maxUSD = limit.maxUSD else { return nil }
        guard price != nil else {
            if limit.allowUnpriced { return nil }
            return RunError(
                .budgetExceeded,
                "\(model) has no known price, so it cannot run under a USD budget (max_usd \(maxUSD)); set a price for it or allow_unpriced: true",
                step: step)
        }
        if t.usd + t.reservedUSD + usd > maxUSD {
            let reserved = t.reservedUSD > 0 ? ", $\(money(t.reservedUSD)) reserved by calls in flight" : ""
            return RunError(
                .budgetExceeded,
                "\(whose) USD budget ($\(money(maxUSD))) would be exceeded: $\(money(t.usd)) spent\(reserved), this call could cost $\(money(usd)) on \(model)",
                step: step)
        }
        return nil
    }

    /// Replaces a reservation with what the call used. Returns true when the usage was more
    /// than was reserved (the provider counted more prompt tokens than the estimate).
    @discardableResult
    public func settle(_ r: Reservation, usage: Usage, price: ModelPrice?) -> Bool {
        let tokens = usage.totalTokens
        let usd = price?.cost(of: usage) ?? 0
        account.withLock { a in
            a.usage.inputTokens += usage.inputTokens
            a.usage.outputTokens += usage.outputTokens
            if price == nil, tokens > 0 { a.costKnown = false }
            Self.move(&a.run, r, tokens: tokens, usd: usd)
            for key in r.keys { Self.move(&a.steps[key, default: Tally()], r, tokens: tokens, usd: usd) }
        }
        return tokens > r.tokens
    }

    /// Gives back a reservation whose call was not billed (it failed, or was never sent).
    public func release(_ r: Reservation) {
        account.withLock { a in
            Self.move(&a.run, r, tokens: 0, usd: 0)
            for key in r.keys { Self.move(&a.steps[key, default: Tally()], r, tokens: 0, usd: 0) }
        }
    }

    static func move(_ t: inout Tally, _ r: Reservation, tokens: Int, usd: Double) {
        t.reservedTokens -= r.tokens
        t.reservedUSD = max(0, t.reservedUSD - r.usd)
        t.tokens += tokens
        t.usd += usd
    }

    func add(_ record: StepRecord) { account.withLock { $0.records.append(record) } }

    /// Adds a record with the step's output (what the result and `--json` show for it).
    func add(_ record: StepRecord, output: JSONValue) {
        var record = record
        record.output = output
        add(record)
    }

    func snapshot() -> (Usage, Double?, [StepRecord]) {
        account.withLock { ($0.usage, $0.costKnown ? $0.run.usd : nil, $0.records) }
    }

    /// What is spent and reserved right now, for tests and the gateway.
    public var spent: (tokens: Int, usd: Double, reservedUSD: Double) {
        account.withLock { ($0.run.tokens, $0.run.usd, $0.run.reservedUSD) }
    }

    static func money(_ d: Double) -> String {
        let r = (d * 1_000_000).rounded() / 1_000_000
        return "\(r)"
    }
}
