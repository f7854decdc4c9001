import PrellmSchema
import PrellmSyntax

/// The WorkflowChecker resolves names and types across a decoded workflow and builds its
/// StepGraph. It runs only when decoding found no errors (a broken tree makes poor evidence).
///
/// Order of work: step ids (unique, not reserved) → models and contracts named by steps →
/// imports → the flow (FlowAnalysis) → each step's expressions and templates at its point in
/// the flow, computing each step's output type as it goes (reads only reach earlier steps, so
/// list order suffices) → `output` at the end → tests → unused inputs.
struct WorkflowChecker {
    let workflow: Workflow
    var bag: DiagnosticBag
    let imported: [String: CompileResult]

    init(workflow: Workflow, bag: DiagnosticBag, imported: [String: CompileResult]) {
        self.workflow = workflow
        self.bag = bag
        self.imported = imported
    }

    mutating func check() -> StepGraph {
        let steps = workflow.steps
        var index: [String: Int] = [:]
        for (i, s) in steps.enumerated() where !s.id.value.isEmpty {
            if let first = index[s.id.value] {
                bag.add(.duplicateStepID, s.id.span, "step id '\(s.id.value)' is already used",
                        hint: "step ids must be unique; rename one of them",
                        related: [.init(file: bag.file, span: steps[first].id.span, message: "first used here")])
            } else {
                index[s.id.value] = i
            }
        }
        let contracts = Dictionary(workflow.contracts.map { ($0.name.value, $0) }, uniquingKeysWith: { a, _ in a })
        let models = Dictionary(workflow.models.map { ($0.name.value, $0) }, uniquingKeysWith: { a, _ in a })
        let flow = FlowAnalysis(steps: steps, index: index, bag: &bag)

        let inputs = ValueType.ObjectType(fields: workflow.inputs.map { ($0.name.value, $0.type) },
                                          required: Set(workflow.inputs.filter { !$0.hasDefault }.map(\.name.value)))
        let env = ExpressionChecker.Environment(inputs: inputs, steps: steps, index: index,
                                                stepTypes: Array(repeating: .any, count: steps.count))
        var exprs = ExpressionChecker(env: env, bag: bag)
        var nodes: [StepGraph.Node] = []
        for (i, step) in steps.enumerated() {
            let scope = ExpressionChecker.Scope(point: .init(step: i, must: flow.must[i], may: flow.may[i]))
            if let c = step.options.condition { exprs.checkCondition(c, scope, what: "the 'if' guard") }
            let type = checkStep(step, scope, &exprs, contracts: contracts, models: models)
            exprs.env.stepTypes[i] = type
            nodes.append(.init(id: step.id.value, kind: step.kind, type: type, model: step.model?.value,
                               models: resolvedModels(step.model, models), condition: step.options.condition?.value, span: step.span))
        }
        let endScope = ExpressionChecker.Scope(point: .init(step: nil, must: flow.must[flow.end], may: flow.may[flow.end]))
        var outputType = ValueType.any
        if let output = workflow.output {
            outputType = exprs.checkTemplate(output, endScope)
        } else if let last = steps.indices.last {
            outputType = exprs.env.stepTypes[last]
            if flow.reached[flow.end], !flow.must[flow.end].contains(last), steps.count > 0 {
                exprs.bag.add(.maybeSkipped, steps[last].id.span,
                              "the workflow has no 'output', and its last step '\(steps[last].id.value)' does not run on every path",
                              hint: "say what the workflow returns: output: \"{{ … }}\"")
            }
        }
        bag = exprs.bag
        checkTests(index: index)
        for input in workflow.inputs where !exprs.readInputs.contains(input.name.value) {
            bag.add(.unusedInput, input.name.span, "input '\(input.name.value)' is never read")
        }
        let edges = flow.edges.map { e -> StepGraph.Edge in
            var attempts: Int?
            if e.kind == .retry, case .validate(_, _, _, let onFail) = steps[e.from].body { attempts = onFail?.attempts }
            return StepGraph.Edge(from: steps[e.from].id.value, to: e.to == flow.end ? "end" : steps[e.to].id.value,
                                  kind: StepGraph.Edge.Kind(rawValue: e.kind.rawValue)!, condition: e.condition, attempts: attempts)
        }
        return StepGraph(name: workflow.name, file: workflow.file, nodes: nodes, edges: edges,
                         inputs: workflow.inputs.map { ($0.name.value, $0.type, !$0.hasDefault) }, outputType: outputType)
    }

