import PrellmCompiler
import PrellmProviderKit
import PrellmSchema
import PrellmSyntax

/// A DryRunPlan is what `prellm-run --dry-run` shows: each step, the models it may call, its
/// prompts rendered as far as the inputs allow, and an upper bound on tokens and cost from
/// `max_tokens` and the price table. Nothing is sent.
///
/// The bound is the runtime budget's estimate made ahead of time (the RunLedger prices each
/// call the same way): estimated prompt tokens (UTF-8 bytes / 4) plus `max_tokens`, for every
/// model call that may run, times one plus the re-asks a validate step allows.
public struct DryRunPlan: Sendable {
    public struct Entry: Sendable {
        public var step: String
        public var kind: String
        public var models: [String]
        public var prompts: [(label: String, text: String)]
        public var maxTokens: Int
        public var promptTokens: Int
        public var calls: Int
        public var costUSD: Double?
        public var note: String?
    }

    public var entries: [Entry] = []
    public var totalTokens = 0
    public var totalUSD: Double? = 0

    public init(_ interpreter: Interpreter, inputs: JSONValue, models: any ModelAccess) {
        let w = interpreter.workflow
        let stepIDs = Set(w.steps.map(\.id.value))
        var reasks: [String: Int] = [:]
        for s in w.steps {
            if case .validate(_, _, _, let onFail) = s.body, let r = onFail?.retry?.value { reasks[r, default: 0] += onFail?.attempts ?? 0 }
        }
        let scope = Evaluator.Scope(inputs: inputs, steps: [:])
        func render(_ t: EmbeddedText?) -> String? {
            guard let t, let template = try? TemplateParser.parse(t.value) else { return nil }
            if !Self.references(template.nodes).isDisjoint(with: stepIDs) { return t.value + "   (filled in at run time)" }
            return (try? TemplateRenderer().render(template, scope)) ?? t.value
        }
        func add(_ s: Step, prefix: String = "", note: String? = nil) {
            var entry = Entry(step: prefix + s.id.value, kind: s.kind.rawValue, models: [], prompts: [], maxTokens: 0, promptTokens: 0,
                              calls: 0, costUSD: 0, note: note)
            var texts: [(String, EmbeddedText?)] = []
            switch s.body {
            case .classify(_, let text, _, let instructions): texts = [("instructions", instructions), ("text", text)]
            case .extractModel(_, let text, _, let instructions): texts = [("instructions", instructions), ("text", text)]
            case .call(_, let system, let prompt, _): texts = [("system", system), ("prompt", prompt)]
            case .transform(let t): texts = [("template", t)]
            case .extractPattern(let p, let text, _): texts = [("pattern", p), ("text", text)]
            case .map(let over, _, _, let sub):
                entries.append(entry)
                if let sub { add(sub, prefix: s.id.value + "[]", note: "once per item of \(over?.value ?? "the list")") }
                return
            default: break
            }
            for (label, t) in texts { if let r = render(t) { entry.prompts.append((label, r)) } }
            if let model = s.model?.value {
                let alias = w.models.first { $0.name.value == model }
                entry.models = interpreter.modelOverrides[model].map { [$0] } ?? alias?.choices.map(\.id) ?? [model]
                entry.maxTokens = alias?.parameters.maxTokens ?? Interpreter.assumedMaxTokens
                entry.promptTokens = entry.prompts.reduce(0) { $0 + $1.text.utf8.count / 4 + 1 }
                entry.calls = 1 + (reasks[s.id.value] ?? 0)
                let worst = Self.worstCost(of: entry.models, promptTokens: entry.promptTokens, outputTokens: entry.maxTokens) {
                    interpreter.price(of: $0, alias: model, models: models)
                }
                entry.costUSD = worst.map { $0 * Double(entry.calls) }
                totalTokens += (entry.promptTokens + entry.maxTokens) * entry.calls
                if let c = entry.costUSD, let t = totalUSD { totalUSD = t + c } else { totalUSD = nil }
            }
            entries.append(entry)
        }
        for s in w.steps { add(s) }
    }

    /// What one call could cost at most: the dearest of the models it may reach, at `promptTokens`
    /// in and `outputTokens` out. Nil when any of them has no known price: the bound is unknown.
    public static func worstCost(of models: [String], promptTokens: Int, outputTokens: Int,
                                 price: (String) -> ModelPrice?) -> Double? {
        var worst = 0.0
        for m in models {
            guard let p = price(m) else { return nil }
            worst = max(worst, p.cost(of: Usage(inputTokens: promptTokens, outputTokens: outputTokens)))
        }
        return worst
    }

    static func references(_ nodes: [Template.Node]) -> Set<String> {
        var out: Set<String> = []
        func expr(_ e: Expr) {
            switch e.kind {
            case .identifier(let n): out.insert(n)
            case .member(let t, _, _): expr(t)
            case .index(let a, let b): expr(a); expr(b)
            case .call(let t, _, _, let args): t.map(expr); args.forEach(expr)
            case .unary(_, let x): expr(x)
            case .binary(_, let a, let b): expr(a); expr(b)
            case .conditional(let a, let b, let c): expr(a); expr(b); expr(c)
            case .list(let items): items.forEach(expr)
            case .map(let entries): entries.forEach { expr($0.key); expr($0.value) }
            case .literal: break
            }
        }
        for n in nodes {
            switch n {
            case .text: break
            case .output(let e, let filters, _): expr(e); filters.forEach { $0.args.forEach(expr) }
            case .ifBlock(let branches, let otherwise, _):
                for b in branches { expr(b.condition); out.formUnion(references(b.body)) }
                if let otherwise { out.formUnion(references(otherwise)) }
            case .forBlock(_, _, let seq, let body, _): expr(seq); out.formUnion(references(body))
            }
        }
        return out
    }

    public var text: String {
        var out = ""
        for (n, e) in entries.enumerated() {
            out += "\(n + 1). \(e.step) (\(e.kind))"
            if !e.models.isEmpty { out += " → \(e.models.joined(separator: " | "))" }
            if let note = e.note { out += "   [\(note)]" }
            out += "\n"
            for (label, text) in e.prompts {
                let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
                out += "     \(label): " + lines.joined(separator: "\n       ") + "\n"
            }
            if !e.models.isEmpty {
                out += "     at most \(e.calls) call\(e.calls == 1 ? "" : "s") × (\(e.promptTokens) prompt + \(e.maxTokens) output tokens)"
                out += e.costUSD.map { ", ≤ $\(Self.money($0))" } ?? ", cost unknown (a model has no price)"
                out += "\n"
            }
        }
        out += "\nupper bound: \(totalTokens) tokens, " + (totalUSD.map { "$\(Self.money($0))" } ?? "cost unknown") + "\n"
        return out
    }

    static func money(_ d: Double) -> String { d == 0 ? "0" : "\((d * 1_000_000).rounded() / 1_000_000)" }
}
