import PrellmSchema
import PrellmSyntax

/// A CompiledContract is a contract ready to check values: its schema, its validator (patterns
/// and `$ref`s compiled once per program, not per answer), its static type, and its text as
/// prompts quote it. Immutable and shared by every step that names it.
public final class CompiledContract: Sendable {
    public let name: String
    public let schema: JSONValue
    public let type: ValueType
    // Compiled on first use: a run needs them, `prellm lint` does not.
    private let compiled: Once<JSONSchema>
    private let text: Once<String>

    public init(name: String, schema: JSONValue, type: ValueType) {
        self.name = name
        self.schema = schema
        self.type = type
        compiled = Once { JSONSchema(schema) }
        text = Once { schema.jsonText }
    }

    public var validator: JSONSchema { compiled.value }

    /// The schema as compact JSON, as the prompts that ask for it quote it.
    public var schemaText: String { text.value }

    /// True when the schema asks for a string: a text value is checked as it is, not parsed as JSON.
    public var wantsText: Bool { schema["type"]?.stringValue == "string" }

    /// The schema's problems with a value, as `pointer: message` lines (the root is `/`).
    public func problems(_ value: JSONValue) -> [String] {
        validator.validate(value).map { "\($0.instanceLocation.isEmpty ? "/" : $0.instanceLocation): \($0.message)" }
    }
}

/// A CompiledInput is one declared input: its schema compiled, its type, and its default.
public struct CompiledInput: Sendable {
    public let name: String
    public let schema: JSONValue
    public let type: ValueType
    public let defaultValue: JSONValue?
    public let span: Span
    /// Compiled on first use, as a contract's is.
    private let compiled: Once<JSONSchema>

    public init(_ input: Workflow.Input) {
        name = input.name.value
        schema = input.schema
        type = input.type
        defaultValue = input.schema["default"]
        span = input.name.span
        let schema = input.schema
        compiled = Once { JSONSchema(schema) }
    }

    public var validator: JSONSchema { compiled.value }

    public var isRequired: Bool { defaultValue == nil }
}
