import PrellmCompiler
import PrellmProviderKit
import PrellmSchema

/// The RunLedger is a run's shared account: usage and cost so far, the budget they are checked
/// against, and the step records. Calls made concurrently by a `map` step go through it.
///
/// Budgets exist twice: `prellm lint`'s static view of the workflow and this runtime limit.
/// Before every call the ledger prices its worst case (estimated prompt tokens plus the
/// call's `max_tokens`) and refuses a call that could exceed what is left.
actor RunLedger {
    let budget: Workflow.Budget?
    let started: ContinuousClock.Instant
    var usage = Usage(inputTokens: 0, outputTokens: 0)
    var cost: Double = 0
    var costKnown = true
    var records: [StepRecord] = []

    init(budget: Workflow.Budget?, started: ContinuousClock.Instant) {
        self.budget = budget
        self.started = started
    }

    /// Refuses a call whose worst case does not fit in what is left of the run's budget.
    func admit(step: String, model: String, promptTokens: Int, maxTokens: Int, price: ModelPrice?) throws(RunError) {
        guard let budget else { return }
        if let maxTokens = budget.maxTokens, usage.totalTokens + promptTokens + maxTokens > maxTokens {
            throw RunError(.budgetExceeded, "the token budget (\(maxTokens)) would be exceeded: \(usage.totalTokens) spent, this call could use \(promptTokens + maxTokens) (\(promptTokens) prompt + \(maxTokens) max_tokens) on \(model)", step: step)
        }
        if let maxUSD = budget.maxUSD {
            guard let price else {
                if budget.allowUnpriced { return }
                throw RunError(.budgetExceeded, "\(model) has no known price, so it cannot run under a USD budget (max_usd \(maxUSD)); set a price for it or allow_unpriced: true", step: step)
            }
            let worst = price.cost(of: Usage(inputTokens: promptTokens, outputTokens: maxTokens))
            if cost + worst > maxUSD {
                throw RunError(.budgetExceeded, "the USD budget ($\(Self.money(maxUSD))) would be exceeded: $\(Self.money(cost)) spent, this call could cost $\(Self.money(worst)) on \(model)", step: step)
            }
        }
    }

    func charge(_ u: Usage, price: ModelPrice?) {
        usage.inputTokens += u.inputTokens
        usage.outputTokens += u.outputTokens
        if let price { cost += price.cost(of: u) } else { costKnown = false }
    }

    func add(_ record: StepRecord) { records.append(record) }

    func snapshot() -> (Usage, Double?, [StepRecord]) { (usage, costKnown ? cost : nil, records) }

    static func money(_ d: Double) -> String {
        let r = (d * 1_000_000).rounded() / 1_000_000
        return "\(r)"
    }
}
