import PrellmProviderKit
import PrellmSchema

/// A CostBound is the most a run of a program can use: calls, tokens and US dollars, per step
/// and in total, over every path. It is the static half of the budget (cel-go's `checker/cost.go`);
/// the runtime half is RunLedger, which reserves each call's worst case before sending it.
///
/// What it counts, and why the total holds (docs/running.md, "The bound"):
/// - a call is its prompt's estimated tokens (TokenEstimate) plus the route's `max_tokens`, which
///   is always sent, at the dearest model the route can reach;
/// - every attempt that can be billed: each model of the route (fallbacks) × one plus its
///   retries, × 2 for structured steps (their own re-ask), × the step's `maxExecutions` (the
///   re-asks of validate steps whose loop contains it), × the items of a map, and an imported
///   workflow's own bound for each `use`;
/// - prompts are bounded from what they read: the inputs' extents, earlier answers (at most
///   `max_tokens` each), and re-ask turns (the previous answer and at most `PromptText.maxProblems`
///   problems);
/// - over paths: steps outside every re-ask loop run at most once, and the executed ones lie on
///   one path of the forward graph, so the total is the dearest path; the steps of re-ask loops
///   (overlapping loops merged) are summed, since different passes can take different branches.
///
/// A figure is nil where no bound is known: a map over a list with no `maxItems` and no
/// `max_items` has no bound on its calls, a prompt reading an input with no `maxLength` has no
/// bound on its tokens until the input is known, and a model with no price has no cost.
public struct CostBound: Sendable {
    public struct Step: Sendable {
        public var id: String
        public var kind: String
        /// The models the step's calls can reach.
        public var models: [String]
        public var maxCalls: Int?
        public var maxTokens: Int?
        public var maxCostUSD: Double?
        /// One call's worst: prompt tokens (with re-ask turns) and output tokens.
        public var promptTokens: Int?
        public var outputTokens: Int?
        /// For a map: the most items; for a use: the imported workflow's steps.
        public var maxItems: Int?
        public var steps: [Step]
        public var note: String?
    }

    public var steps: [Step]
    public var maxCalls: Int?
    public var maxTokens: Int?
    public var maxCostUSD: Double?
    /// What the output can be, for an importing workflow's bound.
    var output: Extent

    /// Why a figure is unbounded, by step, for messages.
    public var unboundedCalls: [String] {
        steps.flatMap { s -> [String] in
            s.maxCalls == nil ? [s.note.map { "\(s.id): \($0)" } ?? s.id] : []
        }
    }
}

/// What the bound is computed from: the inputs (known, or bounded by their schemas) and prices.
public struct CostContext: Sendable {
    /// An input's extent, by position; from its value when known, else from its schema.
    var inputs: [Extent]
    public var price: @Sendable (String) -> ModelPrice?

    /// The bound for known inputs (a dry run, a gateway request), by name; inputs not given
    /// (defaults applied elsewhere) are bounded by their schemas.
    public init(program: StepGraph, inputs: [String: JSONValue], price: @escaping @Sendable (String) -> ModelPrice?) {
        self.inputs = program.inputs.map { input in
            (inputs[input.name] ?? input.defaultValue).map(Extent.known) ?? .of(schema: input.schema)
        }
        self.price = price
    }

    /// The bound before any input is known: every input as its schema allows.
    public init(schemasOf program: StepGraph, price: @escaping @Sendable (String) -> ModelPrice?) {
        inputs = program.inputs.map { .of(schema: $0.schema) }
        self.price = price
    }

    init(inputs: [Extent], price: @escaping @Sendable (String) -> ModelPrice?) {
        self.inputs = inputs
        self.price = price
    }
}

extension StepGraph {
    /// The most a run with these inputs and prices can use.
    public func costBound(_ context: CostContext) -> CostBound { CostAnalysis(program: self, context: context).run() }
}
