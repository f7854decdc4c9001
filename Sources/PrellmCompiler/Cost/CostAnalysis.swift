/// CostAnalysis computes a program's CostBound: each step's figures in list order (so that every
/// read sees the extents of the steps before it), then the dearest path.
///
/// The path rule, and why it holds: a step outside every re-ask loop runs at most once per run,
/// and the ones that run lie on a single path of the forward graph (jumps only go forward), so
/// their total is at most the dearest path's. A re-ask loop reruns its range, and each pass may
/// take different branches inside it, so the steps of a loop — of all loops that overlap it —
/// form one group whose figures are summed (each step's already multiplied by its
/// `maxExecutions`); the group is one node of the path.
struct CostAnalysis {
    let program: StepGraph
    let context: CostContext

    func run() -> CostBound {
        let steps = program.steps
        var scope = ExtentScope(
            inputs: context.inputs, inputNames: program.inputs.map(\.name),
            steps: Array(repeating: nil, count: steps.count))
        var retried = Set<Int>()
        for s in steps {
            if case .validate(let v) = s.payload, let onFail = v.onFail { retried.insert(onFail.retry) }
        }
        var entries: [CostBound.Step] = []
        var weights: [Figures] = []
        for (i, step) in steps.enumerated() {
            let r = StepCost.of(step, scope, context, reasked: retried.contains(i))
            scope.steps[i] = r.output
            let weight = Self.capped(r.figures * step.maxExecutions, by: step.budget)
            var entry = r.entry
            entry.maxCalls = weight.calls
            entry.maxTokens = weight.tokens
            entry.maxCostUSD = weight.usd
            if step.maxExecutions > 1, entry.note == nil {
                entry.note = "runs up to \(step.maxExecutions) times: once, and again for each re-ask"
            }
            entries.append(entry)
            weights.append(weight)
        }
        let total = Self.capped(Self.dearestPath(steps, weights), by: program.budget)
        let output = program.output.map { ExtentAnalysis.value($0, scope) } ?? scope.steps.last.flatMap { $0 } ?? .known(.null)
        return CostBound(steps: entries, maxCalls: total.calls, maxTokens: total.tokens, maxCostUSD: total.usd, output: output)
    }

    /// What a budget leaves of a bound: the ledger refuses any call that could take spending
    /// past it, so a run never spends more. (A USD budget bounds dollars even where tokens have no
    /// bound, as every call under it must be priced, unless `allow_unpriced` lets some go uncounted.)
    static func capped(_ f: Figures, by budget: Workflow.Budget?) -> Figures {
        guard let budget else { return f }
        var out = f
        if let max = budget.maxTokens { out.tokens = Swift.min(f.tokens ?? max, max) }
        if let max = budget.maxUSD, f.usd != nil || !budget.allowUnpriced { out.usd = Swift.min(f.usd ?? max, max) }
        return out
    }

    /// The most any one run can use, over every path (see the type's comment).
    static func dearestPath(_ steps: [CompiledStep], _ weights: [Figures]) -> Figures {
        let n = steps.count
        guard n > 0 else { return .zero }
        let group = loopGroups(steps)
        var groupWeight: [Int: Figures] = [:]
        for i in 0..<n where group[i] != nil { groupWeight[group[i]!] = (groupWeight[group[i]!] ?? .zero) + weights[i] }
        func position(_ t: Target) -> Int { if case .step(let k) = t { k } else { n } }
        func successors(_ i: Int) -> [Int] {
            let s = steps[i]
            var out: [Int] = []
            if case .route(let r) = s.payload {
                out = r.branches.map { position($0.target) } + [position(r.otherwise)]
            } else {
                out = [position(s.next)]
            }
            if s.condition != nil { out.append(i + 1) }
            return out
        }
        // best[p]: the dearest way to arrive at position p (before it runs); nil when no path arrives.
        var best = [Figures?](repeating: nil, count: n + 1)
        best[0] = .zero
        func arrive(_ p: Int, _ f: Figures) { best[p] = best[p].map { $0.either(f) } ?? f }
        var i = 0
        while i < n {
            if let g = group[i] {
                // A loop group: entered at any of its steps, left from any of them, summed inside.
                var end = i
                while end + 1 < n, group[end + 1] == g { end += 1 }
                var entered: Figures?
                for k in i...end { if let b = best[k] { entered = entered.map { $0.either(b) } ?? b } }
                if let entered {
                    let out = entered + groupWeight[g]!
                    for k in i...end { for t in successors(k) where t > end { arrive(t, out) } }
                }
                i = end + 1
                continue
            }
            if let here = best[i] {
                for t in successors(i) { arrive(t, here + weights[i]) }
            }
            i += 1
        }
        return best[n] ?? .zero
    }

    /// For each step, the re-ask loop group it belongs to (overlapping loops merged), if any.
    static func loopGroups(_ steps: [CompiledStep]) -> [Int?] {
        var ranges: [ClosedRange<Int>] = []
        for (i, s) in steps.enumerated() {
            if case .validate(let v) = s.payload, let onFail = v.onFail { ranges.append(onFail.retry...i) }
        }
        ranges.sort { $0.lowerBound < $1.lowerBound }
        var merged: [ClosedRange<Int>] = []
        for r in ranges {
            if let last = merged.last, r.lowerBound <= last.upperBound {
                merged[merged.count - 1] = last.lowerBound...max(last.upperBound, r.upperBound)
            } else {
                merged.append(r)
            }
        }
        var group = [Int?](repeating: nil, count: steps.count)
        for (g, r) in merged.enumerated() { for i in r { group[i] = g } }
        return group
    }
}

extension CostBound.Step {
    func prefixed(_ prefix: String) -> CostBound.Step {
        var s = self
        s.id = prefix + id
        s.steps = steps.map { $0.prefixed(prefix) }
        return s
    }
}
