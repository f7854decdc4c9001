import PrellmSchema
import PrellmSyntax

/// The WorkflowChecker resolves names and types across a decoded workflow and builds the
/// program, its StepGraph. It runs only when decoding found no errors (a broken tree makes poor
/// evidence), and the program it builds is used only when it reports no errors.
///
/// Order of work: step ids (unique, not reserved) → the flow (FlowAnalysis: jumps, reachability,
/// what has run where) → each step at its point in the flow, in list order: its guard, its
/// fields' expressions and templates, its model and contracts, its output type, and its payload
/// (reads only reach earlier steps, so list order suffices) → `output` at the end → how often
/// each step can run (re-ask loops) → tests → unused inputs.
struct WorkflowChecker {
    let workflow: Workflow
    var bag: DiagnosticBag
    let imported: [String: CompileResult]
    /// Every contract, compiled once for all the steps that name it.
    let contracts: [String: CompiledContract]
    let aliases: [String: Workflow.ModelAlias]
    /// One route per alias, shared by every step that names it.
    let routes: [String: ModelRoute]
    /// Steps that give the same value on every run (a transform without `{{ }}` and without a
    /// guard), for ConstantCheck.
    var constants: [Int: JSONValue] = [:]
    /// The provider names a step's `provider/model` may start with.
    let providers: [String]
    /// Set by `check`: the types, reads and flow facts, for editors.
    var analysis: WorkflowAnalysis?

    init(workflow: Workflow, bag: DiagnosticBag, imported: [String: CompileResult], providers: [String] = WorkflowDecoder.knownProviders) {
        self.workflow = workflow
        self.providers = providers
        self.bag = bag
        self.imported = imported
        contracts = Dictionary(
            workflow.contracts.map { ($0.name.value, CompiledContract(name: $0.name.value, schema: $0.schema, type: $0.type)) },
            uniquingKeysWith: { a, _ in a })
        aliases = Dictionary(workflow.models.map { ($0.name.value, $0) }, uniquingKeysWith: { a, _ in a })
        routes = aliases.mapValues(ModelRoute.init)
    }

    mutating func check() -> StepGraph {
        let steps = workflow.steps
        let index = stepIndex(steps)
        let flow = FlowAnalysis(steps: steps, index: index, bag: &bag)

        let inputs = ValueType.ObjectType(
            fields: workflow.inputs.map { ($0.name.value, $0.type) },
            required: Set(workflow.inputs.filter { !$0.hasDefault }.map(\.name.value)))
        let inputIndex = Dictionary(workflow.inputs.enumerated().map { ($1.name.value, $0) }, uniquingKeysWith: { a, _ in a })
        let env = ExpressionChecker.Environment(
            inputs: inputs, inputIndex: inputIndex, steps: steps, index: index,
            stepTypes: Array(repeating: .any, count: steps.count))
        var exprs = ExpressionChecker(env: env, bag: bag)
        var compiled: [CompiledStep] = []
        for (i, step) in steps.enumerated() {
            let scope = ExpressionChecker.Scope(point: .init(step: i, facts: flow.facts))
            let built = build(step, at: i, scope, &exprs, index: index)
            exprs.env.stepTypes[i] = built.type
            if built.condition == nil, case .transform(let t) = built.payload, case .literal(let text, _) = t.template.body {
                constants[i] = .string(text)
            }
            compiled.append(built)
        }
        let endScope = ExpressionChecker.Scope(point: .init(step: nil, facts: flow.facts))
        var outputType = ValueType.any
        var output: CompiledTemplate?
        if let text = workflow.output {
            (outputType, output) = exprs.checkTemplate(text, endScope)
        } else if let last = steps.indices.last {
            outputType = exprs.env.stepTypes[last]
            if flow.reached[flow.end], !flow.facts.mustHaveRun(last, before: flow.end) {
                exprs.bag.add(
                    .maybeSkipped, steps[last].id.span,
                    "the workflow has no 'output', and its last step '\(steps[last].id.value)' does not run on every path",
                    hint: "say what the workflow returns: output: \"{{ … }}\"")
            }
        }
        bag = exprs.bag
        Self.countExecutions(&compiled)
        // Before the tests: what a test's assertion reads does not make an input used.
        for input in workflow.inputs where !exprs.sawUnparsedText && !exprs.readInputs.contains(input.name.value) {
            bag.add(.unusedInput, input.name.span, "input '\(input.name.value)' is never read")
        }
        let tests = checkTests(index: index, steps: compiled, outputType: outputType, at: endScope, &exprs)
        var graph = StepGraph(
            name: workflow.name, file: workflow.file, inputs: workflow.inputs.map(CompiledInput.init), steps: compiled,
            output: output, outputType: outputType, budget: workflow.budget,
            routes: workflow.models.compactMap { routes[$0.name.value] },
            streamedSteps: StreamedSteps.of(output, steps: compiled, flow: flow))
        graph.tests = tests
        analysis = WorkflowAnalysis(stepTypes: exprs.env.stepTypes, reads: exprs.stepReads, inputs: inputs, facts: flow.facts)
        return graph
    }

