import PrellmCompiler
import PrellmProviderKit
import PrellmRuntime
import PrellmSchema

/// A TestRunner runs a program's tests: each with its mocks in place, every other model call
/// answered from the chosen source, then every expectation checked against the run.
public struct TestRunner: Sendable {
    public let program: StepGraph
    /// The file as reports name it.
    public let file: String

    public init(program: StepGraph, file: String) {
        self.program = program
        self.file = file
    }

    /// Runs one test. `context` supplies the real models (for prices, and for `record` and
    /// `live`); the runner takes away the cache and puts the test's answers in.
    public func run(
        _ test: CompiledTest, variant: String? = nil, context base: RunContext, source: AnswerSource, cassette: Cassette?
    ) async -> TestOutcome {
        let access = TestModelAccess(base: base.models, source: source, cassette: cassette)
        var context = base
        context.models = access
        context.mocks = test.mocks
        context.cache = nil
        context.onText = nil
        context.onToolCall = nil
        context.onProgress = nil
        let result = await Interpreter(program).run(inputs: test.inputs, context: context)
        var cost = result.costUSD
        var tokens = result.usage.totalTokens
        var failures: [TestOutcome.Failure]
        var status: TestOutcome.Status = .passed
        // A call the cassette lacked matters only when the run failed for it: a fallback model
        // that was recorded may have answered instead.
        if let error = result.error, error.kind == .memory, base.memory == nil {
            // Tests reach no context store: a recall or remember step needs its mock.
            status = .error
            failures = [
                TestOutcome.Failure(
                    what: "answers", expected: "a mock for every recall and remember step (tests reach no context store)",
                    actual: "step '\(error.step ?? "?")' is not mocked: add it to the test's mocks, with the output it should give")
            ]
        } else if result.error != nil, !access.misses.withLock({ $0.isEmpty }) {
            // The test could not run as written: that is neither a pass nor a failure of the workflow.
            status = .error
            failures = [
                TestOutcome.Failure(
                    what: "answers", expected: "a mock or a recorded answer for every model step", actual: Self.describe(result.error))
            ]
        } else {
            failures = Expectations(program: program, test: test).check(result)
            if failures.isEmpty, let judge = test.expect.judge, result.error == nil {
                let verdict = await Judging.verdict(judge, output: result.output, test: test, context: context)
                failures += verdict.failures
                if verdict.unanswered { status = .error }
                tokens += verdict.usage.totalTokens
                cost = cost.flatMap { c in verdict.cost.map { c + $0 } }
            }
            if status != .error, !failures.isEmpty { status = .failed }
        }
        return TestOutcome(
            file: file, test: test.name, span: test.span, variant: variant, status: status, failures: failures, costUSD: cost, tokens: tokens,
            latency: result.elapsed)
    }

    static func describe(_ error: RunError?) -> String {
        guard let error else { return "the run ended without an answer for a step" }
        return (error.step.map { "step '\($0)': " } ?? "") + error.message
    }
}
