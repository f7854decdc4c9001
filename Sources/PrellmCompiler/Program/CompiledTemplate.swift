import PrellmSchema
import PrellmSyntax

/// A CompiledTemplate is a template after checking: its holes are CheckedExprs and its filters
/// are cases, so rendering parses nothing. Its body says which of three forms it has, because
/// they mean different things as values:
///
/// - `literal`: no holes. As text it is the text as written; as a value it is what YAML makes of
///   the scalar, so `max_words: 40` passes the integer 40 and `max_words: "40"` the string. The
///   checker types it the same way, so lint and the run agree.
/// - `reference`: exactly one `{{ expr | filters }}`. As a value it is the expression's value
///   itself (`value: "{{ answer }}"` passes the answer, not its text).
/// - `nodes`: anything else; its value is the rendered text.
public final class CompiledTemplate: Sendable {
    public enum Node: Sendable {
        case text(String)
        /// `{{ expr | filters }}`. `covered` when a `default` filter also covers a value that
        /// cannot be computed at all (an index out of range, say).
        case output(CheckedExpr, [CheckedFilter], covered: Bool)
        case branch([(condition: CheckedExpr, body: [Node])], otherwise: [Node]?)
        /// `{% for x in seq %}`: the variable is pushed as local `slot` for each element.
        case loop(slot: Int, sequence: CheckedExpr, body: [Node])
    }

    public enum Body: Sendable {
        case literal(text: String, value: JSONValue)
        case reference(CheckedExpr, [CheckedFilter], covered: Bool)
        case nodes([Node])
    }

    /// The template as written, with the map back to file positions.
    public let source: EmbeddedText
    public let body: Body
    /// Immutable and shared: the interpreter, the dry run and the cost bound read the same one.
    public init(source: EmbeddedText, body: Body) {
        self.source = source
        self.body = body
    }

    /// True when the template reads a step's output, so that it cannot be rendered before the
    /// run (asked by the dry run only, so not kept).
    public var readsSteps: Bool {
        switch body {
        case .literal: false
        case .reference(let e, let filters, _): e.readsSteps || filters.contains { $0.readsSteps }
        case .nodes(let nodes): Self.readsSteps(nodes)
        }
    }

    static func readsSteps(_ nodes: [Node]) -> Bool {
        nodes.contains { node in
            switch node {
            case .text: false
            case .output(let e, let filters, _): e.readsSteps || filters.contains { $0.readsSteps }
            case .branch(let branches, let otherwise):
                branches.contains { $0.condition.readsSteps || readsSteps($0.body) } || otherwise.map(readsSteps) == true
            case .loop(_, let seq, let body): seq.readsSteps || readsSteps(body)
            }
        }
    }

    /// A template of plain text with no file behind it (a prompt the program builds itself).
    public static func text(_ s: String) -> CompiledTemplate {
        CompiledTemplate(source: EmbeddedText(value: s), body: .literal(text: s, value: .string(s)))
    }
}

/// A CheckedFilter is one `| filter(args)` of a `{{ }}` hole (docs/language.md, "Templates").
public enum CheckedFilter: Sendable {
    /// `join(sep?)`: a list's items as text, `", "` between them by default.
    case join(separator: CheckedExpr?)
    /// `json`: the value as compact JSON text, object keys sorted.
    case json
    /// `default(v)`: v when the value is missing, null or "".
    case `default`(CheckedExpr)
    case upper, lower, trim, length
    /// `truncate(n)`: at most n characters, with "…" when something was cut.
    case truncate(CheckedExpr)

    var readsSteps: Bool {
        switch self {
        case .join(let e?), .default(let e), .truncate(let e): e.readsSteps
        case .join(nil), .json, .upper, .lower, .trim, .length: false
        }
    }
}
