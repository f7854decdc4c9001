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

    mutating func checkTests(index: [String: Int], steps: [CompiledStep], outputType: ValueType) {
        let inputs = Dictionary(workflow.inputs.map { ($0.name.value, $0) }, uniquingKeysWith: { a, _ in a })
        for test in workflow.tests {
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
            for mock in test.mocks {
                guard let k = index[mock.step.value] else {
                    bag.add(
                        .unknownStep, mock.step.span, "test '\(name)' mocks unknown step '\(mock.step.value)'",
                        hint: Spelling.hint(mock.step.value, in: index.keys.sorted()))
                    continue
                }
                if !workflow.steps[k].unreadable { checkMock(mock.value, at: mock.span, step: steps[k], test: name) }
            }
            checkExpectation(test.expect, test: name, index: index, outputType: outputType)
        }
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
