import PrellmProviderKit
import PrellmRuntime
import PrellmSchema
import Testing

@Suite struct InterpreterTests {
    static let triage = """
        prellm: 1
        inputs:
          query: string
        models:
          small: ollama/small
          large: {use: [openai/primary, anthropic/backup], policy: fallback, max_tokens: 200}
        contracts:
          Facts:
            type: object
            required: [target, missing]
            properties:
              target: {type: string}
              missing: {type: array, items: {type: string}}
        steps:
          - id: intent
            classify: {model: small, text: "{{ inputs.query }}", labels: [deploy, rollback]}
          - id: facts
            extract: {model: small, text: "{{ inputs.query }}", into: Facts}
          - id: router
            route:
              - if: intent.label == "rollback"
                then: refuse
              - else: answer
          - id: refuse
            transform: "No rollbacks today."
            next: end
          - id: answer
            call:
              model: large
              prompt: "Do {{ intent.label }} of {{ facts.target }}; missing {{ facts.missing | join(', ') }}"
        output: "{{ has(answer) ? answer : refuse | default('') }}"
        """

    @Test func classifyExtractRouteCall() async throws {
        let p = ScriptedProvider([
            "ollama/small": [
                .text(#"{"label": "Deploy", "confidence": 0.9}"#), .text("```json\n{\"target\": \"api\", \"missing\": \"region\"}\n```"),
            ],
            "openai/primary": [.text("Deploying api.")],
        ])
        let trace = MemoryTrace()
        var ctx = RunContext(models: ScriptedModels(provider: p), clock: ManualClock(), events: trace)
        ctx.cache = nil
        let r = try await interpreter(Self.triage).run(inputs: ["query": "ship the api"], context: ctx)
        #expect(r.error == nil, "\(String(describing: r.error))")
        #expect(r.output == "Deploying api.")
        #expect(r.steps.map(\.id) == ["intent", "facts", "router", "answer"])
        #expect(r.steps.map(\.status) == [.ok, .ok, .ok, .ok])
        #expect(r.usage.totalTokens == 45)
        #expect(r.costUSD == nil)  // no prices known: unknown, not zero
        let call = try #require(p.requests.last)
        #expect(call.model == "openai/primary")
        #expect(call.request.messages.first?.text == "Do deploy of api; missing region")
        #expect(call.request.maxTokens == 200)
        // The label was matched case-insensitively and the list coerced: both recorded.
        let repairs = trace.all.filter { $0["kind"] == "repair" }.flatMap { $0["repairs"]?.arrayValue ?? [] }
        #expect(repairs.contains("/label: matched \"Deploy\" to enum value \"deploy\""))
        #expect(repairs.contains("/missing: wrapped a single value in a list"))
    }

    /// A stream that breaks after part of its answer was shown is not retried nor handed to
    /// the fallback: the reader would get half of one answer glued to another. One that breaks
    /// before any text still falls back.
    @Test func aStreamCutAfterTextIsNotRetriedNorFallenBackFrom() async throws {
        let w = Self.oneCall(budget: "{}", large: "{use: [openai/primary, anthropic/backup], policy: fallback}")
        final class Shown: @unchecked Sendable { var text = "" }
        for (first, expected) in [(ScriptedProvider.Reply.cut("Half an ans"), nil as String?), (.cut(""), "Backup answer.")] {
            let p = ScriptedProvider(["openai/primary": [first], "anthropic/backup": [.text("Backup answer.")]])
            let shown = Shown()
            var ctx = RunContext(models: ScriptedModels(provider: p), clock: ManualClock())
            ctx.onText = { shown.text += $0 }
            let r = try await interpreter(w).run(inputs: ["query": "q"], context: ctx)
            if let expected {
                #expect(r.output == .string(expected))
                #expect(shown.text == expected)
            } else {
                #expect(r.error?.kind == .modelsFailed)
                #expect(r.error?.message.contains("after 11 characters of the answer had been sent") == true, "\(String(describing: r.error))")
                #expect(shown.text == "Half an ans")
                #expect(p.requests.map(\.model) == ["openai/primary"])
            }
        }
    }

    /// The model's own `timeout` cutting a stream after text was shown ends the call the same
    /// way: a retry would glue a second answer to the first half. (A real clock: the stand-in
    /// clock's sleeps end at once, before the stream has shown anything.)
    @Test func aModelTimeoutAfterTextIsNotRetried() async throws {
        let w = Self.oneCall(budget: "{}", large: "{use: [openai/primary, anthropic/backup], policy: fallback, timeout: 300ms}")
        final class Shown: @unchecked Sendable { var text = "" }
        let p = ScriptedProvider(["openai/primary": [.stall("Half")], "anthropic/backup": [.text("Backup answer.")]])
        let shown = Shown()
        var ctx = RunContext(models: ScriptedModels(provider: p), clock: SystemClock())
        ctx.onText = { shown.text += $0 }
        let r = try await interpreter(w).run(inputs: ["query": "q"], context: ctx)
        #expect(r.error?.kind == .modelsFailed)
        #expect(r.error?.message.contains("after 4 characters of the answer had been sent") == true, "\(String(describing: r.error))")
        #expect(shown.text == "Half")
        #expect(p.requests.map(\.model) == ["openai/primary"])
    }

    /// A step a re-ask may run again is not streamed: its first answer may be rejected.
    @Test func aStepThatARe_askCanRepeatIsNotStreamed() async throws {
        let w = """
            prellm: 1
            inputs:
              query: string
            steps:
              - id: answer
                call: {model: openai/primary, prompt: "{{ inputs.query }}"}
              - id: check
                validate:
                  value: "{{ answer }}"
                  assert: ["size(answer) > 5"]
                  on_fail: {retry: answer, attempts: 1}
            output: "{{ answer }}"
            """
        final class Shown: @unchecked Sendable { var text = "" }
        let p = ScriptedProvider(["openai/primary": [.text("No."), .text("Longer answer.")]])
        let shown = Shown()
        var ctx = RunContext(models: ScriptedModels(provider: p), clock: ManualClock())
        ctx.cache = nil
        ctx.onText = { shown.text += $0 }
        let r = try await interpreter(w).run(inputs: ["query": "q"], context: ctx)
        #expect(r.output == "Longer answer.", "\(String(describing: r.error))")
        #expect(shown.text.isEmpty)
        #expect(p.requests.count == 2)
    }

    /// A provider that reports no usage is charged an estimate, never more output than the
    /// request allowed (which is all that was reserved).
    @Test func aMissingUsageIsEstimatedWithinMaxTokens() async throws {
        let w = Self.oneCall(budget: "{}", large: "{use: openai/primary, max_tokens: 5}")
        let p = ScriptedProvider(["openai/primary": [.text(String(repeating: "word ", count: 400), usage: nil)]])
        let models = ScriptedModels(provider: p, prices: ["openai/primary": ModelPrice(input: 1, output: 1)])
        let r = try await interpreter(w).run(inputs: ["query": "q"], context: RunContext(models: models, clock: ManualClock()))
        #expect(r.error == nil)
        #expect(r.usage.outputTokens == 5)
    }

    @Test func fallbackAfterAServerError() async throws {
        let p = ScriptedProvider([
            "ollama/small": [.text(#"{"label": "deploy", "confidence": 1}"#), .text(#"{"target": "api", "missing": []}"#)],
            "openai/primary": [.error(ProviderError(provider: "openai", kind: .badRequest, status: 400, message: "nope"))],
            "anthropic/backup": [.text("Backup answer.")],
        ])
        let r = try await interpreter(Self.triage).run(
            inputs: ["query": "q"], context: RunContext(models: ScriptedModels(provider: p), clock: ManualClock()))
        #expect(r.output == "Backup answer.")
        #expect(r.steps.last?.modelUsed == "anthropic/backup")
    }

    @Test func retriesHonourRetryAfterOnTheControlledClock() async throws {
        let clock = ManualClock()
        let p = ScriptedProvider([
            "ollama/small": [.text(#"{"label": "deploy", "confidence": 1}"#), .text(#"{"target": "api", "missing": []}"#)],
            "openai/primary": [
                .error(ProviderError(provider: "openai", kind: .rateLimit, status: 429, retryAfter: .seconds(3), message: "slow down")),
                .error(ProviderError(provider: "openai", kind: .server, status: 500, message: "oops")),
                .text("Third time lucky."),
            ],
        ])
        var ctx = RunContext(models: ScriptedModels(provider: p), clock: clock, random: { 0.5 })
        ctx.cache = nil
        let r = try await interpreter(Self.triage).run(inputs: ["query": "q"], context: ctx)
        #expect(r.output == "Third time lucky.")
        // Retry-After wins for the 429; the 500 gets full jitter of base·2^1 = 2 s → 0.5 × 2 s.
        #expect(clock.sleeps == [.seconds(3), .seconds(1)])
        #expect(r.steps.last?.attempts == 3)
    }

    @Test func allModelsFailing() async throws {
        let p = ScriptedProvider([
            "ollama/small": [.text(#"{"label": "deploy", "confidence": 1}"#), .text(#"{"target": "api", "missing": []}"#)],
            "openai/primary": [.error(ProviderError(provider: "openai", kind: .auth, status: 401, message: "bad key"))],
            "anthropic/backup": [.error(ProviderError(provider: "anthropic", kind: .auth, status: 401, message: "bad key"))],
        ])
        let r = try await interpreter(Self.triage).run(
            inputs: ["query": "q"], context: RunContext(models: ScriptedModels(provider: p), clock: ManualClock()))
        #expect(r.error?.kind == .modelsFailed)
        #expect(r.error?.step == "answer")
        #expect(p.requests.filter { $0.model == "openai/primary" }.count == 1)  // auth errors are not retried
    }

    static let reask = """
        prellm: 1
        inputs:
          query: string
        models:
          large: openai/big
        contracts:
          Answer:
            type: object
            required: [summary, confidence]
            properties:
              summary: {type: string, minLength: 10}
              confidence: {type: number}
        steps:
          - id: draft
            call: {model: large, prompt: "{{ inputs.query }}", output: Answer}
          - id: checked
            validate:
              value: "{{ draft }}"
              contract: Answer
              assert: [value.confidence >= 0.5]
              on_fail: {retry: draft, attempts: 2}
        output: "{{ checked.summary }}"
        """

    @Test func validateReasksWithTheErrors() async throws {
        let p = ScriptedProvider([
            "openai/big": [
                .text(#"{"summary": "A long enough summary.", "confidence": 0.2}"#),
                .text(#"{"summary": "A long enough summary.", "confidence": 0.8}"#),
            ]
        ])
        var ctx = RunContext(models: ScriptedModels(provider: p), clock: ManualClock())
        ctx.cache = nil
        let r = try await interpreter(Self.reask).run(inputs: ["query": "q"], context: ctx)
        #expect(r.error == nil, "\(String(describing: r.error))")
        #expect(r.output == "A long enough summary.")
        let second = try #require(p.requests.last?.request.messages)
        #expect(second.count == 3)
        #expect(second[1].role == .assistant)
        #expect(second[2].text.contains("- assertion failed: value.confidence >= 0.5"))
    }

    @Test func validationExhausted() async throws {
        let p = ScriptedProvider(["openai/big": [.text(#"{"summary": "A long enough summary.", "confidence": 0.1}"#)]])
        var ctx = RunContext(models: ScriptedModels(provider: p), clock: ManualClock())
        ctx.cache = nil
        let r = try await interpreter(Self.reask).run(inputs: ["query": "q"], context: ctx)
        #expect(r.error?.kind == .validationFailed)
        #expect(r.error?.message.contains("after 2 re-asks") == true)
        #expect(p.requests.count == 3)
    }

    @Test func aTruncatedAnswerFailsFast() async throws {
        let p = ScriptedProvider(["openai/big": [.text(#"{"summary": "A long enough summary.", "confidence": 0.1}"#, finish: .length)]])
        var ctx = RunContext(models: ScriptedModels(provider: p), clock: ManualClock())
        ctx.cache = nil
        let r = try await interpreter(Self.reask).run(inputs: ["query": "q"], context: ctx)
        #expect(r.error?.kind == .truncated)
        #expect(p.requests.count == 1)
    }

    /// A workflow of one `call` to the model `large`, under a budget.
    static func oneCall(budget: String, large: String) -> String {
        """
        prellm: 1
        inputs:
          query: string
        budget: \(budget)
        models:
          large: \(large)
        steps:
          - id: answer
            call: {model: large, prompt: "{{ inputs.query }}"}
        """
    }

    @Test func budgetRefusesACallThatCouldExceedIt() async throws {
        let w = Self.oneCall(budget: "{max_usd: 0.001}", large: "{use: openai/gpt-4o, max_tokens: 1000}")
        let p = ScriptedProvider(["openai/gpt-4o": [.text("hi")]])
        let models = ScriptedModels(provider: p, prices: ["openai/gpt-4o": ModelPrice(input: 2.5, output: 10)])
        let r = try await interpreter(w).run(inputs: ["query": "q"], context: RunContext(models: models, clock: ManualClock()))
        #expect(r.error?.kind == .budgetExceeded)
        #expect(r.error?.message.contains("could cost $0.01") == true)
        #expect(p.requests.isEmpty)
        // The compiler knows the catalog's price; where the model access knows none (a config
        // that points the name elsewhere, say), the runtime refuses the call all the same.
        let unpriced = try await interpreter(w).run(
            inputs: ["query": "q"], context: RunContext(models: ScriptedModels(provider: p), clock: ManualClock()))
        #expect(unpriced.error?.message.contains("has no known price") == true)
    }

    /// A workflow's own `price` wins over what the model access knows (in the gateway, a served
    /// workflow runs with the gateway's model access, which has never seen the workflow's aliases).
    @Test func aWorkflowsOwnPriceIsUsed() async throws {
        let w = Self.oneCall(budget: "{max_usd: 1}", large: "{use: openai/gpt-7-turbo, max_tokens: 100, price: {input: 1, output: 2}}")
        let p = ScriptedProvider(["openai/gpt-7-turbo": [.text("hi", usage: Usage(inputTokens: 1000, outputTokens: 100))]])
        let r = try await interpreter(w).run(inputs: ["query": "q"], context: RunContext(models: ScriptedModels(provider: p), clock: ManualClock()))
        #expect(r.error == nil, "\(String(describing: r.error))")
        #expect(abs((r.costUSD ?? 0) - 0.0012) < 1e-15)
    }

    @Test func cacheHitsCostNothing() async throws {
        let w = """
            prellm: 1
            inputs:
              query: string
            steps:
              - id: answer
                call: {model: openai/big, prompt: "{{ inputs.query }}"}
            """
        let p = ScriptedProvider(["openai/big": [.text("cached answer")]])
        let ctx = RunContext(models: ScriptedModels(provider: p, prices: ["openai/big": ModelPrice(input: 1, output: 1)]), clock: ManualClock())
        let i = try interpreter(w)
        let first = await i.run(inputs: ["query": "q"], context: ctx)
        let second = await i.run(inputs: ["query": "q"], context: ctx)
        #expect(first.output == second.output)
        #expect(p.requests.count == 1)
        #expect(second.steps.first?.status == .cached)
        #expect(second.costUSD == 0)
    }

    @Test func mapKeepsOrderWithBoundedConcurrency() async throws {
        let w = """
            prellm: 1
            inputs:
              items: {type: array, items: {type: string}}
            steps:
              - id: each
                map:
                  over: "{{ inputs.items }}"
                  as: it
                  concurrency: 2
                  step:
                    transform: "{{ index }}:{{ it | upper }}"
            output: "{{ each | join(' ') }}"
            """
        let r = try await interpreter(w).run(
            inputs: ["items": .array(["a", "b", "c"])],
            context: RunContext(models: ScriptedModels(provider: ScriptedProvider([:])), clock: ManualClock()))
        #expect(r.output == "0:A 1:B 2:C")
    }

    @Test func patternExtractRunsNoModel() async throws {
        let w = """
            prellm: 1
            inputs:
              log: string
            steps:
              - id: ooms
                extract:
                  pattern: '(?m)^(?<pod>\\S+) OOMKilled$'
                  text: "{{ inputs.log }}"
            output: "{{ ooms.count }} {% for m in ooms.matches %}{{ m.pod }},{% endfor %}"
            """
        let r = try await interpreter(w).run(
            inputs: ["log": "api-1 OOMKilled\nok line\nweb-2 OOMKilled"],
            context: RunContext(models: ScriptedModels(provider: ScriptedProvider([:])), clock: ManualClock()))
        #expect(r.output == "2 api-1,web-2,")
    }

    @Test func inputsAreCheckedBeforeAnythingRuns() async throws {
        let p = ScriptedProvider([:])
        let r = try await interpreter(Self.triage).run(
            inputs: ["qeury": "x"], context: RunContext(models: ScriptedModels(provider: p), clock: ManualClock()))
        #expect(r.error?.kind == .invalidInput)
        #expect(r.error?.message == "unknown input 'qeury' (did you mean 'query'?)")
        #expect(p.requests.isEmpty)
    }
}

@Suite struct StepLimitTests {
    static func workflow(_ options: String, models: String = "large: {use: openai/big, max_tokens: 100}") -> String {
        """
        prellm: 1
        inputs:
          q: string
        models:
          \(models)
        steps:
          - id: answer
            call: {model: large, prompt: "{{ inputs.q }}"}
        \(options)
        output: "{{ answer }}"
        """
    }

    @Test func aStepBudgetCountsRetriesAndRefuses() async throws {
        let w = Self.workflow("    budget: {max_tokens: 250}\n    retry: {attempts: 3, backoff: 1ms, on: [bad_request]}")
        let p = ScriptedProvider([
            "openai/big": [
                .error(ProviderError(provider: "openai", kind: .badRequest, status: 400, message: "flaky")),
                .text("ok", usage: Usage(inputTokens: 100, outputTokens: 100)),
            ]
        ])
        var ctx = RunContext(models: ScriptedModels(provider: p), clock: ManualClock())
        ctx.cache = nil
        let ok = try await interpreter(w).run(inputs: ["q": "x"], context: ctx)
        // A 400 is retried here because `on:` says so; the retry then fits (no usage was charged).
        #expect(ok.error == nil, "\(String(describing: ok.error))")
        #expect(ok.output == "ok")
        #expect(p.requests.count == 2)
    }

    @Test func aStepBudgetRefusesACallThatCouldExceedIt() async throws {
        let w = Self.workflow("    budget: {max_tokens: 50}")
        let p = ScriptedProvider(["openai/big": [.text("never")]])
        let r = try await interpreter(w).run(inputs: ["q": "x"], context: RunContext(models: ScriptedModels(provider: p), clock: ManualClock()))
        #expect(r.error?.kind == .budgetExceeded)
        #expect(r.error?.message.hasPrefix("step 'answer''s token budget (50) would be exceeded") == true)
        #expect(p.requests.isEmpty)
    }

    @Test func aStepTimeoutCancelsTheCall() async throws {
        let w = Self.workflow("    timeout: 30s")
        let p = ScriptedProvider(["openai/big": [.hang]])
        let r = try await interpreter(w).run(inputs: ["q": "x"], context: RunContext(models: ScriptedModels(provider: p), clock: ManualClock()))
        #expect(r.error?.kind == .timeout)
        #expect(r.error?.message == "the step ran out of its time (30s)")
    }

    @Test func modelsWhosePromptDoesNotFitAreSkipped() async throws {
        let w = Self.workflow("", models: "large: {use: [openai/small-window, openai/big], max_tokens: 100}")
        let p = ScriptedProvider(["openai/big": [.text("big answer")], "openai/small-window": [.text("never")]])
        var models = ScriptedModels(provider: p)
        models.contextWindows = ["openai/small-window": 120]
        let r = try await interpreter(w).run(
            inputs: ["q": .string(String(repeating: "word ", count: 200))], context: RunContext(models: models, clock: ManualClock()))
        #expect(r.output == "big answer")
        #expect(p.requests.map(\.model) == ["openai/big"])
    }
}
