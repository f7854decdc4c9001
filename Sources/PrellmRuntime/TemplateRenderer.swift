import PrellmCompiler
import PrellmSchema
import PrellmSyntax

/// The TemplateRenderer renders a compiled template against a scope.
///
/// Substituted values are data: they are written into the output and never parsed again, so
/// `{{` inside an input or a model's answer is printed as it is. Strings print as themselves,
/// numbers without a trailing `.0` when whole, `null` as nothing, lists and objects as JSON.
public struct TemplateRenderer: Sendable {
    let evaluator: Evaluator

    public init(evaluator: Evaluator = Evaluator()) { self.evaluator = evaluator }

    /// The template as text.
    public func render(_ t: CompiledTemplate, _ scope: Evaluator.Scope) throws(Evaluator.EvaluationError) -> String {
        switch t.body {
        case .literal(let text, _): return text
        case .reference(let e, let filters, let covered): return Self.text(try value(e, filters, covered: covered, scope))
        case .nodes(let nodes):
            var out = ""
            var scope = scope
            try render(nodes, &scope, into: &out)
            return out
        }
    }

    /// The template as a value: a literal's YAML value, a reference's value itself, or the text.
    public func value(_ t: CompiledTemplate, _ scope: Evaluator.Scope) throws(Evaluator.EvaluationError) -> JSONValue {
        switch t.body {
        case .literal(_, let v): return v
        case .reference(let e, let filters, let covered): return try value(e, filters, covered: covered, scope)
        case .nodes: return .string(try render(t, scope))
        }
    }

    func value(_ e: CheckedExpr, _ filters: [CheckedFilter], covered: Bool, _ scope: Evaluator.Scope) throws(Evaluator.EvaluationError) -> JSONValue {
        let v: JSONValue
        if covered {
            // A fallback also covers a value that cannot be computed at all.
            do { v = try evaluator.evaluate(e, scope) } catch { v = .null }
        } else {
            v = try evaluator.evaluate(e, scope)
        }
        return filters.isEmpty ? v : try apply(filters, to: v, scope)
    }

    func render(_ nodes: [CompiledTemplate.Node], _ scope: inout Evaluator.Scope, into out: inout String) throws(Evaluator.EvaluationError) {
        for node in nodes {
            switch node {
            case .text(let t): out += t
            case .output(let e, let filters, let covered): out += Self.text(try value(e, filters, covered: covered, scope))
            case .branch(let branches, let otherwise):
                var taken = false
                for b in branches where Evaluator.truthy(try evaluator.evaluate(b.condition, scope)) {
                    try render(b.body, &scope, into: &out)
                    taken = true
                    break
                }
                if !taken, let otherwise { try render(otherwise, &scope, into: &out) }
            case .loop(let slot, let sequence, let body):
                let items: [JSONValue]
                switch try evaluator.evaluate(sequence, scope) {
                case .array(let a): items = a
                case .null: items = []
                case let other: throw Evaluator.EvaluationError(message: "{% for %} over \(other.typeName)")
                }
                // The variable takes the slot the checker gave it, the top of the locals stack.
                let depth = scope.locals.count
                while scope.locals.count <= slot { scope.locals.append(.null) }
                defer { scope.locals.removeLast(scope.locals.count - depth) }
                for item in items {
                    scope.locals[slot] = item
                    try render(body, &scope, into: &out)
                }
            }
        }
    }

    func apply(_ filters: [CheckedFilter], to value: JSONValue, _ scope: Evaluator.Scope) throws(Evaluator.EvaluationError) -> JSONValue {
        var v = value
        for f in filters {
            switch f {
            case .join(let separator):
                var sep = ", "
                if let separator { sep = Self.text(try evaluator.evaluate(separator, scope)) }
                v = .string((v.arrayValue ?? []).map(Self.text).joined(separator: sep))
            case .json: v = .string(v.jsonText)
            case .default(let fallback): if v == .null || v == .string("") { v = try evaluator.evaluate(fallback, scope) }
            case .upper: v = .string(Self.text(v).uppercased())
            case .lower: v = .string(Self.text(v).lowercased())
            case .trim: v = .string(Self.text(v).trimmingCharacters(in: [" ", "\n", "\t", "\r"]))
            case .length:
                switch v {
                case .string(let s): v = .number(Double(s.unicodeScalars.count))
                case .array(let a): v = .number(Double(a.count))
                case .object(let o): v = .number(Double(o.count))
                default: v = .number(0)
                }
            case .truncate(let limit):
                // Counted in Unicode scalars, as `length` counts them.
                let n = max(0, try evaluator.evaluate(limit, scope).int ?? 0)
                let s = Self.text(v)
                if s.unicodeScalars.count > n {
                    var cut = String.UnicodeScalarView()
                    cut.append(contentsOf: s.unicodeScalars.prefix(n))
                    v = .string(String(cut) + "…")
                } else {
                    v = .string(s)
                }
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
        case .number, .array, .object: v.jsonText
        }
    }
}
