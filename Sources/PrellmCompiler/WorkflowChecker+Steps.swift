import PrellmSchema
import PrellmSyntax

/// The check of each step kind: its fields' templates and expressions at the step's point in
/// the flow, its model and contracts, its output type (docs/language.md, "Kinds and their
/// output types"), and the payload the program runs. A payload is nil when a field did not
/// check (the program is then not used).
extension WorkflowChecker {
    mutating func checkStep(
        _ step: Step, at position: Int, _ scope: ExpressionChecker.Scope, _ exprs: inout ExpressionChecker,
        index: [String: Int]
    ) -> (ValueType, Payload?) {
        let route = checkModel(step.model, into: &exprs)
        func template(_ t: EmbeddedText?) -> CompiledTemplate? { t.flatMap { exprs.checkTemplate($0, scope).template } }
        switch step.body {
        case .classify(_, let text, let labels, let instructions):
            let names = labels.map(\.value)
            let type = ValueType.object(
                .init(
                    fields: [("label", .string(values: names)), ("confidence", .number)],
                    required: ["label", "confidence"]))
            let text = template(text), instructions = template(instructions)
            guard let route, let text else { return (type, nil) }
            return (type, .classify(ClassifyStep(route: route, text: text, instructions: instructions, labels: names, type: type)))
        case .extractModel(_, let text, let into, let instructions):
            let contract = checkContract(into, into: &exprs)
            let text = template(text), instructions = template(instructions)
            guard let route, let text, let contract else { return (contract?.type ?? .any, nil) }
            return (
                contract.type,
                .extract(
                    ExtractStep(
                        route: route, text: text, instructions: instructions, contract: contract,
                        directive: Directive { PromptText.extract(schemaText: contract.schemaText) }))
            )
        case .extractPattern(_, let text, let regex):
            let groups = regex?.groupNames.map(\.name) ?? []
            let match = ValueType.object(.init(fields: [("match", .string)] + groups.map { ($0, .string) }, required: ["match"]))
            let type = ValueType.object(.init(fields: [("matches", .array(match)), ("count", .int)], required: ["matches", "count"]))
            guard let regex, let text = template(text) else { return (type, nil) }
            return (type, .pattern(PatternStep(regex: regex, text: text, groups: groups)))
        case .route(let branches, let otherwise):
            var checked: [RouteStep.Branch] = []
            for b in branches {
                if let c = exprs.checkCondition(b.condition, scope, what: "a route condition") {
                    checked.append(.init(condition: c, target: target(b.target.value, index)))
                }
            }
            var names: [String] = []
            for t in branches.map(\.target.value) + (otherwise.map { [$0.value] } ?? []) where !names.contains(t) { names.append(t) }
            let type = ValueType.object(.init(fields: [("target", .string(values: names))], required: ["target"]))
            let payload = RouteStep(branches: checked, otherwise: otherwise.map { target($0.value, index) } ?? .end, targetNames: names)
            return (type, .route(payload))
        case .call(_, let system, let prompt, let output):
            let system = template(system), prompt = template(prompt)
            let contract = output.flatMap { checkContract($0, into: &exprs) }
            let type = output == nil ? ValueType.string : contract?.type ?? .any
            guard let route, let prompt else { return (type, nil) }
            return (
                type,
                .call(
                    CallStep(
                        route: route, system: system, prompt: prompt, output: contract,
                        directive: contract.map { c in Directive { PromptText.callOutput(schemaText: c.schemaText) } }))
            )
        case .validate(let value, let name, let asserts, let onFail):
            let (valueType, valueTemplate) = value.map { exprs.checkTemplate($0, scope) } ?? (.any, nil)
            let contract = name.flatMap { checkContract($0, into: &exprs) }
            let type = name == nil ? valueType : contract?.type ?? .any
            var inner = scope
            _ = inner.bind("value", type)  // slot 0: the interpreter pushes the value before the assertions
            let conditions = asserts.compactMap { exprs.checkCondition($0, inner, what: "an assertion") }
            guard let valueTemplate else { return (type, nil) }
            if let contract, let value { checkConstant(valueTemplate, at: value, against: contract, into: &exprs) }
            var fail: ValidateStep.OnFail?
            // FlowAnalysis reports a retry target that is not an earlier step; such a step has no loop here.
            if let onFail, let retry = onFail.retry.flatMap({ index[$0.value] }), retry < position {
                fail = .init(retry: retry, attempts: onFail.attempts ?? 1)
            }
            return (type, .validate(ValidateStep(value: valueTemplate, contract: contract, asserts: conditions, onFail: fail)))
        case .transform(let t):
            return (.string, template(t).map { .transform(TransformStep(template: $0)) })
        case .map(let over, let variable, let concurrency, let maxItems, let sub):
            return checkMap(
                at: position, over: over, variable: variable, concurrency: concurrency, maxItems: maxItems, sub: sub, scope,
                &exprs, index: index)
        case .use(let alias, let with):
            return checkUse(alias, with, scope, &exprs)
        case .recall(let r):
            let context = template(r.context), query = template(r.query)
            checkEmbedding(r.embed, into: &exprs)
            guard let context, let query else { return (RecallStep.type, nil) }
            return (
                RecallStep.type,
                .recall(RecallStep(context: context, query: query, embed: r.embed?.value, topK: r.topK, minScore: r.minScore))
            )
        case .remember(let r):
            let context = template(r.context), text = template(r.text), source = template(r.source)
            checkEmbedding(r.embed, into: &exprs)
            guard let context, let text else { return (RememberStep.type, nil) }
            return (RememberStep.type, .remember(RememberStep(context: context, text: text, source: source, embed: r.embed?.value)))
        }
    }

