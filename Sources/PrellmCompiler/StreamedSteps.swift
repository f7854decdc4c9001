/// StreamedSteps decides which steps' text may be shown as it arrives: those whose text, once
/// they have run, is certainly the workflow's output. Text shown cannot be taken back, so a
/// step qualifies only when the flow proves it:
/// - the output is the step (`{{ answer }}`, or the last step when there is no `output`), or a
///   choice among steps that reaches it (`{{ has(a) ? a.body : has(b) ? b : c }}`), with at
///   most `default` filters (which leave a step's text as it is);
/// - every `has(s)` on the way to it is either `has(itself)` taken as true, or taken as false
///   for a step `s` that runs on no path through it (neither before nor after);
/// - it runs at most once (a re-ask would replace text already shown).
enum StreamedSteps {
    /// A `has(step)` on the way to a leaf, and whether the leaf is on its true side.
    typealias Guard = (step: Int, holds: Bool)

    static func of(_ output: CompiledTemplate?, steps: [CompiledStep], flow: FlowAnalysis) -> Set<Int> {
        var leaves: [(step: Int, guards: [Guard])] = []
        if let output {
            guard case .reference(let expr, let filters, _) = output.body, filters.allSatisfy(isDefault) else { return [] }
            collect(expr, [], into: &leaves)
        } else if let last = steps.indices.last {
            leaves = [(last, [])]
        }
        let chosen = leaves.filter { leaf in
            guard steps[leaf.step].maxExecutions == 1 else { return false }
            // Steps on some path through the leaf: before it, or after it.
            let after = flow.reachable(after: leaf.step)
            func beside(_ s: Int) -> Bool { flow.facts.mayHaveRun(s, before: leaf.step) || after.contains(s) }
            return leaf.guards.allSatisfy { g in g.holds ? g.step == leaf.step : g.step != leaf.step && !beside(g.step) }
        }
        return Set(chosen.map(\.step))
    }

    /// The steps a choice can give whole, each with the `has` tests on the way to it. Depth is
    /// bounded by the checker's expression limit.
    static func collect(_ e: CheckedExpr, _ guards: [Guard], into leaves: inout [(step: Int, guards: [Guard])]) {
        switch e {
        case .step(let k): leaves.append((k, guards))
        case .conditional(.has(.step(let s)), let yes, let no):
            collect(yes, guards + [(s, true)], into: &leaves)
            collect(no, guards + [(s, false)], into: &leaves)
        default: break
        }
    }

    static func isDefault(_ f: CheckedFilter) -> Bool {
        if case .default = f { true } else { false }
    }
}