    /// Step ids by position, reporting duplicates.
    mutating func stepIndex(_ steps: [Step]) -> [String: Int] {
        var index: [String: Int] = [:]
        for (i, s) in steps.enumerated() where !s.id.value.isEmpty {
            if let first = index[s.id.value] {
                bag.add(
                    .duplicateStepID, s.id.span, "step id '\(s.id.value)' is already used",
                    hint: "step ids must be unique; rename one of them",
                    related: [.init(file: bag.file, span: steps[first].id.span, message: "first used here")])
            } else {
                index[s.id.value] = i
            }
        }
        return index
    }

    /// Checks one top-level step and builds it: its guard, its payload, where control goes next.
    mutating func build(
        _ step: Step, at i: Int, _ scope: ExpressionChecker.Scope, _ exprs: inout ExpressionChecker,
        index: [String: Int]
    ) -> CompiledStep {
        let condition = step.options.condition.flatMap { exprs.checkCondition($0, scope, what: "the 'if' guard") }
        let (type, payload) = step.unreadable ? (.any, nil) : checkStep(step, at: i, scope, &exprs, index: index)
        let following: Target = i + 1 < workflow.steps.count ? .step(i + 1) : .end
        let next = step.options.next.map { target($0.value, index) } ?? following
        return compiledStep(step, index: i, payload: payload, type: type, condition: condition, next: next)
    }

    func compiledStep(_ step: Step, index: Int, payload: Payload?, type: ValueType, condition: Condition?, next: Target) -> CompiledStep {
        // A step whose fields did not check has a placeholder payload; the program is not used then.
        CompiledStep(
            id: step.id.value, index: index, payload: payload ?? .transform(TransformStep(template: .text(""))), type: type,
            condition: condition, next: next, retry: step.options.retry, timeout: step.options.timeout,
            budget: step.options.budget, cache: step.options.cache, description: step.options.description,
            span: step.span, maxExecutions: 1)
    }

    /// A jump target by name; FlowAnalysis has reported names that are not steps.
    func target(_ name: String, _ index: [String: Int]) -> Target {
        name == "end" ? .end : index[name].map(Target.step) ?? .end
    }

    /// How often one run can execute each step: once, plus every re-ask of each validate step
    /// whose loop (from its retry target up to itself) contains it. The attempts of a validate
    /// step are counted for the whole run, so loops that overlap add up rather than multiply.
    static func countExecutions(_ steps: inout [CompiledStep]) {
        for i in steps.indices {
            guard case .validate(let v) = steps[i].payload, let onFail = v.onFail, onFail.retry < i else { continue }
            for s in onFail.retry...i { steps[s].maxExecutions += onFail.attempts }
        }
    }
}
