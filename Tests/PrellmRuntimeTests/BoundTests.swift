import Foundation
import PrellmCompiler
import PrellmProviderKit
import PrellmRuntime
import PrellmSchema
import PrellmSyntax
import Synchronization
import Testing

/// The cost bound and the reservations that hold a run to it.
@Suite struct BoundTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("testdata/plans")

    /// A provider that answers every call after a real pause, with usage equal to what the call
    /// reserved, so that calls overlap and each costs exactly its worst case.
    final class Slow: ChatProvider {
        let name = "slow"
        private let count = Counter()
        var made: Int { count.value }
        func complete(_ request: ChatRequest) async throws(ProviderError) -> ChatResponse {
            count.increment()
            try? await Task.sleep(for: .milliseconds(20))
            let prompt = TokenEstimate.promptTokens(request)
            return ChatResponse(
                model: request.model, text: "ok", finishReason: .stop,
                usage: Usage(inputTokens: prompt, outputTokens: request.maxTokens ?? 0))
        }
        func stream(_ request: ChatRequest) -> AsyncThrowingStream<ChatDelta, any Error> { AsyncThrowingStream { $0.finish() } }
    }

    struct SlowModels: ModelAccess {
        let provider: Slow
        func provider(for model: String) throws(ProviderError) -> (provider: any ChatProvider, model: String) { (provider, model) }
        func price(for model: String) -> ModelPrice? { nil }
        func capabilities(for model: String) -> ModelCapabilities? { ModelCapabilities() }
    }

    static func runSlow(
        _ w: String, _ inputs: [String: JSONValue], file: String = "/tmp/prellm-runtime-test/w.yaml"
    ) async throws -> (RunResult, Slow) {
        let provider = Slow()
        var context = RunContext(models: SlowModels(provider: provider))
        context.cache = nil
        return (try await interpreter(w, file: file).run(inputs: inputs, context: context), provider)
    }

    /// Sixteen calls at once under a budget that affords five: five are made. Without
    /// reservations each would have seen nothing spent and all sixteen would have gone out.
    @Test func aConcurrentMapMakesOnlyTheCallsItsBudgetAffords() async throws {
        let w = """
            prellm: 1
            inputs:
              items: {type: array, maxItems: 20, items: {type: string}}
            budget: {max_usd: 0.00055}
            models:
              m: {use: openai/slow, max_tokens: 100, price: {input: 1, output: 1}}
            steps:
              - id: each
                map:
                  over: "{{ inputs.items }}"
                  concurrency: 16
                  step:
                    call: {model: m, prompt: "{{ item }}"}
                    retry: 0
            """
        // Each call: a 1-byte prompt is at most 6 tokens (1 + 1 + 4 for its turn), plus 100 out:
        // $0.000106 at $1/M.
        let (r, provider) = try await Self.runSlow(w, ["items": .array((0..<20).map { _ in "a" })])
        #expect(provider.made == 5)
        #expect(r.error?.kind == .budgetExceeded, "\(String(describing: r.error))")
        #expect((r.costUSD ?? 1) <= 0.00055)
        #expect(abs((r.costUSD ?? 0) - 5 * 0.000106) < 1e-12)
    }

    /// The plan of a map, an import and a validate re-ask, with its bound written out per step,
    /// against the files beside the workflow (PRELLM_UPDATE_GOLDEN=1 rewrites them).
    @Test func thePlanOfAMapAnImportAndAReask() throws {
        let file = Self.folder.appendingPathComponent("map-import-reask.yaml")
        let result = WorkflowCompiler().compile(path: file.path)
        #expect(result.diagnostics.isEmpty, "\(DiagnosticRenderer.text(result.diagnostics, sources: result.sources))")
        let program = try #require(result.graph)
        let inputs: [String: JSONValue] = ["article": "Prices rose in May.", "topics": .array(["rent", "food"])]
        let plan = DryRunPlan(program, inputs: inputs, models: ScriptedModels(provider: ScriptedProvider([:])))
        try Self.golden(plan.text, "map-import-reask.plan")
        try Self.golden(plan.json.prettyJSONText + "\n", "map-import-reask.plan.json")
        // Spot checks of the arithmetic, by hand. notes: 2 items × (1 + retry 1) attempts.
        let notes = try #require(plan.bound.steps.first { $0.id == "notes" })
        #expect(notes.maxCalls == 4)
        // draft: 2 models × 3 attempts × 2 (its own re-ask) × 3 (once, and 2 validate re-asks).
        let draft = try #require(plan.bound.steps.first { $0.id == "draft" })
        #expect(draft.maxCalls == 36)
        // short: the import's one call, 3 attempts.
        #expect(plan.bound.steps.first?.maxCalls == 3)
        #expect(plan.bound.maxCalls == 3 + 4 + 36)
    }

    static func golden(_ actual: String, _ name: String) throws {
        let url = folder.appendingPathComponent(name)
        if ProcessInfo.processInfo.environment["PRELLM_UPDATE_GOLDEN"] != nil {
            try actual.write(to: url, atomically: true, encoding: .utf8)
        }
        let expected = try String(contentsOf: url, encoding: .utf8)
        #expect(actual == expected, "\(name) differs from its golden file:\n\(actual)")
    }

    /// A map of one call per item of an input list, with the map's options.
    static func map(options: String = "") -> String {
        """
        prellm: 1
        inputs:
          items: {type: array, items: {type: string}}
        steps:
          - id: each
            map:
              over: "{{ inputs.items }}"
              \(options)
              step:
                call: {model: openai/m, prompt: "{{ item }}"}
        """
    }

    /// A map step's budget holds for all its items together, not for each one.
    @Test func aMapStepsBudgetCoversAllItsItems() async throws {
        let w = """
            prellm: 1
            inputs:
              items: {type: array, maxItems: 5, items: {type: string}}
            models:
              m: {use: openai/slow, max_tokens: 100}
            steps:
              - id: each
                budget: {max_tokens: 250}
                map:
                  over: "{{ inputs.items }}"
                  step:
                    call: {model: m, prompt: "{{ item }}"}
                    retry: 0
            """
        // Each call reserves and is charged 105 tokens: two fit in 250, the third does not.
        let (r, provider) = try await Self.runSlow(w, ["items": .array(["a", "b", "c", "d", "e"])])
        #expect(provider.made == 2)
        #expect(r.error?.kind == .budgetExceeded)
        #expect(r.error?.message.contains("map 'each''s token budget (250) would be exceeded") == true, "\(String(describing: r.error))")
    }

    /// An imported workflow's own budget still holds when another workflow runs it.
    @Test func anImportedWorkflowsBudgetIsEnforced() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("prellm-bound-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManagerShim.write(
            dir + "/lib.yaml",
            """
            prellm: 1
            inputs:
              text: string
            budget: {max_tokens: 250}
            models:
              m: {use: openai/slow, max_tokens: 100}
            steps:
              - {id: one, call: {model: m, prompt: "{{ inputs.text }}"}, retry: 0}
              - {id: two, call: {model: m, prompt: "{{ inputs.text }}"}, retry: 0}
              - {id: three, call: {model: m, prompt: "{{ inputs.text }}"}, retry: 0}
            output: "{{ three }}"
            """)
        let main = """
            prellm: 1
            inputs:
              q: string
            imports:
              lib: lib.yaml
            steps:
              - id: run
                use: {workflow: lib, with: {text: "{{ inputs.q }}"}}
            output: "{{ run }}"
            """
        let (r, provider) = try await Self.runSlow(main, ["q": "a"], file: dir + "/main.yaml")
        #expect(provider.made == 2)
        #expect(r.error?.kind == .budgetExceeded, "\(String(describing: r.error))")
    }

    /// A map over more items than its bound is refused before any item runs.
    @Test func aMapPastItsMaxItemsIsRefused() async throws {
        let w = Self.map(options: "max_items: 2")
        let p = ScriptedProvider(["openai/m": [.text("ok")]])
        let r = try await interpreter(w).run(
            inputs: ["items": .array(["a", "b", "c"])], context: RunContext(models: ScriptedModels(provider: p), clock: ManualClock()))
        #expect(r.error?.message == "the map would run over 3 items, but its max_items is 2")
        #expect(p.requests.isEmpty)
    }

    /// Without a bound on a map's items a plan has no bound on its calls, and says why.
    @Test func anUnboundedMapIsUnboundedInThePlan() throws {
        let w = Self.map()
        let program = try interpreter(w).program
        let plan = program.costBound(CostContext(schemasOf: program, price: { _ in ModelPrice(input: 1, output: 1) }))
        #expect(plan.maxCalls == nil)
        #expect(plan.unboundedCalls.first?.contains("add max_items to the map") == true)
        // Known inputs bound it.
        let known = program.costBound(
            CostContext(program: program, inputs: ["items": .array(["a", "b"])], price: { _ in ModelPrice(input: 1, output: 1) }))
        #expect(known.maxCalls == 6)
    }
}

final class Counter: Sendable {
    private let n = Mutex(0)
    func increment() { n.withLock { $0 += 1 } }
    var value: Int { n.withLock { $0 } }
}
