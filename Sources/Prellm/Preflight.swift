import PrellmCompiler
import PrellmProviderKit
import PrellmRuntime

/// What is checked before a run spends anything: every model the program can call — in every
/// step, every fallback, every imported workflow — resolves to a provider with its key, and
/// has a price when a USD budget must be kept. Without this, a missing key for the large
/// model is found only after the small model's call was paid for.
public enum Preflight {
    public struct Problem: Sendable, Hashable, CustomStringConvertible {
        public var model: String
        public var message: String
        public var description: String { "\(model): \(message)" }
    }

    public static func problems(_ program: StepGraph, models: any ModelAccess) -> [Problem] {
        // Each model once, in the order first reached, and whether any call to it is under a
        // USD budget that needs a price.
        var order: [String] = [], priced: [String: Bool] = [:]
        func check(_ program: StepGraph, budgets: [Workflow.Budget]) {
            let budgets = budgets + (program.budget.map { [$0] } ?? [])
            for step in program.steps { visit(step, budgets) }
        }
        func visit(_ step: CompiledStep, _ budgets: [Workflow.Budget]) {
            let budgets = budgets + (step.budget.map { [$0] } ?? [])
            switch step.payload {
            case .classify(let p): route(p.route, budgets)
            case .extract(let p): route(p.route, budgets)
            case .call(let p): route(p.route, budgets)
            case .map(let m): visit(m.step, budgets)
            case .use(let u): check(u.program, budgets: budgets)
            // The model a context was built with is known when the run opens it, unless named.
            case .recall(let p): named(p.embed.map { [$0] } ?? [], budgets)
            case .remember(let p): named(p.embed.map { [$0] } ?? [], budgets)
            case .pattern, .route, .validate, .transform: break
            }
        }
        func route(_ r: ModelRoute, _ budgets: [Workflow.Budget]) { named(r.models, budgets) }
        func named(_ names: [String], _ budgets: [Workflow.Budget]) {
            let needsPrice = budgets.contains { $0.maxUSD != nil && !$0.allowUnpriced }
            for model in names {
                if priced[model] == nil { order.append(model) }
                priced[model] = (priced[model] ?? false) || needsPrice
            }
        }
        check(program, budgets: [])
        var out: [Problem] = []
        for model in order {
            do { _ = try models.provider(for: model) } catch {
                out.append(Problem(model: model, message: error.message))
                continue
            }
            if priced[model] == true, models.price(for: model) == nil {
                out.append(
                    Problem(
                        model: model,
                        message: "has no known price, so it cannot run under a USD budget (give its alias a price, or set allow_unpriced: true)"))
            }
        }
        return out
    }
}
