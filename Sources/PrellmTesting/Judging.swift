import PrellmCompiler
import PrellmProviderKit
import PrellmRuntime
import PrellmSchema

/// A test's judge: a model asked whether the output meets the rubric, answering
/// `{"pass": bool, "reason": string}` through the same router as any call, so its cost counts
/// and its answer can be recorded and replayed.
enum Judging {
    struct Verdict {
        var failures: [TestOutcome.Failure]
        var usage: Usage
        var cost: Double?
        /// True when no verdict could be had (no recorded answer, a provider error): the test is an error.
        var unanswered: Bool
    }

    static let schema: JSONValue = .object([
        "type": "object",
        "properties": .object(["pass": .object(["type": "boolean"]), "reason": .object(["type": "string"])]),
        "required": .array(["pass", "reason"]), "additionalProperties": false,
    ])

    /// A verdict `{pass, reason}` as the test's outcome.
    static func verdict(_ v: JSONValue, judge: CompiledTest.Judge, usage: Usage, cost: Double?) -> Verdict {
        let pass = v["pass"] == .bool(true)
        let reason = v["reason"]?.stringValue ?? ""
        return Verdict(
            failures: pass ? [] : [.init(what: "judge", expected: judge.rubric, actual: "fails: \(reason)")], usage: usage, cost: cost,
            unanswered: false)
    }

    static func verdict(_ judge: CompiledTest.Judge, output: JSONValue, test: CompiledTest, context: RunContext) async -> Verdict {
        if let mock = test.judgeMock {
            return verdict(mock, judge: judge, usage: Usage(inputTokens: 0, outputTokens: 0), cost: 0)
        }
        let text = output.stringValue ?? output.prettyJSONText
        var call = ModelRouter.Call(
            step: "judge", route: judge.route,
            system:
                "You grade an answer against a rubric. Reply with only a JSON object: {\"pass\": true or false, \"reason\": one sentence}.",
            messages: [.user("Rubric:\n\(judge.rubric)\n\nAnswer:\n\(text)")], traceID: "test")
        call.format = .jsonSchema(name: "verdict", schema: schema)
        let ledger = RunLedger(budget: nil, allowance: nil, started: context.clock.now)
        do {
            let out = try await ModelRouter(context: context).call(call, ledger: ledger)
            guard let v = try? JSONParser.parse(out.response.text), case .bool? = v["pass"] else {
                return Verdict(
                    failures: [.init(what: "judge", expected: "a verdict {pass, reason}", actual: Expectations.excerpt(out.response.text))],
                    usage: out.usage, cost: out.cost, unanswered: false)
            }
            return verdict(v, judge: judge, usage: out.usage, cost: out.cost)
        } catch {
            // No verdict (no recorded answer, an outage) says nothing of the output: an error.
            return Verdict(
                failures: [.init(what: "judge", expected: "a verdict from \(judge.route.models.joined(separator: ", "))", actual: error.message)],
                usage: Usage(inputTokens: 0, outputTokens: 0), cost: 0, unanswered: true)
        }
    }
}
