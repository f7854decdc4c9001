import Foundation
import Prellm
import PrellmCompiler
import PrellmMemory
import PrellmProviderKit
import PrellmProviders
import PrellmRuntime
import PrellmSchema
import ProviderStandIn
import Testing

/// Runs that reach a named context: a real embedded store, embeddings and chat answers from a
/// loopback stand-in in each provider's wire format, and what the run recalled, charged and traced.
@Suite struct RecallRunTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let model = "openai/text-embedding-3-small"
    static let dimensions = 64
    static let conventions = root.appendingPathComponent("workflows/contexts/team-conventions.md").path

    /// A store in a temporary file holding the shipped conventions as `name`, embedded as the
    /// stand-in embeds (Reply.wordEmbeddings), with `model` recorded.
    static func store(named name: String = "team-conventions", model: String = model) async throws -> (SQLiteContextStore, String) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("prellm-recall-\(UUID().uuidString).sqlite").path
        let store = try SQLiteContextStore(path: path)
        let chunks = try Chunker().chunks(
            of: try String(contentsOfFile: conventions, encoding: .utf8), source: "team-conventions.md", format: .markdown)
        try await store.add(chunks, vectors: chunks.map { Reply.wordVector($0.text, dimensions: dimensions) }, to: name, model: model)
        return (store, path)
    }

    static let plan = #"{"intent": "tidy the errors", "target": "read", "constraints": ["catch OSError, not a bare except"], "missing": []}"#

    /// The worked example: the conventions that bear on the request are recalled, reach both
    /// models' prompts, are traced by source and score, and their embedding is charged exactly.
    @Test func theWorkedExampleRecallsTheTeamsConventions() async throws {
        let (store, path) = try await Self.store()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let standIn = try ScriptedStandIn([
            "text-embedding-3-small": [Reply.wordEmbeddings(dimensions: Self.dimensions)],
            "qwen2.5-coder:7b": [Reply.ollama(Self.plan, promptTokens: 300, evalTokens: 30)],
            "gpt-4o": [Reply.openAI("def read(p: str) -> str | None: ...", promptTokens: 400, completionTokens: 50)],
        ])
        let trace = MemoryTrace()
        let inputs: [String: JSONValue] = ["request": "tidy up the errors: never catch a bare except", "code": "try:\n    run()\nexcept:\n    pass"]
        let result = try await Prellm.run(
            workflowAt: Self.root.appendingPathComponent("workflows/refactor-with-conventions.yaml"), inputs: inputs,
            environment: standIn.environment
        ) {
            $0.memory = store
            $0.cache = nil
            $0.events = trace
        }
        #expect(result.error == nil, "\(String(describing: result.error))")
        let recall = try #require(result.steps.first { $0.id == "conventions" })
        let first = try #require(recall.output?["chunks"]?[0])
        #expect(first["text"]?.stringValue?.contains("bare `except:`") == true, "\(recall.output?.jsonText ?? "")")
        #expect(first["source"]?.stringValue?.hasPrefix("team-conventions.md:") == true)
        #expect(recall.modelUsed == Self.model)

        // The embeddings request went out in OpenAI's wire format, and the recalled text reached the small model.
        let embedding = try #require(standIn.requests.first { $0.path == "/v1/embeddings" })
        #expect(embedding.bodyText.contains("never catch a bare except"))
        let small = try #require(standIn.requests.first { $0.path == "/api/chat" })
        #expect(small.bodyText.contains("catch the narrowest exception"))

        // Traced by source and score, not by text; charged at usage × price.
        let event = try #require(
            trace.recorded.lazy.compactMap { e -> MemoryEvent? in if case .memory(let m) = e { m } else { nil } }.first)
        guard case .recalled(let chunks) = event.kind else { Issue.record("not a recall: \(event)"); return }
        #expect(chunks.count == recall.output?["count"]?.int && chunks.first?.source == "team-conventions.md")
        let line = try #require(trace.all.first { $0["kind"] == "recall" })
        #expect(line["context"] == "team-conventions" && line["chunks"]?[0]?["text"] == nil && line["chunks"]?[0]?["score"] != nil)
        let price = try #require(ModelCatalog.builtin.entry(for: Self.model)?.price)
        let words = inputs["request"]!.stringValue!.split(separator: " ").count + inputs["code"]!.stringValue!.split(separator: " ").count
        #expect(event.usage.inputTokens > 0 && event.usage.inputTokens <= words + 2)
        #expect(recall.costUSD == price.cost(of: event.usage))
        let total = result.steps.compactMap(\.costUSD).reduce(0, +)
        #expect(abs((result.costUSD ?? -1) - total) < 1e-12)
        // Within the bound the dry run shows for these inputs.
        let program = try #require(
            WorkflowCompiler().compile(path: Self.root.appendingPathComponent("workflows/refactor-with-conventions.yaml").path).graph)
        let bound = DryRunPlan(program, inputs: inputs, models: CatalogModelAccess(directory: ProviderDirectory(environment: [:]), program: program))
            .bound
        #expect((result.costUSD ?? .infinity) <= (bound.maxCostUSD ?? 0))
        #expect(bound.steps[0].maxTokens.map { $0 >= event.usage.inputTokens } == true)
    }

    /// A context that is not there stops the run before anything is sent, naming those that are.
    @Test func aMissingContextNamesTheOnesThatExist() async throws {
        let (store, path) = try await Self.store()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let standIn = try ScriptedStandIn([:])
        let result = try await Prellm.run(
            workflowAt: Self.root.appendingPathComponent("workflows/refactor-with-conventions.yaml"),
            inputs: ["request": "tidy", "code": "x = 1", "context": "team-convention"], environment: standIn.environment
        ) { $0.memory = store }
        #expect(result.error?.kind == .memory)
        #expect(result.error?.message == "no context named 'team-convention'; contexts: team-conventions")
        #expect(standIn.requests.isEmpty)
    }

    /// A context built with another model than the step names is refused, not searched with garbage.
    @Test func anotherModelsContextIsRefused() async throws {
        let (store, path) = try await Self.store(model: "ollama/nomic-embed-text")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let standIn = try ScriptedStandIn([:])
        let result = try await Prellm.run(
            workflowAt: Self.root.appendingPathComponent("workflows/refactor-with-conventions.yaml"),
            inputs: ["request": "tidy", "code": "x = 1"], environment: standIn.environment
        ) { $0.memory = store }
        #expect(
            result.error?.message
                == "context 'team-conventions' was embedded with ollama/nomic-embed-text, but the step names embed: openai/text-embedding-3-small")
        #expect(standIn.requests.isEmpty)
    }

    /// The one-shot strategies recall from a named context: `context:` in the Swift API.
    @Test func preprocessAndExecuteRecallsFromANamedContext() async throws {
        let (store, path) = try await Self.store()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let standIn = try ScriptedStandIn([
            "text-embedding-3-small": [Reply.wordEmbeddings(dimensions: Self.dimensions)],
            "tiny": [Reply.ollama(#"{"intent": "flash", "target": "the board", "constraints": [], "missing": []}"#)],
            "gpt-4o-mini": [Reply.openAI("Run flash.py on Monday.")],
        ])
        let result = try await Prellm.preprocessAndExecute(
            query: "can I flash the firmware by hand on Friday?", small: "ollama/tiny", large: "openai/gpt-4o-mini", strategy: .structure,
            context: "team-conventions", environment: standIn.environment
        ) {
            $0.memory = store
            $0.cache = nil
        }
        #expect(result.error == nil, "\(String(describing: result.error))")
        #expect(result.steps.map(\.id) == ["recalled", "facts", "answer"])
        let large = try #require(standIn.requests.last { $0.path == "/v1/chat/completions" })
        #expect(large.bodyText.contains("never on Fridays"), "\(large.bodyText)")
        await #expect(throws: Prellm.CompileError.self) {
            _ = try await Prellm.preprocessAndExecute(query: "q", small: "ollama/tiny", large: "openai/gpt-4o-mini", strategy: .split, context: "x")
        }
    }

    /// `remember` adds what a run learned, recording where it came from; a budget that cannot
    /// pay for the embedding refuses it before it is sent.
    @Test func rememberAddsWithItsSourceAndBudgetsHoldIt() async throws {
        let (store, path) = try await Self.store()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let standIn = try ScriptedStandIn(["text-embedding-3-small": [Reply.wordEmbeddings(dimensions: Self.dimensions)]])
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("prellm-remember-\(UUID().uuidString).yaml")
        defer { try? FileManager.default.removeItem(at: file) }
        try """
        prellm: 1
        name: learn
        inputs:
          fact: {type: string, maxLength: 200}
        steps:
          - id: learned
            remember: {context: team-conventions, text: "{{ inputs.fact }}", embed: openai/text-embedding-3-small}
        """.write(to: file, atomically: true, encoding: .utf8)
        let result = try await Prellm.run(
            workflowAt: file, inputs: ["fact": "Releases are tagged vYYYY.MM."], environment: standIn.environment
        ) { $0.memory = store }
        #expect(result.error == nil, "\(String(describing: result.error))")
        #expect(result.output == .object(["context": "team-conventions", "added": .number(1)]))
        let added = try #require(try await store.chunks(of: "team-conventions").last)
        #expect(added.text == "Releases are tagged vYYYY.MM.")
        #expect(added.source == "workflow learn, step learned, run \(result.traceID)")

        try String(contentsOf: file, encoding: .utf8).replacingOccurrences(of: "steps:", with: "budget: {max_tokens: 3}\nsteps:")
            .write(to: file, atomically: true, encoding: .utf8)
        let sent = standIn.requests.count
        let refused = try await Prellm.run(workflowAt: file, inputs: ["fact": "Another fact."], environment: standIn.environment) {
            $0.memory = store
        }
        #expect(refused.error?.kind == .budgetExceeded, "\(String(describing: refused.error))")
        #expect(standIn.requests.count == sent)
    }
}