    /// `embed:` is `provider/model` of a provider this file knows (ModelCatalogCheck says
    /// whether the catalog knows it as an embedding model).
    func checkEmbedding(_ name: Workflow.Name?, into exprs: inout ExpressionChecker) {
        guard let name else { return }
        _ = WorkflowDecoder.parseModel(name.value, name.span, providers: providers, into: &exprs.bag)
    }

    /// The sub-step of a map is checked where the map is, with its element as local slot 0 and
    /// `index` as slot 1. It may have its own `if:`; an item it skips gives null.
    mutating func checkMap(
        at position: Int, over: EmbeddedText?, variable: Workflow.Name, concurrency: Int, maxItems: Int?, sub: Step?,
        _ scope: ExpressionChecker.Scope, _ exprs: inout ExpressionChecker, index: [String: Int]
    ) -> (ValueType, Payload?) {
        var element = ValueType.any
        var overTemplate: CompiledTemplate?
        if let over {
            let (t, compiled) = exprs.checkTemplate(over, scope)
            overTemplate = compiled
            switch t {
            case .array(let el): element = el
            case .any: break
            default:
                exprs.bag.add(
                    Diagnostic(
                        .typeMismatch, file: over.file ?? bag.file, span: over.span,
                        message: "'over' must be a list to map over, found \(t.phrase)",
                        hint: "reference a list: over: \"{{ plan.tasks }}\""))
            }
        }
        guard let sub else { return (.array(.any), nil) }
        var inner = scope
        _ = inner.bind(variable.value, element)
        _ = inner.bind("index", .int)
        let condition = sub.options.condition.flatMap { exprs.checkCondition($0, inner, what: "the 'if' guard") }
        let (type, payload) = checkStep(sub, at: position, inner, &exprs, index: index)
        guard let overTemplate, let payload else { return (.array(type), nil) }
        let body = compiledStep(sub, index: position, payload: payload, type: type, condition: condition, next: .end)
        return (
            .array(type),
            .map(
                MapStep(
                    over: overTemplate, variable: variable.value, concurrency: concurrency, maxItems: maxItems,
                    maxItemsDeclared: maxItems != nil, step: body))
        )
    }