    func resolvedModels(_ name: Workflow.Name?, _ models: [String: Workflow.ModelAlias]) -> [String] {
        guard let name else { return [] }
        if name.value.contains("/") { return [name.value] }
        return models[name.value]?.choices.map(\.id) ?? []
    }

    mutating func checkModel(_ name: Workflow.Name?, _ models: [String: Workflow.ModelAlias], into exprs: inout ExpressionChecker) {
        guard let name else { return }
        if name.value.contains("/") {
            _ = WorkflowDecoder.parseModel(name.value, name.span, into: &exprs.bag)
        } else if models[name.value] == nil {
            exprs.bag.add(.unknownModel, name.span, "unknown model '\(name.value)'",
                          hint: Spelling.hint(name.value, in: models.keys.sorted())
                            ?? (models.isEmpty ? "declare it under 'models:', or name a model directly: openai/gpt-4o-mini"
                                               : "models are \(models.keys.sorted().joined(separator: ", "))"))
        }
    }

    func contractType(_ name: Workflow.Name?, _ contracts: [String: Workflow.Contract], into exprs: inout ExpressionChecker) -> ValueType? {
        guard let name else { return nil }
        if let c = contracts[name.value] { return c.type }
        exprs.bag.add(.unknownContract, name.span, "unknown contract '\(name.value)'",
                      hint: Spelling.hint(name.value, in: contracts.keys.sorted())
                        ?? (contracts.isEmpty ? "declare it under 'contracts:'" : "contracts are \(contracts.keys.sorted().joined(separator: ", "))"))
        return .any
    }

    /// Checks one step's fields and returns its output type.
    mutating func checkStep(_ step: Step, _ scope: ExpressionChecker.Scope, _ exprs: inout ExpressionChecker,
                            contracts: [String: Workflow.Contract], models: [String: Workflow.ModelAlias],
                            locals: [String: ValueType] = [:]) -> ValueType {
        var scope = scope
        scope.locals.merge(locals) { a, _ in a }
        checkModel(step.model, models, into: &exprs)
        switch step.body {
        case .classify(_, let text, let labels, let instructions):
            if let text { exprs.checkTemplate(text, scope) }
            if let instructions { exprs.checkTemplate(instructions, scope) }
            return .object(.init(fields: [("label", .string(values: labels.map(\.value))), ("confidence", .number)],
                                 required: ["label", "confidence"]))
        case .extractModel(_, let text, let into, let instructions):
            if let text { exprs.checkTemplate(text, scope) }
            if let instructions { exprs.checkTemplate(instructions, scope) }
            return contractType(into, contracts, into: &exprs) ?? .any
        case .extractPattern(_, let text, let groups):
            if let text { exprs.checkTemplate(text, scope) }
            let match = ValueType.object(.init(fields: [("match", .string)] + groups.map { ($0, .string) }, required: ["match"]))
            return .object(.init(fields: [("matches", .array(match)), ("count", .int)], required: ["matches", "count"]))
        case .route(let branches, let otherwise):
            for b in branches { exprs.checkCondition(b.condition, scope, what: "a route condition") }
            var targets: [String] = []
            for t in branches.map(\.target.value) + (otherwise.map { [$0.value] } ?? []) where !targets.contains(t) { targets.append(t) }
            return .object(.init(fields: [("target", .string(values: targets))], required: ["target"]))
        case .call(_, let system, let prompt, let output):
            if let system { exprs.checkTemplate(system, scope) }
            if let prompt { exprs.checkTemplate(prompt, scope) }
            return contractType(output, contracts, into: &exprs) ?? .string
        case .validate(let value, let contract, let asserts, _):
            let valueType = value.map { exprs.checkTemplate($0, scope) } ?? .any
            let type = contractType(contract, contracts, into: &exprs) ?? valueType
            var inner = scope
            inner.locals["value"] = type
            for a in asserts { exprs.checkCondition(a, inner, what: "an assertion") }
            return type
        case .transform(let template):
            exprs.checkTemplate(template, scope)
            return .string
        case .map(let over, let variable, _, let sub):
            var element = ValueType.any
            if let over {
                let t = exprs.checkTemplate(over, scope)
                switch t {
                case .array(let el): element = el
                case .any: break
                default:
                    exprs.bag.add(Diagnostic(.typeMismatch, file: over.file ?? bag.file, span: over.span,
                                             message: "'over' must be a list to map over, found \(t.phrase)",
                                             hint: "reference a list: over: \"{{ plan.tasks }}\""))
                }
            }
            guard let sub else { return .array(.any) }
            let t = checkStep(sub, scope, &exprs, contracts: contracts, models: models,
                              locals: [variable.value: element, "index": .int])
            return .array(t)
        case .use(let alias, let with):
            return checkUse(alias, with, scope, &exprs)
        }
    }

