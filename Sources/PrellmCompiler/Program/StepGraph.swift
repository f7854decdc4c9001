import PrellmProviderKit
import PrellmSyntax

/// A StepGraph is the compiled workflow: the program the interpreter runs, the dry-run planner
/// prices, the gateway serves and `prellm graph` prints — one value for all four, so they
/// cannot disagree (cel-go's checked AST, which its planner runs).
///
/// Its steps are in list order, which is a topological order of the forward jumps; the only
/// backward edges are validate steps' bounded re-asks. Everything a run needs is resolved:
/// jump targets are positions, templates and expressions are checked trees with their slots,
/// contracts and regexes are compiled, model aliases are routes, and each import is its own
/// StepGraph, compiled once.
public struct StepGraph: Sendable {
    public var name: String?
    public var file: String
    public var inputs: [CompiledInput]
    public var steps: [CompiledStep]
    /// What the workflow returns; nil when it returns its last step's output.
    public var output: CompiledTemplate?
    public var outputType: ValueType
    public var budget: Workflow.Budget?
    /// The model aliases, as routes.
    public var routes: [ModelRoute]
    /// The steps whose text, once they run, is the workflow's output, streamed to the user as
    /// it arrives (StreamedSteps says which).
    public var streamedSteps: Set<Int>
    /// The workflow's `tests:`, checked (`prellm test` runs them).
    public var tests: [CompiledTest] = []
    /// The position of each input by name, for callers that give inputs by name.
    public var inputIndex: [String: Int]
    /// False when some map, here or in an import, has no bound on its items (BoundCheck).
    public var callsAreBounded = true

    public init(
        name: String?, file: String, inputs: [CompiledInput], steps: [CompiledStep], output: CompiledTemplate?,
        outputType: ValueType, budget: Workflow.Budget?, routes: [ModelRoute], streamedSteps: Set<Int>
    ) {
        self.name = name
        self.file = file
        self.inputs = inputs
        self.steps = steps
        self.output = output
        self.outputType = outputType
        self.budget = budget
        self.routes = routes
        self.streamedSteps = streamedSteps
        self.inputIndex = Dictionary(inputs.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// A program with no steps that only routes: what the gateway calls models through.
    public init(routes: [ModelRoute], file: String) {
        self.init(
            name: nil, file: file, inputs: [], steps: [], output: nil, outputType: .any, budget: nil, routes: routes,
            streamedSteps: [])
    }

    public func route(named name: String) -> ModelRoute? { routes.first { $0.name == name } }

    /// The same program with some aliases sending every call to another model (the one-shot
    /// form's `--small` and `--large`). Names that are not aliases of this workflow are ignored;
    /// a replacement that is not `provider/model` is an error.
    public func replacingModels(
        _ replacements: [String: String], providers: [String] = ConfigFile.builtinProviders
    ) throws(ReplacementError) -> StepGraph {
        var choices: [String: Workflow.ModelChoice] = [:]
        for (alias, model) in replacements where route(named: alias) != nil {
            var scratch = DiagnosticBag(file: file)
            guard let choice = WorkflowDecoder.parseModel(model, .unknown, providers: providers, into: &scratch) else {
                throw ReplacementError(message: "'\(model)' for '\(alias)': \(scratch.items.first?.message ?? "not a model")")
            }
            choices[alias] = choice
        }
        guard !choices.isEmpty else { return self }
        var copy = self
        copy.routes = routes.map { r in choices[r.name].map { r.replaced(by: $0) } ?? r }
        copy.steps = steps.map { $0.replacingRoutes(choices) }
        return copy
    }

    public struct ReplacementError: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }
}

extension CompiledStep {
    func replacingRoutes(_ choices: [String: Workflow.ModelChoice]) -> CompiledStep {
        var s = self
        func swap(_ r: ModelRoute) -> ModelRoute { choices[r.name].map { r.replaced(by: $0) } ?? r }
        switch payload {
        case .classify(var p): p.route = swap(p.route); s.payload = .classify(p)
        case .extract(var p): p.route = swap(p.route); s.payload = .extract(p)
        case .call(var p): p.route = swap(p.route); s.payload = .call(p)
        case .map(var p): p.step = p.step.replacingRoutes(choices); s.payload = .map(p)
        // An imported workflow's aliases are its own: a replacement names the caller's.
        case .pattern, .route, .validate, .transform, .use, .recall, .remember: break
        }
        return s
    }
}

extension StepGraph {
    /// Whether a run may reach a named context (a `recall` or `remember` step, here, in a map
    /// or in an imported workflow): the host opens a context store only for such a program.
    public var usesContexts: Bool {
        func uses(_ step: CompiledStep) -> Bool {
            switch step.payload {
            case .recall, .remember: true
            case .map(let m): uses(m.step)
            case .use(let u): u.program.usesContexts
            case .classify, .extract, .pattern, .route, .call, .validate, .transform: false
            }
        }
        return steps.contains(where: uses)
    }
}