    mutating func checkUse(
        _ alias: Workflow.Name?, _ with: [(name: Workflow.Name, value: EmbeddedText)],
        _ scope: ExpressionChecker.Scope, _ exprs: inout ExpressionChecker
    ) -> (ValueType, Payload?) {
        let values = with.map { ($0.name, exprs.checkTemplate($0.value, scope)) }
        guard let alias else { return (.any, nil) }
        guard let imp = workflow.imports.first(where: { $0.alias.value == alias.value }) else {
            exprs.bag.add(
                .unknownImport, alias.span, "unknown import '\(alias.value)'",
                hint: Spelling.hint(alias.value, in: workflow.imports.map(\.alias.value))
                    ?? "declare it under 'imports:', e.g. \(alias.value): ./\(alias.value).yaml")
            return (.any, nil)
        }
        guard let program = imported[imp.alias.value]?.graph else { return (.any, nil) }
        let declared = program.inputs
        var given: [(input: Int, value: CompiledTemplate, asText: Bool)] = []
        for (name, (type, template)) in values {
            guard let position = program.inputIndex[name.value] else {
                exprs.bag.add(
                    .unknownInput, name.span, "workflow '\(alias.value)' has no input '\(name.value)'",
                    hint: Spelling.hint(name.value, in: declared.map(\.name))
                        ?? "its inputs are \(declared.map(\.name).joined(separator: ", "))")
                continue
            }
            let input = declared[position]
            if !Self.assignable(type, to: input.type) {
                exprs.bag.add(
                    .importInputType, name.span, "input '\(name.value)' of '\(alias.value)' is \(input.type), but this gives \(type.phrase)")
            } else if let template, let (value, _) = ConstantCheck.value(of: template, constants: constants) {
                // Text given to a string input arrives as text (`40` as "40").
                let instance = input.type == .string && !type.isStringLike ? JSONValue.string(template.source.value) : value
                if let problem = input.validator.validate(instance).first {
                    exprs.bag.add(
                        .constantNeverPasses, name.span,
                        "input '\(name.value)' of '\(alias.value)' never accepts \(ConstantCheck.shown(instance)): \(problem)")
                }
            }
            if let template { given.append((position, template, input.type == .string && !type.isStringLike)) }
        }
        for input in declared where input.isRequired && !values.contains(where: { $0.0.value == input.name }) {
            exprs.bag.add(
                .importInputMissing, alias.span, "workflow '\(alias.value)' needs input '\(input.name)'",
                hint: "add it under 'with:'")
        }
        return (program.outputType, .use(UseStep(alias: alias.value, program: program, with: given)))
    }

    /// A validate step whose value is a constant either always passes its contract or never:
    /// never is an error at the value.
    func checkConstant(_ template: CompiledTemplate, at text: EmbeddedText, against contract: CompiledContract, into exprs: inout ExpressionChecker) {
        guard let (value, step) = ConstantCheck.value(of: template, constants: constants),
            let instance = ConstantCheck.instance(value, wantsText: contract.wantsText),
            let problem = contract.problems(instance).first
        else { return }
        let origin = step.map { " (step '\(workflow.steps[$0].id.value)' always gives it)" } ?? ""
        exprs.bag.add(
            Diagnostic(
                .constantNeverPasses, file: text.file ?? bag.file, span: text.span,
                message: "this value is always \(ConstantCheck.shown(value))\(origin), which can never pass contract '\(contract.name)': \(problem)",
                hint: step == nil ? "a value without {{ }} is the same on every run; reference a step: \"{{ step_id }}\"" : nil))
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

    /// The route of a step's model: its alias's, or a route to the `provider/model` it names.
    mutating func checkModel(_ name: Workflow.Name?, into exprs: inout ExpressionChecker) -> ModelRoute? {
        guard let name else { return nil }
        if name.value.contains("/") {
            return WorkflowDecoder.parseModel(name.value, name.span, providers: providers, into: &exprs.bag).map(ModelRoute.init(direct:))
        }
        if let route = routes[name.value] { return route }
        exprs.bag.add(
            .unknownModel, name.span, "unknown model '\(name.value)'",
            hint: Spelling.hint(name.value, in: aliases.keys.sorted())
                ?? (aliases.isEmpty
                    ? "declare it under 'models:', or name a model directly: openai/gpt-4o-mini"
                    : "models are \(aliases.keys.sorted().joined(separator: ", "))"))
        return nil
    }

    func checkContract(_ name: Workflow.Name?, into exprs: inout ExpressionChecker) -> CompiledContract? {
        guard let name else { return nil }
        if let c = contracts[name.value] { return c }
        exprs.bag.add(
            .unknownContract, name.span, "unknown contract '\(name.value)'",
            hint: Spelling.hint(name.value, in: contracts.keys.sorted())
                ?? (contracts.isEmpty ? "declare it under 'contracts:'" : "contracts are \(contracts.keys.sorted().joined(separator: ", "))"))
        return nil
    }
}
