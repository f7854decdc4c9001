import PrellmCompiler
import PrellmProviderKit
import PrellmSchema
import Synchronization

/// The RunLedger is a run's shared account: usage and cost so far, the budget they are checked
/// against, and the step records. Calls made concurrently by a `map` step go through it.
///
/// Budgets exist twice: `prellm lint`'s static view of the workflow and this runtime limit.
/// Before every call the ledger prices its worst case (estimated prompt tokens plus the
/// call's `max_tokens`) and refuses a call that could exceed what is left.
///
/// A lock rather than an actor: every operation is a few arithmetic steps, and an actor hop per
/// call would cost more than the work (measured: Benchmarks/interpreter).
final class RunLedger: Sendable {
    struct Account {
        var usage = Usage(inputTokens: 0, outputTokens: 0)
        var cost: Double = 0
        var costKnown = true
        var records: [StepRecord] = []
        /// Tokens and dollars per step, across its retries and re-asks, for step budgets.
        var steps: [String: (tokens: Int, cost: Double)] = [:]
    }

    let budget: Workflow.Budget?
    let started: ContinuousClock.Instant
    private let account = Mutex(Account())

    init(budget: Workflow.Budget?, started: ContinuousClock.Instant) {
        self.budget = budget
        self.started = started
    }

    /// Refuses a call whose worst case does not fit in what is left of the run's budget.
    func admit(step: String, model: String, promptTokens: Int, maxTokens: Int, price: ModelPrice?,
               stepBudget: Workflow.Budget? = nil) throws(RunError) {
        if let stepBudget {
            let spent = account.withLock { $0.steps[step] ?? (0, 0) }
            try Self.check(stepBudget, "step '\(step)'", step: step, model: model, spentTokens: spent.tokens, spentUSD: spent.cost,
                           promptTokens: promptTokens, maxTokens: maxTokens, price: price)
        }
        guard let budget else { return }
        let (usage, cost) = account.withLock { ($0.usage, $0.cost) }
        try Self.check(budget, "the run", step: step, model: model, spentTokens: usage.totalTokens, spentUSD: cost,
                       promptTokens: promptTokens, maxTokens: maxTokens, price: price)
    }

    static func check(_ budget: Workflow.Budget, _ whose: String, step: String, model: String, spentTokens: Int, spentUSD: Double,
                      promptTokens: Int, maxTokens: Int, price: ModelPrice?) throws(RunError) {
        let usage = Usage(inputTokens: spentTokens, outputTokens: 0)
        let cost = spentUSD
        if let limit = budget.maxTokens, usage.totalTokens + promptTokens + maxTokens > limit {
            throw RunError(.budgetExceeded, "\(whose == "the run" ? "the" : whose + "'s") token budget (\(limit)) would be exceeded: \(usage.totalTokens) spent, this call could use \(promptTokens + maxTokens) (\(promptTokens) prompt + \(maxTokens) max_tokens) on \(model)", step: step)
        }
        if let maxUSD = budget.maxUSD {
            guard let price else {
                if budget.allowUnpriced { return }
                throw RunError(.budgetExceeded, "\(model) has no known price, so it cannot run under a USD budget (max_usd \(maxUSD)); set a price for it or allow_unpriced: true", step: step)
            }
            let worst = price.cost(of: Usage(inputTokens: promptTokens, outputTokens: maxTokens))
            if cost + worst > maxUSD {
                throw RunError(.budgetExceeded, "\(whose == "the run" ? "the" : whose + "'s") USD budget ($\(Self.money(maxUSD))) would be exceeded: $\(Self.money(cost)) spent, this call could cost $\(Self.money(worst)) on \(model)", step: step)
            }
        }
    }

    func charge(_ u: Usage, price: ModelPrice?, step: String) {
        account.withLock { a in
            let previous = a.steps[step] ?? (0, 0)
            a.steps[step] = (previous.tokens + u.totalTokens, previous.cost + (price?.cost(of: u) ?? 0))
            a.usage.inputTokens += u.inputTokens
            a.usage.outputTokens += u.outputTokens
            if let price { a.cost += price.cost(of: u) } else { a.costKnown = false }
        }
    }

    func add(_ record: StepRecord) { account.withLock { $0.records.append(record) } }

    func snapshot() -> (Usage, Double?, [StepRecord]) { account.withLock { ($0.usage, $0.costKnown ? $0.cost : nil, $0.records) } }

    static func money(_ d: Double) -> String {
        let r = (d * 1_000_000).rounded() / 1_000_000
        return "\(r)"
    }
}
