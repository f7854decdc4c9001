import PrellmSyntax

/// A CompiledStep is one step of the program: what it does (its payload), its output type, where
/// control goes after it, the options that govern its calls, and how often a run can execute
/// it. Every field is resolved: jump targets are positions, templates are compiled, a model
/// step carries its route. It keeps the span of the `Step` it came from.
public struct CompiledStep: Sendable {
    public var id: String
    /// The step's position in `StepGraph.steps`; a map's sub-step has its map's.
    public var index: Int
    public var payload: Payload
    public var type: ValueType
    /// The `if:` guard; when it is false the step is skipped and control goes to the next step in the list.
    public var condition: Condition?
    /// Where control goes after the step (a route chooses instead): the next step in the list,
    /// the `next:` target, or the end.
    public var next: Target
    public var retry: Step.RetryPolicy?
    public var timeout: Duration?
    public var budget: Workflow.Budget?
    public var cache: Step.CachePolicy?
    public var description: String?
    public var span: Span
    /// At most how many times one run of the program executes the step: once, plus each re-ask
    /// of every validate step whose `on_fail` loop contains it. The cost bound multiplies by it,
    /// and the interpreter refuses an execution past it (which would be a bug in either).
    public var maxExecutions: Int

    public var kind: Step.Kind { payload.kind }
    public var route: ModelRoute? { payload.route }
}

/// A Target is where a jump goes: a step, by its position, or the end of the workflow.
public enum Target: Sendable, Hashable {
    case step(Int)
    case end
}

/// What a step does, one case per step kind, each with its own payload type (StepPayloads.swift).
/// Switches over it are exhaustive: a new kind is a compile error wherever it is not handled.
public enum Payload: Sendable {
    case classify(ClassifyStep)
    case extract(ExtractStep)
    case pattern(PatternStep)
    case route(RouteStep)
    case call(CallStep)
    case validate(ValidateStep)
    case transform(TransformStep)
    /// Boxed: a map holds its sub-step, which holds a payload.
    indirect case map(MapStep)
    case use(UseStep)
    case recall(RecallStep)
    case remember(RememberStep)

    public var kind: Step.Kind {
        switch self {
        case .classify: .classify
        case .extract, .pattern: .extract
        case .route: .route
        case .call: .call
        case .validate: .validate
        case .transform: .transform
        case .map: .map
        case .use: .use
        case .recall: .recall
        case .remember: .remember
        }
    }

    /// The route of a step that calls a model.
    public var route: ModelRoute? {
        switch self {
        case .classify(let s): s.route
        case .extract(let s): s.route
        case .call(let s): s.route
        case .pattern, .route, .validate, .transform, .map, .use, .recall, .remember: nil
        }
    }
}
