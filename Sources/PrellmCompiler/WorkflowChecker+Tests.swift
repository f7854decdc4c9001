import PrellmRegex
import PrellmSchema
import PrellmSyntax

/// The checks of `tests:` blocks: each test's inputs against their schemas, each mock against
/// the output of the step it stands in for, and each expectation against what the workflow can
/// give. A test that can never pass is found when the workflow compiles, not when it runs.
extension WorkflowChecker {
    /// What a mock must look like: the answer of the step it replaces.
    enum MockShape {
        case schema(JSONSchema)
        case type(ValueType)
        case list(of: ValueType, schema: JSONSchema?)
    }

    mutating func checkTests(
        index: [String: Int], steps: [CompiledStep], outputType: ValueType, at end: ExpressionChecker.Scope, _ exprs: inout ExpressionChecker
    ) -> [CompiledTest] {
        let inputs = Dictionary(workflow.inputs.map { ($0.name.value, $0) }, uniquingKeysWith: { a, _ in a })
        var compiled: [CompiledTest] = []
        var seen: [String: Span] = [:]
        for test in workflow.tests {
            if let first = seen[test.name.value] {
                bag.add(
                    .duplicateStepID, test.name.span, "test name '\(test.name.value)' is already used",
                    related: [.init(file: workflow.file, span: first, message: "first used here")])
            }
            seen[test.name.value] = test.name.span
            let name = test.name.value
            for (input, value) in test.inputs {
                guard let declared = inputs[input.value] else {
                    bag.add(
                        .unknownInput, input.span, "test '\(name)' sets unknown input '\(input.value)'",
                        hint: Spelling.hint(input.value, in: inputs.keys.sorted()))
                    continue
                }
                if let error = JSONSchema(declared.schema).validate(value).first {
                    bag.add(.typeMismatch, input.span, "test '\(name)': input '\(input.value)' does not match its schema: \(error.message)")
                }
            }
            for input in workflow.inputs where !input.hasDefault && !test.inputs.contains(where: { $0.name.value == input.name.value }) {
                bag.add(.missingKey, test.name.span, "test '\(name)' gives no value for required input '\(input.name.value)'")
            }
            var judgeMock: JSONValue?
            for mock in test.mocks {
                // `judge` answers the test's judge, unless a step has that id.
                if mock.step.value == "judge", index["judge"] == nil, test.expect.judge != nil {
                    if case .object(let o) = mock.value, case .bool? = o["pass"], o.keys.allSatisfy(["pass", "reason"].contains) {
                        judgeMock = mock.value
                    } else {
                        bag.add(.typeMismatch, mock.span, "test '\(name)': the judge's mock is {pass: true or false, reason: text}")
                    }
                    continue
                }
                guard let k = index[mock.step.value] else {
                    bag.add(
                        .unknownStep, mock.step.span, "test '\(name)' mocks unknown step '\(mock.step.value)'",
                        hint: Spelling.hint(mock.step.value, in: index.keys.sorted()))
                    continue
                }
                if !workflow.steps[k].unreadable { checkMock(mock.value, at: mock.span, step: steps[k], test: name) }
            }
            checkExpectation(test.expect, test: name, index: index, outputType: outputType)
            exprs.bag = bag
            let expect = compileExpectation(test.expect, index: index, outputType: outputType, at: end, &exprs)
            bag = exprs.bag
            compiled.append(
                CompiledTest(
                    name: name, span: test.name.span,
                    inputs: Dictionary(test.inputs.map { ($0.name.value, $0.value) }, uniquingKeysWith: { a, _ in a }),
                    mocks: Dictionary(test.mocks.compactMap { m in index[m.step.value].map { ($0, m.value) } }, uniquingKeysWith: { a, _ in a }),
                    expect: expect, judgeMock: judgeMock))
        }
        return compiled
    }

