import PrellmCompiler
import PrellmRuntime
import PrellmSchema

/// Checks a test's expectations against its run, each failure with what was expected and
/// what happened.
struct Expectations {
    let program: StepGraph
    let test: CompiledTest

    typealias Failure = TestOutcome.Failure

    func check(_ result: RunResult) -> [Failure] {
        let e = test.expect
        switch (e.succeeds, result.error) {
        case (true, let error?): return [Failure(what: "status", expected: "ok", actual: "failed: " + TestRunner.describe(error))]
        case (false, nil): return [Failure(what: "status", expected: "failed", actual: "ok, with output \(result.output.jsonText)")]
        case (false, _?): return budgets(result)
        case (true, nil): break
        }
        let output = result.output
        let text = output.stringValue ?? output.jsonText
        var failures: [Failure] = []
        if let want = e.output, want != output {
            failures.append(Failure(what: "output", expected: want.jsonText, actual: output.jsonText))
        }
        if let c = e.contains, !text.contains(c) {
            failures.append(Failure(what: "contains", expected: "the output contains \(JSONValue.string(c).jsonText)", actual: Self.excerpt(text)))
        }
        if let (pattern, regex) = e.matches, !regex.matches(text) {
            failures.append(Failure(what: "matches", expected: "the output matches /\(pattern)/", actual: Self.excerpt(text)))
        }
        let ran = Set(result.steps.filter { $0.status == .ok || $0.status == .cached }.map(\.id))
        for k in e.steps where !ran.contains(program.steps[k].id) {
            failures.append(Failure(what: "steps", expected: "step '\(program.steps[k].id)' runs", actual: "it did not run"))
        }
        failures += assertions(result)
        if let contract = e.schema {
            let problems = contract.problems(output)
            if !problems.isEmpty {
                failures.append(Failure(what: "schema", expected: "the output meets \(contract.name)", actual: problems.joined(separator: "; ")))
            }
        }
        return failures + budgets(result)
    }

    /// Cost, tokens and time: a regression in any of them fails the test, even one that
    /// expects the run to fail.
    func budgets(_ result: RunResult) -> [Failure] {
        let e = test.expect
        var failures: [Failure] = []
        if let most = e.maxCostUSD {
            if let cost = result.costUSD {
                if cost > most {
                    failures.append(Failure(what: "max_cost_usd", expected: "at most \(TestReport.money(most))", actual: TestReport.money(cost)))
                }
            } else {
                failures.append(
                    Failure(what: "max_cost_usd", expected: "at most \(TestReport.money(most))", actual: "unknown (a model without a price answered)")
                )
            }
        }
        if let most = e.maxTokens, result.usage.totalTokens > most {
            failures.append(Failure(what: "max_tokens", expected: "at most \(most) tokens", actual: "\(result.usage.totalTokens) tokens"))
        }
        if let most = e.maxLatency, result.elapsed > most {
            failures.append(Failure(what: "max_latency", expected: "at most \(most)", actual: "\(result.elapsed)"))
        }
        return failures
    }

    /// The assertions, over the run's step outputs and `output` (local slot 0).
    func assertions(_ result: RunResult) -> [Failure] {
        guard !test.expect.asserts.isEmpty else { return [] }
        let interpreter = Interpreter(program)
        guard let inputs = try? interpreter.prepareInputs(test.inputs) else { return [] }
        var outputs = [JSONValue?](repeating: nil, count: program.steps.count)
        let byID = Dictionary(program.steps.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { a, _ in a })
        for r in result.steps where r.status == .ok || r.status == .cached {
            if let k = byID[r.id] { outputs[k] = r.output }
        }
        let scope = Evaluator.Scope(inputs: inputs, names: program.inputs.map(\.name), steps: outputs, locals: [result.output])
        let evaluator = Evaluator()
        return test.expect.asserts.compactMap { a -> Failure? in
            do throws(Evaluator.EvaluationError) {
                let v = try evaluator.evaluate(a.expr, scope)
                return Evaluator.truthy(v) ? nil : Failure(what: "assert", expected: a.text, actual: "false")
            } catch {
                return Failure(what: "assert", expected: a.text, actual: "error: \(error.message)")
            }
        }
    }

    /// Long text shortened for a report line.
    static func excerpt(_ s: String) -> String {
        s.count <= 300 ? JSONValue.string(s).jsonText : JSONValue.string(String(s.prefix(300)) + "…").jsonText
    }
}