    mutating func checkUse(_ alias: Workflow.Name?, _ with: [(name: Workflow.Name, value: EmbeddedText)],
                           _ scope: ExpressionChecker.Scope, _ exprs: inout ExpressionChecker) -> ValueType {
        let types = with.map { ($0.name, exprs.checkTemplate($0.value, scope)) }
        guard let alias else { return .any }
        guard let imp = workflow.imports.first(where: { $0.alias.value == alias.value }) else {
            exprs.bag.add(.unknownImport, alias.span, "unknown import '\(alias.value)'",
                          hint: Spelling.hint(alias.value, in: workflow.imports.map(\.alias.value))
                            ?? "declare it under 'imports:', e.g. \(alias.value): ./\(alias.value).yaml")
            return .any
        }
        guard let result = imported[imp.alias.value], let graph = result.graph else { return .any }
        let declared = graph.inputs
        for (name, type) in types {
            guard let input = declared.first(where: { $0.name == name.value }) else {
                exprs.bag.add(.unknownInput, name.span, "workflow '\(alias.value)' has no input '\(name.value)'",
                              hint: Spelling.hint(name.value, in: declared.map { $0.name })
                                ?? "its inputs are \(declared.map { $0.name }.joined(separator: ", "))")
                continue
            }
            if !Self.assignable(type, to: input.type) {
                exprs.bag.add(.importInputType, name.span, "input '\(name.value)' of '\(alias.value)' is \(input.type), but this gives \(type.phrase)")
            }
        }
        for input in declared where input.required && !types.contains(where: { $0.0.value == input.name }) {
            exprs.bag.add(.importInputMissing, alias.span, "workflow '\(alias.value)' needs input '\(input.name)'",
                          hint: "add it under 'with:'")
        }
        return graph.outputType
    }

    /// Whether a value of type `t` may be passed where `target` is expected. Text renders to a
    /// string, so a string target accepts anything printable.
    static func assignable(_ t: ValueType, to target: ValueType) -> Bool {
        switch (t, target) {
        case (.any, _), (_, .any), (_, .string(values: nil)): return true
        case (.string(let a), .string(let b?)): return a.map { Set($0).isSubset(of: b) } ?? true
        case (.int, .number): return true
        case (.array(let a), .array(let b)): return assignable(a, to: b)
        case (.object, .object): return true
        default: return t == target
        }
    }

    mutating func checkTests(index: [String: Int]) {
        let inputs = Dictionary(workflow.inputs.map { ($0.name.value, $0) }, uniquingKeysWith: { a, _ in a })
        for test in workflow.tests {
            for (name, value) in test.inputs {
                guard let input = inputs[name.value] else {
                    bag.add(.unknownInput, name.span, "test '\(test.name.value)' sets unknown input '\(name.value)'",
                            hint: Spelling.hint(name.value, in: inputs.keys.sorted()))
                    continue
                }
                if let error = JSONSchema(input.schema).validate(value).first {
                    bag.add(.typeMismatch, name.span, "test '\(test.name.value)': input '\(name.value)' does not match its schema: \(error.message)")
                }
            }
            for input in workflow.inputs where !input.hasDefault && !test.inputs.contains(where: { $0.name.value == input.name.value }) {
                bag.add(.missingKey, test.name.span, "test '\(test.name.value)' gives no value for required input '\(input.name.value)'")
            }
            for mock in test.mocks where index[mock.value] == nil {
                bag.add(.unknownStep, mock.span, "test '\(test.name.value)' mocks unknown step '\(mock.value)'",
                        hint: Spelling.hint(mock.value, in: index.keys.sorted()))
            }
        }
    }
}