    /// The expectation as the runner checks it: assertions typed with `output` as local slot 0
    /// at the point the output is read, the pattern compiled, the contract and judge resolved.
    mutating func compileExpectation(
        _ e: Workflow.Expectation, index: [String: Int], outputType: ValueType, at end: ExpressionChecker.Scope,
        _ exprs: inout ExpressionChecker
    ) -> CompiledTest.Expectation {
        var out = CompiledTest.Expectation()
        out.succeeds = e.status != "failed"
        out.output = e.output?.value
        out.contains = e.contains
        out.matches = e.matches.flatMap { p in (try? PCRERegex(p)).map { (p, $0) } }
        out.steps = e.steps.compactMap { index[$0.value] }
        var inner = end
        _ = inner.bind("output", outputType)
        out.asserts = e.asserts.compactMap { exprs.checkCondition($0, inner, what: "a test's assertion") }
        out.schema = e.schema.flatMap { checkContract($0, into: &exprs) }
        (out.maxCostUSD, out.maxTokens, out.maxLatency) = (e.maxCostUSD, e.maxTokens, e.maxLatency)
        if let (model, rubric) = e.judge, let route = checkModel(model, into: &exprs) {
            out.judge = CompiledTest.Judge(route: route, rubric: rubric)
        }
        return out
    }

    mutating func checkMock(_ value: JSONValue, at span: Span, step: CompiledStep, test: String) {
        guard let shape = Self.mockShape(step.payload) else {
            bag.add(
                .badValue, span, "test '\(test)' mocks step '\(step.id)', which calls no model",
                hint: "mock the steps that call a model (classify, extract with a model, call); the others run as written")
            return
        }
        let problem: String?
        switch shape {
        case .schema(let schema): problem = schema.validate(value).first?.description
        case .type(let type): problem = type.mismatch(value)
        case .list(let element, let schema):
            guard case .array(let items) = value else {
                problem = "/: a map step is mocked with a list of its sub-step's answers, found \(value.typeName)"
                break
            }
            problem =
                items.enumerated().lazy.compactMap { i, item in
                    schema.map { s in s.validate(item).first.map { "/\(i)\($0.description)" } } ?? element.mismatch(item, at: "/\(i)")
                }.first
        }
        if let problem {
            bag.add(.typeMismatch, span, "test '\(test)': the mock for step '\(step.id)' is not an answer it can give: \(problem)")
        }
    }

    /// The answer a step gives, which its mock must match; nil for steps that call no model.
    static func mockShape(_ payload: Payload) -> MockShape? {
        switch payload {
        // A mocked classification needs its label; the confidence may be left out.
        case .classify(let c):
            .type(.object(.init(fields: [("label", .string(values: c.labels)), ("confidence", .number)], required: ["label"])))
        case .extract(let e): .schema(e.contract.validator)
        case .call(let c): c.output.map { .schema($0.validator) } ?? .type(.string)
        case .use(let u): .type(u.program.outputType)
        // They reach a context store: a test may stand in for what it holds.
        case .recall: .type(RecallStep.type)
        case .remember: .type(RememberStep.type)
        case .map(let m):
            switch mockShape(m.step.payload) {
            case .schema(let s)?: .list(of: m.step.type, schema: s)
            case .type(let t)?: .list(of: t, schema: nil)
            case .list?, nil: nil
            }
        case .pattern, .route, .validate, .transform: nil
        }
    }

    mutating func checkExpectation(_ expect: Workflow.Expectation, test: String, index: [String: Int], outputType: ValueType) {
        if let (value, span) = expect.output, let problem = outputType.mismatch(value) {
            bag.add(
                .typeMismatch, span, "test '\(test)' expects an output the workflow cannot give: \(problem)",
                hint: "the workflow's output is \(outputType.phrase)")
        }
        for step in expect.steps where index[step.value] == nil {
            bag.add(
                .unknownStep, step.span, "test '\(test)' expects unknown step '\(step.value)' to run",
                hint: Spelling.hint(step.value, in: index.keys.sorted()))
        }
    }
}
