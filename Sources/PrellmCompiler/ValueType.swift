/// A ValueType is the static type of a value flowing between steps: what a step outputs,
/// what an input holds, what an expression evaluates to.
///
/// Types come from contracts (JSON Schema) and from the step kinds. `any` is the type of
/// whatever the compiler cannot know (a schema without `type`); it is compatible with everything,
/// so the checker never reports an error it cannot prove.
public indirect enum ValueType: Sendable, Hashable, CustomStringConvertible {
    case any
    case null
    case bool
    case int
    case number
    /// A string; `values` is set when only those values are possible (an `enum`, classify labels).
    case string(values: [String]?)
    case array(ValueType)
    case object(ObjectType)

    public static let string = ValueType.string(values: nil)

    public struct ObjectType: Sendable, Hashable {
        public var fields: [String: ValueType]
        /// Field names in declaration order, for messages and printing.
        public var order: [String]
        public var required: Set<String>
        /// The type of properties not listed in `fields`; nil when there can be none (closed),
        /// or when the schema lists properties and says nothing else (an unlisted name is then
        /// almost certainly a typo, which is worth reporting).
        public var extra: ValueType?

        public init(fields: [(String, ValueType)], required: Set<String> = [], extra: ValueType? = nil) {
            self.fields = Dictionary(fields, uniquingKeysWith: { a, _ in a })
            self.order = fields.map(\.0)
            self.required = required
            self.extra = extra
        }
    }

    public var isNumeric: Bool { self == .int || self == .number }

    public var isStringLike: Bool { if case .string = self { true } else { false } }

    public var description: String {
        switch self {
        case .any: return "any"
        case .null: return "null"
        case .bool: return "bool"
        case .int: return "integer"
        case .number: return "number"
        case .string(let values):
            guard let values else { return "string" }
            return values.count <= 6 ? "string(" + values.map { "\"\($0)\"" }.joined(separator: "|") + ")" : "string(\(values.count) values)"
        case .array(let e): return "list<\(e)>"
        case .object(let o):
            if o.order.isEmpty { return o.extra == nil ? "object" : "map<\(o.extra!)>" }
            return "{" + o.order.map { "\($0)\(o.required.contains($0) ? "" : "?"): \(o.fields[$0]!)" }.joined(separator: ", ") + "}"
        }
    }

    /// A short name for messages ("a list", "an integer").
    public var article: String {
        switch self {
        case .any: "a value"
        case .null: "null"
        case .bool: "a boolean"
        case .int: "an integer"
        case .number: "a number"
        case .string: "a string"
        case .array: "a list"
        case .object: "an object"
        }
    }

    /// The type for messages: "an integer", "a list (list<string>)".
    public var phrase: String {
        switch self {
        case .any, .null, .bool, .int, .number, .string(values: nil): article
        default: "\(article) (\(self))"
        }
    }

    /// True when values of the two types can be compared with `==`.
    public func isComparable(with other: ValueType) -> Bool {
        switch (self, other) {
        case (.any, _), (_, .any), (.null, _), (_, .null): true
        case (.bool, .bool): true
        case (.int, .int), (.int, .number), (.number, .int), (.number, .number): true
        case (.string, .string): true
        case (.array(let a), .array(let b)): a.isComparable(with: b)
        case (.object, .object): true
        default: false
        }
    }

    /// The least type that holds values of both (used for `a ? b : c` and `default`).
    public func joined(with other: ValueType) -> ValueType {
        switch (self, other) {
        case _ where self == other: return self
        case (.null, let t), (let t, .null): return t
        case (.int, .number), (.number, .int): return .number
        case (.string(let a), .string(let b)):
            guard let a, let b else { return .string }
            return .string(values: a + b.filter { !a.contains($0) })
        case (.array(let a), .array(let b)): return .array(a.joined(with: b))
        default: return .any
        }
    }
}
