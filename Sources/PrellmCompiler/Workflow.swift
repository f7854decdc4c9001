import PrellmSchema
import PrellmSyntax

/// A Workflow is a decoded workflow file: every declaration with the span it came from.
/// The decoder builds it from the YAML tree; the checker reads it; nothing here is typed yet.
public struct Workflow: Sendable {
    public var file: String
    public var name: String?
    public var description: String?
    public var inputs: [Input] = []
    public var models: [ModelAlias] = []
    public var budget: Budget?
    public var contracts: [Contract] = []
    public var imports: [Import] = []
    public var steps: [Step] = []
    public var output: EmbeddedText?
    public var tests: [TestCase] = []

    /// A workflow with no steps, only model aliases: what the gateway routes plain chat calls with.
    public init(file: String, models: [ModelAlias]) {
        self.file = file
        self.models = models
    }

    init(file: String) { self.file = file }

    public struct Name: Sendable, Hashable {
        public var value: String
        public var span: Span
    }

    public struct Input: Sendable {
        public var name: Name
        public var schema: JSONValue
        public var type: ValueType
        public var hasDefault: Bool
    }

    public struct ModelAlias: Sendable {
        public var name: Name
        public var choices: [ModelChoice]
        public var policy: RoutingPolicy
        public var parameters: ModelParameters
    }

    public struct ModelChoice: Sendable, Hashable {
        public var provider: String
        public var model: String
        public var weight: Double?
        public var span: Span
        public var id: String { provider + "/" + model }
    }

    public enum RoutingPolicy: String, Sendable, CaseIterable {
        case single, fallback, roundRobin = "round_robin", weighted, cheapest, fastest, leastBusy = "least_busy"
    }

    public struct ModelParameters: Sendable, Hashable {
        public init() {}
        public var temperature: Double?
        public var maxTokens: Int?
        public var topP: Double?
        public var stop: [String]?
        public var timeout: Duration?
        public var circuitBreaker: CircuitBreaker?
        public var inputPricePerMTok: Double?
        public var outputPricePerMTok: Double?
    }

    public struct CircuitBreaker: Sendable, Hashable {
        public var failures: Int
        public var cooldown: Duration
    }

    public struct Budget: Sendable, Hashable {
        public var maxUSD: Double?
        public var maxTokens: Int?
        public var timeout: Duration?
        public var allowUnpriced = false
    }

    public struct Contract: Sendable {
        public var name: Name
        public var schema: JSONValue
        public var type: ValueType
        /// The file the schema came from when it is a `$ref` to another file.
        public var file: String?
    }

    public struct Import: Sendable {
        public var alias: Name
        public var path: String
        public var pathSpan: Span
    }

    public struct TestCase: Sendable {
        public var name: Name
        public var inputs: [(name: Name, value: JSONValue)]
        /// Answers for the steps that call a model, by step id; the span is the answer's.
        public var mocks: [(step: Name, value: JSONValue, span: Span)]
        public var expect: Expectation
    }

    /// What a test expects of the run.
    public struct Expectation: Sendable {
        public var output: (value: JSONValue, span: Span)?
        public var contains: String?
        public var matches: String?
        public var status: String?
        /// Steps that must have run.
        public var steps: [Name] = []
        /// Expressions over `output` and the steps that must hold.
        public var asserts: [EmbeddedText] = []
        /// A contract the output must meet.
        public var schema: Name?
        public var maxCostUSD: Double?
        public var maxTokens: Int?
        public var maxLatency: Duration?
        /// A model that grades the output against a rubric.
        public var judge: (model: Name, rubric: String)?
    }
}
