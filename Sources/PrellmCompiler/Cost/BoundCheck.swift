import PrellmProviderKit
import PrellmSyntax

/// BoundCheck is the compiler's last pass: it computes the program's bound before any input is
/// known, records on each map the most items it can run over (its `max_items`, or what the
/// list's schema allows), and reports a workflow under a budget whose calls have no bound —
/// a map over a list that nothing bounds, directly or in an imported workflow. Such a run
/// could only be stopped part-way by its budget, never planned, and the gateway could not
/// reserve its cost.
enum BoundCheck {
    static func run(_ program: inout StepGraph, catalog: ModelCatalog, into bag: inout DiagnosticBag) {
        // Only maps need the analysis here (their items bound their calls); an import says
        // whether its own calls are bounded. A workflow with neither costs lint nothing more.
        var unbounded: [Int] = []
        if program.steps.contains(where: { if case .map = $0.payload { true } else { false } }) {
            let bound = program.costBound(CostContext(schemasOf: program, price: { catalog.entry(for: $0)?.price }))
            for (i, entry) in bound.steps.enumerated() {
                if case .map(var m) = program.steps[i].payload {
                    m.maxItems = entry.maxItems
                    program.steps[i].payload = .map(m)
                }
                if entry.maxCalls == nil { unbounded.append(i) }
            }
        } else {
            for (i, step) in program.steps.enumerated() {
                if case .use(let u) = step.payload, !u.program.callsAreBounded { unbounded.append(i) }
            }
        }
        program.callsAreBounded = unbounded.isEmpty
        let budgeted = program.budget.map { $0.maxUSD != nil || $0.maxTokens != nil } ?? false
        for i in unbounded {
            let step = program.steps[i]
            guard budgeted || step.budget.map({ $0.maxUSD != nil || $0.maxTokens != nil }) == true else { continue }
            switch step.payload {
            case .map(let m):
                bag.add(
                    Diagnostic(
                        .unboundedMap, file: m.over.source.file ?? bag.file, span: m.over.source.span,
                        message:
                            "map '\(step.id)' runs over a list with no bound on its items, so this workflow's cost under its budget has no bound",
                        hint: "add max_items: N to the map, or maxItems to the list's schema"))
            case .use(let u):
                bag.add(
                    .unboundedMap, step.span,
                    "workflow '\(u.alias)' has no bound on its calls (a map over a list with no bound on its items), so this workflow's cost under its budget has no bound",
                    hint: "bound its maps: max_items on the map, or maxItems on the list's schema")
            case .classify, .extract, .pattern, .route, .call, .validate, .transform, .recall, .remember: break
            }
        }
    }
}
