import Foundation
import PrellmCompiler
import PrellmProviderKit
import PrellmSchema

/// What a hover says, in Markdown: the type of a reference from the checked program (a
/// contract's field with its schema, a classify step's labels), a model alias's route with
/// prices and context windows, a contract's shape, a filter's or function's signature.
struct Hover {
    let view: ProgramView
    let catalog: ModelCatalog

    func text(at cursor: Cursor) -> String? {
        guard let word = cursor.word else { return nil }
        if let file = cursor.fileMention { return "file `\(file)`, relative to this workflow" }
        if cursor.inExpression, let text = expression(word) { return text }
        if cursor.token.contains("/"), let entry = catalog.entry(for: cursor.token) { return model(entry) }
        return declaration(word.text)
    }

    /// Inside a template or an expression: a filter, a function, or a reference.
    func expression(_ word: Word) -> String? {
        if word.isFilter, let f = ExpressionLanguage.filters.first(where: { $0.name == word.text }) { return builtin(f, "filter") }
        if word.isCall, let f = ExpressionLanguage.functions.first(where: { $0.name == word.text }) { return builtin(f, "function") }
        let path = word.path
        guard let type = view.type(of: path) else { return nil }
        if path.count == 1, let k = view.step(named: word.text) { return step(k) }
        let written = Self.written(path)
        var out = "`\(written)`: `\(type)`"
        if path.first == .field("inputs"), path.count == 2, let input = view.workflow.inputs.first(where: { $0.name.value == word.text }) {
            out = "input `\(word.text)`: `\(type)`" + (input.hasDefault ? " (has a default)" : "") + "\n\n" + Self.json(input.schema)
        } else if let schema = view.schema(of: path) {
            out += "\n\n" + Self.json(schema)
        }
        return out
    }

    /// Outside expressions: a step, contract, model alias or input by its name.
    func declaration(_ name: String) -> String? {
        let w = view.workflow
        if let k = view.step(named: name) { return step(k) }
        if let c = w.contracts.first(where: { $0.name.value == name }) { return contract(c) }
        if let alias = w.models.first(where: { $0.name.value == name }) { return route(alias) }
        if let input = w.inputs.first(where: { $0.name.value == name }) {
            return "input `\(name)`: `\(input.type)`\n\n" + Self.json(input.schema)
        }
        return nil
    }

    func step(_ k: Int) -> String {
        let step = view.workflow.steps[k]
        var out = "step `\(step.id.value)` (\(step.kind.rawValue)): `\(view.type(ofStep: k))`"
        switch step.body {
        case .classify(_, _, let labels, _):
            out += "\n\nlabels: " + labels.map { "`\($0.value)`" }.joined(separator: ", ")
        default:
            if let c = view.contract(ofStep: k) { out += "\n\nmeets contract `\(c.name.value)`" }
        }
        if step.options.condition != nil { out += "\n\nguarded by `if:`: read it with `has(\(step.id.value))` or `| default(…)`" }
        return out
    }

    func contract(_ c: Workflow.Contract) -> String {
        var out = "contract `\(c.name.value)`: `\(c.type)`"
        if case .object(let o) = c.type, !o.order.isEmpty {
            let required = o.order.filter { o.required.contains($0) }
            out += "\n\nrequired: " + (required.isEmpty ? "none" : required.map { "`\($0)`" }.joined(separator: ", "))
        }
        if let file = c.file { out += "\n\nfrom `\(file)`" }
        return out
    }

    /// An alias's route: its policy, and each model with its price and context window.
    func route(_ alias: Workflow.ModelAlias) -> String {
        var out =
            "model `\(alias.name.value)` — \(alias.policy.rawValue)\n\n| model | input $/1M tokens | output $/1M tokens | context window |\n|---|---|---|---|"
        let own = ModelRoute(alias).price
        for choice in alias.choices {
            let entry = catalog.entry(for: choice.id)
            let price = own ?? entry?.price
            let window = entry?.capabilities.contextWindow.map { Self.grouped($0) } ?? "unknown"
            out +=
                "\n| `\(choice.id)` | \(price.map { Self.dollars($0.input) } ?? "unpriced") | \(price.map { Self.dollars($0.output) } ?? "unpriced") | \(window) |"
        }
        var parameters: [String] = ["max_tokens \(alias.parameters.maxTokens ?? ModelRoute.defaultMaxTokens)"]
        if let t = alias.parameters.temperature { parameters.append("temperature \(Self.number(t))") }
        if own != nil { parameters.append("price set by the alias") }
        return out + "\n\n" + parameters.joined(separator: " · ")
    }

    func model(_ e: ModelCatalog.Entry) -> String {
        var out = "`\(e.id)`"
        if let p = e.price { out += ": \(Self.dollars(p.input)) in, \(Self.dollars(p.output)) out per 1M tokens" } else { out += ": unpriced" }
        if let w = e.capabilities.contextWindow { out += "; context window \(Self.grouped(w)) tokens" }
        if !e.isKnown { out += "\n\nnot in the catalog: the provider's defaults" }
        return out
    }

    func builtin(_ f: ExpressionLanguage.Builtin, _ what: String) -> String {
        "\(what) `\(f.name)`\n\n```\n\(f.signature)\n```\n\(f.summary)"
    }

    static func written(_ path: [PathSegment]) -> String {
        path.map { if case .field(let n) = $0 { "." + n } else { "[…]" } }.joined().trimmingCharacters(in: ["."])
    }

    /// A schema as a JSON block, cut short past 600 characters.
    static func json(_ schema: JSONValue) -> String {
        let text = schema.jsonText
        return "```json\n" + (text.count > 600 ? String(text.prefix(600)) + "…" : text) + "\n```"
    }

    /// Cents when the price is whole cents ($2.50), else its significant digits ($0.075).
    static func dollars(_ v: Double) -> String {
        "$" + String(format: (v * 100).rounded() == v * 100 ? "%.2f" : "%.4g", v)
    }

    static func number(_ v: Double) -> String { v == v.rounded() ? String(Int(v)) : String(v) }

    static func grouped(_ n: Int) -> String {
        let digits = Array(String(n))
        return String(
            digits.enumerated().flatMap { i, c in (i > 0 && (digits.count - i) % 3 == 0) ? [",", c] : [c] })
    }
}
