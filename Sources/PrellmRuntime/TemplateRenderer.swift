import PrellmSchema
import PrellmSyntax

/// The TemplateRenderer renders a parsed template against a scope.
///
/// Substituted values are data: they are written into the output and never parsed again, so
/// `{{` inside an input or a model's answer is printed as it is. Strings print as themselves,
/// numbers without a trailing `.0` when whole, `null` as nothing, lists and objects as JSON.
public struct TemplateRenderer: Sendable {
    let evaluator: Evaluator

    public init(evaluator: Evaluator = Evaluator()) { self.evaluator = evaluator }

    public func render(_ template: Template, _ scope: Evaluator.Scope) throws(Evaluator.EvaluationError) -> String {
        var out = ""
        try render(template.nodes, scope, into: &out)
        return out
    }

    /// The value of a template: for a single `{{ expr }}`, the value itself (a reference);
    /// otherwise the rendered text.
    public func value(_ template: Template, _ scope: Evaluator.Scope) throws(Evaluator.EvaluationError) -> JSONValue {
        if template.nodes.count == 1, case .output(let e, let filters, _) = template.nodes[0] {
            return try apply(filters, to: try evaluator.evaluate(e, scope), scope)
        }
        return .string(try render(template, scope))
    }

    func render(_ nodes: [Template.Node], _ scope: Evaluator.Scope, into out: inout String) throws(Evaluator.EvaluationError) {
        for node in nodes {
            switch node {
            case .text(let t): out += t
            case .output(let e, let filters, _):
                let v: JSONValue
                if filters.contains(where: { $0.name == "default" }) {
                    // A fallback also covers a value that cannot be computed at all.
                    do { v = try evaluator.evaluate(e, scope) } catch { v = .null }
                } else {
                    v = try evaluator.evaluate(e, scope)
                }
                out += Self.text(try apply(filters, to: v, scope))
            case .ifBlock(let branches, let otherwise, _):
                var taken = false
                for b in branches where Evaluator.truthy(try evaluator.evaluate(b.condition, scope)) {
                    try render(b.body, scope, into: &out)
                    taken = true
                    break
                }
                if !taken, let otherwise { try render(otherwise, scope, into: &out) }
            case .forBlock(let variable, _, let sequence, let body, _):
                let items: [JSONValue]
                switch try evaluator.evaluate(sequence, scope) {
                case .array(let a): items = a
                case .null: items = []
                case let other: throw Evaluator.EvaluationError(message: "{% for %} over \(other.typeName)")
                }
                var inner = scope
                for item in items {
                    inner.locals[variable] = item
                    try render(body, inner, into: &out)
                }
            }
        }
    }

    func apply(_ filters: [Filter], to value: JSONValue, _ scope: Evaluator.Scope) throws(Evaluator.EvaluationError) -> JSONValue {
        var v = value
        for f in filters {
            var args: [JSONValue] = []
            for a in f.args { args.append(try evaluator.evaluate(a, scope)) }
            switch f.name {
            case "join":
                let sep = args.first?.stringValue ?? ", "
                v = .string((v.arrayValue ?? []).map(Self.text).joined(separator: sep))
            case "json": v = .string(v.jsonText)
            case "default": if v == .null || v == .string("") { v = args.first ?? .null }
            case "upper": v = .string(Self.text(v).uppercased())
            case "lower": v = .string(Self.text(v).lowercased())
            case "trim": v = .string(Self.text(v).trimmingCharacters(in: [" ", "\n", "\t", "\r"]))
            case "length":
                switch v {
                case .string(let s): v = .number(Double(s.unicodeScalars.count))
                case .array(let a): v = .number(Double(a.count))
                case .object(let o): v = .number(Double(o.count))
                default: v = .number(0)
                }
            case "truncate":
                let n = max(0, Int(args.first?.numberValue ?? 0))
                let s = Self.text(v)
                v = .string(s.count > n ? String(s.prefix(n)) + "…" : s)
            default: throw Evaluator.EvaluationError(message: "unknown filter \(f.name)")
            }
        }
        return v
    }

    /// How a value prints in a template.
    public static func text(_ v: JSONValue) -> String {
        switch v {
        case .null: ""
        case .string(let s): s
        case .bool(let b): b ? "true" : "false"
        case .number: v.jsonText
        case .array, .object: v.jsonText
        }
    }
}
