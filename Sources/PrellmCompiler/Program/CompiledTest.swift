import PrellmRegex
import PrellmSchema
import PrellmSyntax

/// A CompiledTest is one `tests:` case ready to run: its inputs, the answers that stand in
/// for model steps (by step position), and its expectations with their expressions checked,
/// its pattern compiled and its contract resolved. `prellm test` runs these; nothing about a
/// test is read from the YAML again.
public struct CompiledTest: Sendable {
    public var name: String
    /// Where the test is written, for annotations.
    public var span: Span
    public var inputs: [String: JSONValue]
    /// Answers for the steps that call a model, by step position.
    public var mocks: [Int: JSONValue]
    public var expect: Expectation
    /// The judge's answer (`mocks: {judge: {pass, reason}}`), when the test gives it.
    public var judgeMock: JSONValue?

    public struct Expectation: Sendable {
        /// Whether the run must succeed (`ok`, the default) or fail.
        public var succeeds = true
        public var output: JSONValue?
        public var contains: String?
        public var matches: (pattern: String, regex: PCRERegex)?
        /// Steps that must have run, by position.
        public var steps: [Int] = []
        /// Conditions over `output` (local slot 0) and the steps.
        public var asserts: [Condition] = []
        public var schema: CompiledContract?
        public var maxCostUSD: Double?
        public var maxTokens: Int?
        public var maxLatency: Duration?
        public var judge: Judge?
    }

    /// A model asked whether the output meets a rubric; it answers `{"pass", "reason"}`.
    public struct Judge: Sendable {
        public var route: ModelRoute
        public var rubric: String
    }
}
