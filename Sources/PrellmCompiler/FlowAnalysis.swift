import PrellmSyntax

/// FlowAnalysis works out, for every step, which steps have run before it.
///
/// Steps run in list order. A `route` jumps to one of its targets; `next:` jumps to a later
/// step or to `end`; a step with an `if:` guard may be skipped. Jumps go forward only (a
/// backward jump is a loop, and the only loop allowed is `on_fail: retry`, which is bounded by
/// `attempts`), so the steps in list order are a topological order of the graph and one pass
/// computes, for each step:
/// - `must`: steps that have run on every path to it (intersection over predecessors);
/// - `may`: steps that have run on some path to it (union).
/// A read of a step outside `may` is a read before it runs (PL204); inside `may` but not
/// `must`, the step may have been skipped (PL205). `end` is the point `output` is read at.
/// The two are kept as FlowFacts (a dominator tree and ranges of steps), not as sets.
struct FlowAnalysis {
    struct Edge: Hashable {
        enum Kind: String { case next, branch, otherwise = "else", skip, retry }
        var from: Int
        var to: Int  // == steps.count for `end`
        var kind: Kind
        /// The route condition, for branches.
        var condition: String?
    }

    let steps: [Step]
    let index: [String: Int]
    var edges: [Edge] = []
    var facts: FlowFacts

    var end: Int { steps.count }
    var reached: [Bool] { facts.reached }

    init(steps: [Step], index: [String: Int], bag: inout DiagnosticBag) {
        self.steps = steps
        self.index = index
        facts = FlowFacts(guarded: steps.map { $0.options.condition != nil })
        buildEdges(&bag)
        propagate()
        for (i, step) in steps.enumerated() where i > 0 && !reached[i] {
            bag.add(
                .unreachable, step.id.span, "step '\(step.id.value)' can never run",
                hint: "no step leads here: the steps before it jump past it")
        }
    }

    /// Resolves a jump target, reporting unknown ids and backward jumps. Returns nil on error.
    func target(_ name: Workflow.Name, from i: Int, _ what: String, _ bag: inout DiagnosticBag) -> Int? {
        if name.value == "end" { return end }
        guard let t = index[name.value] else {
            bag.add(
                .unknownTarget, name.span, "\(what) '\(name.value)' is not a step",
                hint: Spelling.hint(name.value, in: steps.map(\.id.value) + ["end"]) ?? "jump to a step id, or to 'end'")
            return nil
        }
        if t <= i {
            bag.add(
                .loop, name.span, t == i ? "step '\(steps[i].id.value)' jumps to itself" : "\(what) '\(name.value)' jumps back to an earlier step",
                hint: "jumps go forward; to repeat a model call until its answer is valid, use a validate step's on_fail: retry",
                related: [.init(file: bag.file, span: steps[t].id.span, message: "'\(name.value)' is defined here")])
            return nil
        }
        return t
    }

    mutating func buildEdges(_ bag: inout DiagnosticBag) {
        for (i, step) in steps.enumerated() {
            let firstEdge = edges.count
            var fallsThrough = true
            if case .route(let branches, let otherwise) = step.body {
                for b in branches {
                    if let t = target(b.target, from: i, "route target", &bag) {
                        edges.append(Edge(from: i, to: t, kind: .branch, condition: b.condition.value))
                    }
                }
                if let o = otherwise, let t = target(o, from: i, "route target", &bag) {
                    edges.append(Edge(from: i, to: t, kind: .otherwise))
                }
                fallsThrough = otherwise == nil  // an incomplete route is reported; keep the flow sane
                if let n = step.options.next {
                    bag.add(.conflictingKeys, n.span, "a route chooses where to go; 'next' does not apply")
                }
            }
            if fallsThrough {
                let t = step.options.next.flatMap { target($0, from: i, "'next'", &bag) } ?? i + 1
                edges.append(Edge(from: i, to: t, kind: .next))
            }
            // A guarded step that jumps: when its guard is false it is skipped and the next step
            // in the list runs.
            if step.options.condition != nil, step.options.next != nil || step.kind == .route, i + 1 <= steps.count,
                !edges[firstEdge...].contains(Edge(from: i, to: i + 1, kind: .next))
            {
                edges.append(Edge(from: i, to: i + 1, kind: .skip))
            }
            if case .validate(_, _, _, let onFail) = step.body, let onFail, let r = onFail.retry {
                if let t = index[r.value] {
                    if t >= i {
                        bag.add(
                            .badRetryTarget, r.span,
                            t == i
                                ? "on_fail.retry names this validate step itself; it must name an earlier step with a model"
                                : "on_fail.retry must name an earlier step; '\(r.value)' comes later")
                    } else if steps[t].model == nil {
                        bag.add(
                            .badRetryTarget, r.span,
                            "on_fail.retry re-asks a model, but step '\(r.value)' is a \(steps[t].kind.rawValue) step with no model",
                            hint: Self.nearestModelStep(before: i, steps).map { "did you mean '\($0)'?" })
                    } else {
                        edges.append(Edge(from: i, to: t, kind: .retry))
                    }
                } else {
                    bag.add(
                        .unknownStep, r.span, "on_fail.retry names unknown step '\(r.value)'",
                        hint: Spelling.hint(r.value, in: steps.prefix(i).map(\.id.value)))
                }
            }
        }
    }

    static func nearestModelStep(before i: Int, _ steps: [Step]) -> String? {
        steps.prefix(i).last { $0.model != nil }?.id.value
    }

    /// The steps that can run after step `k` on some path (forward jumps only: a re-ask loop
    /// that runs `k` again is counted by its executions, not here).
    func reachable(after k: Int) -> Set<Int> {
        let outgoing = forwardEdges()
        var seen: Set<Int> = []
        var stack = outgoing[k]
        while let t = stack.popLast() {
            guard t < end, seen.insert(t).inserted else { continue }
            stack += outgoing[t]
        }
        return seen
    }

    /// The targets of each point's forward edges (every edge but `on_fail: retry`).
    func forwardEdges() -> [[Int]] {
        var outgoing = Array(repeating: [Int](), count: steps.count + 1)
        for e in edges where e.kind != .retry { outgoing[e.from].append(e.to) }
        return outgoing
    }

    /// One pass in list order: a point's predecessors all come before it, so when a step is
    /// reached its immediate dominator (where the paths into it last meet) and the steps that
    /// reach it are final.
    mutating func propagate() {
        guard !steps.isEmpty else { facts.reached[end] = true; return }
        facts.reached[0] = true
        let outgoing = forwardEdges()
        var meets: [Int?] = Array(repeating: nil, count: steps.count + 1)
        for i in 0..<steps.count where facts.reached[i] {
            if let m = meets[i] { facts.dominators.place(i, under: m) }
            let reachingOut = facts.reaching[i].inserting(i)
            for t in outgoing[i] {
                if facts.reached[t] {
                    meets[t] = meets[t].map { facts.dominators.meet($0, i) } ?? i
                    facts.reaching[t] = facts.reaching[t].union(reachingOut)
                } else {
                    facts.reached[t] = true
                    meets[t] = i
                    facts.reaching[t] = reachingOut
                }
            }
        }
        if let m = meets[end] { facts.dominators.place(end, under: m) }
    }
}
