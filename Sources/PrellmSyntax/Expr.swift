/// An Expr is a node of the expression language used in `if:`, route conditions, `assert:`
/// and inside `{{ }}`: a typed subset of CEL. `range` is a UTF-8 range in the EmbeddedText
/// the expression was parsed from; the compiler maps it to a file span for diagnostics.
public struct Expr: Sendable {
    public enum Literal: Sendable, Equatable {
        case null
        case bool(Bool)
        case int(Int)
        case double(Double)
        case string(String)
    }

    public enum UnaryOp: String, Sendable { case not = "!", negate = "-" }

    public enum BinaryOp: String, Sendable, CaseIterable {
        case or = "||", and = "&&"
        case eq = "==", ne = "!=", lt = "<", le = "<=", gt = ">", ge = ">=", `in` = "in"
        case add = "+", sub = "-", mul = "*", div = "/", mod = "%"
    }

    public indirect enum Kind: Sendable {
        case literal(Literal)
        case identifier(String)
        /// `target.name`; `nameRange` covers `name` alone, for "unknown field" spans.
        case member(Expr, name: String, nameRange: Range<Int>)
        case index(Expr, Expr)
        /// `name(args)` or, with a target, the method form `target.name(args)`.
        case call(target: Expr?, name: String, nameRange: Range<Int>, args: [Expr])
        case unary(UnaryOp, Expr)
        case binary(BinaryOp, Expr, Expr)
        case conditional(Expr, Expr, Expr)
        case list([Expr])
        case map([(key: Expr, value: Expr)])
    }

    public var kind: Kind
    public var range: Range<Int>
    /// The levels of nodes from this one down to its deepest leaf. Every pass over an
    /// expression recurses this deep, so the parser bounds it (`ExprParser.maxHeight`).
    public let height: Int

    public init(_ kind: Kind, _ range: Range<Int>) {
        self.kind = kind
        self.range = range
        height = 1 + Self.childHeight(kind)
    }

    static func childHeight(_ kind: Kind) -> Int {
        switch kind {
        case .literal, .identifier: 0
        case .member(let t, _, _): t.height
        case .index(let a, let b): max(a.height, b.height)
        case .call(let target, _, _, let args): args.reduce(target?.height ?? 0) { max($0, $1.height) }
        case .unary(_, let e): e.height
        case .binary(_, let a, let b): max(a.height, b.height)
        case .conditional(let a, let b, let c): max(a.height, b.height, c.height)
        case .list(let items): items.reduce(0) { max($0, $1.height) }
        case .map(let entries): entries.reduce(0) { max($0, $1.key.height, $1.value.height) }
        }
    }

    /// The dotted path of a plain reference (`facts.missing` → ["facts", "missing"]), or nil.
    public var path: [String]? {
        switch kind {
        case .identifier(let n): return [n]
        case .member(let t, let n, _): return t.path.map { $0 + [n] }
        default: return nil
        }
    }
}

/// An ExprError is a syntax error at a UTF-8 range of the embedded text.
public struct ExprError: Error, Sendable {
    public var range: Range<Int>
    public var message: String
    public var hint: String?
    /// True when the error is in a template's tags (`{% if %}` without `{% endif %}`),
    /// false when it is inside an expression.
    public var inTemplateTags = false

    public init(range: Range<Int>, message: String, hint: String? = nil, inTemplateTags: Bool = false) {
        self.range = range
        self.message = message
        self.hint = hint
        self.inTemplateTags = inTemplateTags
    }
}

/// A Filter applies to a `{{ }}` value: `{{ facts.missing | join(", ") }}`.
public struct Filter: Sendable {
    public var name: String
    public var nameRange: Range<Int>
    public var args: [Expr]
}
