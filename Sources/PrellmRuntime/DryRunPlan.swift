import PrellmCompiler
import PrellmProviderKit
import PrellmSchema

/// A DryRunPlan is what `prellm-run --dry-run` shows: each step, the models it may call, its
/// prompts rendered as far as the inputs allow, and the program's CostBound for these inputs —
/// the most the run can use, which is also what the gateway reserves for it. Nothing is sent.
public struct DryRunPlan: Sendable {
    public let bound: CostBound
    /// Each step's prompts, rendered where they read only the inputs, by step id.
    public let prompts: [String: [(label: String, text: String)]]
    /// The run's budget, which caps the bound: the ledger refuses any call that could pass it.
    public let budget: Workflow.Budget?

    public init(_ program: StepGraph, inputs: [String: JSONValue], models: any ModelAccess) {
        bound = program.costBound(CostContext(program: program, inputs: inputs, price: { models.price(for: $0) }))
        budget = program.budget
        let values = program.inputs.map { inputs[$0.name] ?? $0.defaultValue ?? .null }
        let scope = Evaluator.Scope(inputs: values, names: program.inputs.map(\.name), steps: Array(repeating: nil, count: program.steps.count))
        var prompts: [String: [(String, String)]] = [:]
        for step in program.steps {
            prompts[step.id] = Self.prompts(of: step, scope, perItem: false)
            if case .map(let m) = step.payload { prompts[step.id + "[]"] = Self.prompts(of: m.step, scope, perItem: true) }
        }
        self.prompts = prompts
    }

    /// `perItem`: the step is a map's, and its templates read the item.
    static func prompts(of step: CompiledStep, _ scope: Evaluator.Scope, perItem: Bool) -> [(String, String)] {
        let texts: [(String, CompiledTemplate?)] =
            switch step.payload {
            case .classify(let p): [("instructions", p.instructions), ("text", p.text)]
            case .extract(let p): [("instructions", p.instructions), ("text", p.text)]
            case .pattern(let p): [("text", p.text)]
            case .call(let p): [("system", p.system), ("prompt", p.prompt)]
            case .transform(let p): [("template", p.template)]
            case .map(let p): [("over", p.over)]
            case .recall(let p): [("context", p.context), ("query", p.query)]
            case .remember(let p): [("context", p.context), ("text", p.text)]
            case .route, .validate, .use: []
            }
        let renderer = TemplateRenderer()
        return texts.compactMap { label, t in
            guard let t else { return nil }
            // A template that reads a step's output or a map's item is only known during the run.
            let literal = if case .literal = t.body { true } else { false }
            if t.readsSteps || perItem && !literal { return (label, t.source.value + "   (filled in at run time)") }
            return (label, (try? renderer.render(t, scope)) ?? t.source.value + "   (filled in at run time)")
        }
    }

    public var text: String {
        var out = ""
        for (n, e) in bound.steps.enumerated() { out += Self.describe(e, number: "\(n + 1). ", prompts: prompts, indent: "") }
        out += "\nupper bound: " + Self.totals(calls: bound.maxCalls, tokens: bound.maxTokens, usd: bound.maxCostUSD) + "\n"
        if let b = budget, b.maxUSD != nil || b.maxTokens != nil {
            let parts = [b.maxUSD.map { "$\(Self.money($0))" }, b.maxTokens.map { "\($0) tokens" }].compactMap { $0 }
            out += "(the budget, \(parts.joined(separator: " and ")), caps the run: a call that could go past it is refused)\n"
        }
        let why = bound.unboundedCalls
        if !why.isEmpty { out += "unbounded: " + why.joined(separator: "; ") + "\n" }
        return out
    }

    static func describe(_ e: CostBound.Step, number: String, prompts: [String: [(label: String, text: String)]], indent: String) -> String {
        var out = "\(indent)\(number)\(e.id) (\(e.kind))"
        if !e.models.isEmpty { out += " → \(e.models.joined(separator: " | "))" }
        if let n = e.maxItems { out += "   [at most \(n) item\(n == 1 ? "" : "s")]" }
        out += "\n"
        for (label, text) in prompts[e.id] ?? [] {
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            out += "\(indent)     \(label): " + lines.joined(separator: "\n\(indent)       ") + "\n"
        }
        if e.maxCalls != 0 || !e.models.isEmpty {
            out += "\(indent)     at most " + totals(calls: e.maxCalls, tokens: e.maxTokens, usd: e.maxCostUSD)
            if let p = e.promptTokens, let o = e.outputTokens { out += " (a call: ≤ \(p) prompt + \(o) output tokens)" }
            out += "\n"
        }
        if let note = e.note { out += "\(indent)     \(note)\n" }
        if e.id.hasSuffix("[]") { out += "\(indent)     (for each item)\n" }
        for sub in e.steps { out += describe(sub, number: "", prompts: prompts, indent: indent + "     ") }
        return out
    }

    static func totals(calls: Int?, tokens: Int?, usd: Double?) -> String {
        let c = calls.map { "\($0) call\($0 == 1 ? "" : "s")" } ?? "unbounded calls"
        let t = tokens.map { "\($0) tokens" } ?? "unbounded tokens"
        let u = usd.map { "$\(money($0))" } ?? (calls == nil || tokens == nil ? "unbounded cost" : "cost unknown (a model has no price)")
        return "\(c), \(t), \(u)"
    }

    /// The plan as one JSON object (`--dry-run --json`): every figure is null where it is
    /// unbounded or a price is unknown, and the totals cover every path.
    public var json: JSONValue {
        .object([
            "steps": .array(bound.steps.map(Self.json)),
            "max_calls": bound.maxCalls.map { .number(Double($0)) } ?? .null,
            "max_tokens": bound.maxTokens.map { .number(Double($0)) } ?? .null,
            "max_cost_usd": bound.maxCostUSD.map { .number(Self.upward($0)) } ?? .null,
        ])
    }

    /// A bound in dollars as printed: up to the next 10⁻¹⁰ (float noise below that is not money).
    static func upward(_ d: Double) -> Double {
        let scaled = d * 1e10
        return (scaled - 1e-4).rounded(.up) / 1e10
    }

    static func json(_ e: CostBound.Step) -> JSONValue {
        var o: [String: JSONValue] = [
            "id": .string(e.id), "kind": .string(e.kind), "models": .array(e.models.map(JSONValue.string)),
            "max_calls": e.maxCalls.map { .number(Double($0)) } ?? .null,
            "max_tokens": e.maxTokens.map { .number(Double($0)) } ?? .null,
            "max_cost_usd": e.maxCostUSD.map { .number(upward($0)) } ?? .null,
        ]
        if e.kind == "map" { o["max_items"] = e.maxItems.map { .number(Double($0)) } ?? .null }
        if !e.steps.isEmpty { o["steps"] = .array(e.steps.map(json)) }
        return .object(o)
    }

    /// Dollars rounded up to the millionth, in plain digits (`0.000001`, never `1e-06`).
    static func money(_ d: Double) -> String {
        guard d != 0 else { return "0" }
        let micro = Int((d * 1_000_000).rounded(.up))
        let fraction = String(micro % 1_000_000).leftPadded(to: 6).reversed().drop { $0 == "0" }.reversed()
        return "\(micro / 1_000_000)" + (fraction.isEmpty ? "" : "." + String(fraction))
    }
}

extension String {
    fileprivate func leftPadded(to n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }
}
