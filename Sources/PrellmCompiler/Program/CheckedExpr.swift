import PrellmRegex
import PrellmSchema
import PrellmSyntax

/// A CheckedExpr is an expression after the checker has resolved it: every name is a slot (an
/// input, a step's output, a local), every literal a JSON value, every function a case, and a
/// literal regex compiled. It is what the runtime evaluates (cel-go's checked AST, which its
/// planner runs): nothing is parsed or looked up by name once the program exists.
///
/// ```
/// intent.label == "bug"   →   .binary(.eq, .field(.step(0), "label"), .constant("bug"))
/// ```
/// Only the cases that hold another expression directly are boxed: a leaf (a constant, a slot)
/// costs no allocation.
public enum CheckedExpr: Sendable {
    case constant(JSONValue)
    /// The whole `inputs` object.
    case inputs
    /// `inputs.NAME`, by the input's position in `StepGraph.inputs`.
    case input(Int)
    /// A step's output, by the step's position in `StepGraph.steps`; null when it has not run.
    case step(Int)
    /// A local, by slot: a map's element and `index`, a validate step's `value`, a `{% for %}`
    /// variable. Slots are a stack: the runtime pushes locals in the order the checker numbered them.
    case local(Int)
    indirect case field(CheckedExpr, String)
    indirect case index(CheckedExpr, CheckedExpr)
    /// `has(x)`: true when x has a value (a skipped step, a missing field are null).
    indirect case has(CheckedExpr)
    case function(Function, [CheckedExpr])
    indirect case not(CheckedExpr)
    indirect case negate(CheckedExpr)
    /// `&&` and `||` short-circuit; the other operators evaluate both sides.
    indirect case binary(Expr.BinaryOp, CheckedExpr, CheckedExpr)
    indirect case conditional(CheckedExpr, CheckedExpr, CheckedExpr)
    case list([CheckedExpr])
    case map([(key: CheckedExpr, value: CheckedExpr)])

    /// The functions of the expression language (docs/language.md, "Expressions").
    public enum Function: Sendable {
        case size, contains, startsWith, endsWith, int, double, string
        /// `matches(s, re)`: the regex is compiled by the checker when it is a literal.
        case matches(PCRERegex?)

        public var name: String {
            switch self {
            case .size: "size"
            case .contains: "contains"
            case .startsWith: "startsWith"
            case .endsWith: "endsWith"
            case .int: "int"
            case .double: "double"
            case .string: "string"
            case .matches: "matches"
            }
        }
    }

    /// Whether the expression reads a step's output (and so cannot be evaluated before a run).
    public var readsSteps: Bool {
        switch self {
        case .step: true
        case .constant, .inputs, .input, .local: false
        case .field(let e, _), .has(let e), .not(let e), .negate(let e): e.readsSteps
        case .index(let a, let b), .binary(_, let a, let b): a.readsSteps || b.readsSteps
        case .conditional(let a, let b, let c): a.readsSteps || b.readsSteps || c.readsSteps
        case .function(_, let args), .list(let args): args.contains { $0.readsSteps }
        case .map(let entries): entries.contains { $0.key.readsSteps || $0.value.readsSteps }
        }
    }
}

/// A Condition is a checked boolean expression (`if:`, a route branch, an `assert:`) with the
/// text it was written as, for messages and `prellm graph`.
public struct Condition: Sendable {
    public var expr: CheckedExpr
    public var text: String

    public init(expr: CheckedExpr, text: String) {
        self.expr = expr
        self.text = text
    }
}
