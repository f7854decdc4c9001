import Foundation
import PrellmCompiler
import PrellmMemory
import PrellmProviderKit
import PrellmRuntime
import PrellmSchema
import PrellmSyntax
import PrellmTesting
import Testing

/// Documented examples are tests: every workflow in docs/, the README, workflows/ and stdlib/
/// is compiled — without a single diagnostic — *and run*, against a provider that answers each structured call with a value
/// of its schema and each text call with text — so an example can never lint and then fail.
/// Its spend stays within its dry-run bound. (Prices and capabilities are the built-in
/// catalog's, so budgets apply as they would for a user.)
@Suite struct DocumentedExamplesTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    struct Example: Sendable, CustomTestStringConvertible {
        var name: String
        var path: String
        var text: String
        var testDescription: String { name }
    }

    /// Inputs and answers that make an example take its interesting path (a log with an OOM kill)
    /// or satisfy its assertions (a quote whose arithmetic adds up); anything not named here is
    /// drawn from the schemas.
    static let inputs: [String: [String: JSONValue]] = [
        "k8s-log-diagnosis.yaml": ["log": "pod api-1 OOMKilled\nBack-off restarting failed container web-2\nok"],
        "leasing-calculation.yaml": [
            "request": "Leasing for a car worth 120000 PLN net, 36 months, 10% down, 20% residual", "wibor_3m": .number(5.85),
        ],
        "support-triage.yaml": ["message": "Please cancel my plan"],
        "refactor-with-conventions.yaml": [
            "request": "tidy up the errors: never catch a bare except", "code": "try:\n    run()\nexcept:\n    pass",
        ],
    ]
    static let answers: [String: [String: JSONValue]] = [
        "leasing-calculation.yaml": [
            "Quote": .object([
                "net_installment_pln": .number(2800), "vat_rate": .number(0.23), "vat_pln": .number(644), "gross_installment_pln": .number(3444),
                "wibor_pct": .number(5.85), "total_cost_pln": .number(140000),
            ])
        ],
        "support-triage.yaml": [
            "Classification": .object(["label": "cancel", "confidence": .number(0.9)]),
            "Reply": .object([
                "subject": "Your cancellation", "body": "We are sorry to see you go; a colleague will confirm.",
                "escalate": .bool(true),
            ]),
        ],
    ]

    static var examples: [Example] {
        var out: [Example] = []
        for doc in ["README.md", "docs/language.md", "docs/running.md", "docs/diagnostics.md", "docs/testing.md", "docs/deploying.md"] {
            guard let text = try? String(contentsOf: root.appendingPathComponent(doc), encoding: .utf8) else { continue }
            let folder = root.appendingPathComponent((doc as NSString).deletingLastPathComponent)
            for (i, block) in workflowBlocks(in: text).enumerated() {
                out.append(Example(name: "\(doc) block \(i + 1)", path: folder.appendingPathComponent("example-\(i).yaml").path, text: block))
            }
        }
        for folder in ["docs/examples", "workflows", "stdlib/strategies"] {
            let dir = root.appendingPathComponent(folder)
            for name in ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).sorted() where name.hasSuffix(".yaml") {
                let path = dir.appendingPathComponent(name).path
                out.append(Example(name: name, path: path, text: (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""))
            }
        }
        return out
    }

    /// YAML code blocks that start with `prellm: 1`.
    static func workflowBlocks(in text: String) -> [String] {
        var blocks: [String] = []
        var current: [Substring]?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if current == nil, line.hasPrefix("```yaml") { current = []; continue }
            if current != nil, line.hasPrefix("```") {
                if current!.first?.hasPrefix("prellm: 1") == true { blocks.append(current!.joined(separator: "\n") + "\n") }
                current = nil
                continue
            }
            current?.append(line)
        }
        return blocks
    }

    @Test func theDocsShowWorkflows() {
        let names = Self.examples.map(\.name)
        #expect(names.contains("docs/language.md block 1") && names.contains("README.md block 1"))
        #expect(names.contains("summarise.yaml") && names.contains("split.yaml"))
    }

    @Test(arguments: DocumentedExamplesTests.examples)
    func runs(_ example: Example) async throws {
        let result = WorkflowCompiler().compile(source: Source(path: example.path, text: example.text))
        #expect(result.diagnostics.isEmpty, "\(DiagnosticRenderer.text(result.diagnostics, sources: result.sources))")
        guard result.config == nil else { return }  // a gateway or provider config, not a workflow
        let program = try #require(result.graph)
        let random = Seeded(7)
        var inputs = Self.inputs[example.name] ?? [:]
        for input in program.inputs where input.isRequired && inputs[input.name] == nil {
            inputs[input.name] = SchemaInstance(random: random).value(input.schema)
        }
        let provider = MockProvider(random: random, answers: Self.answers[example.name] ?? [:])
        let models = CatalogModels(provider: provider)
        // The system clock: a hand-moved one would let a deadline's timer win every race.
        var context = RunContext(models: models)
        context.cache = nil
        let store = FileManager.default.temporaryDirectory.appendingPathComponent("prellm-examples-\(UUID().uuidString).sqlite").path
        defer { try? FileManager.default.removeItem(atPath: store) }
        if program.usesContexts { context.memory = try await Self.contexts(for: program, inputs: inputs, at: store, provider: provider) }
        let r = await Interpreter(program).run(inputs: inputs, context: context)
        #expect(r.error == nil, "\(example.name): \(String(describing: r.error))")
        #expect(r.output != .null)
        for step in r.steps where step.kind == "recall" && step.status == .ok {
            // What the run recalled came from the store, and was charged.
            #expect((step.output?["count"]?.int ?? 0) > 0, "\(example.name): \(step.id) recalled nothing")
            #expect(step.modelUsed == "openai/text-embedding-3-small" && (step.usage?.inputTokens ?? 0) > 0)
        }
        let bound = DryRunPlan(program, inputs: inputs, models: models).bound
        if let cost = r.costUSD, let max = bound.maxCostUSD { #expect(cost <= max) }
        if let max = bound.maxTokens { #expect(r.usage.totalTokens <= max) }
        // And the example's own tests pass, from their mocks alone.
        for test in program.tests {
            let outcome = await TestRunner(program: program, file: example.name).run(test, context: context, source: .replay, cassette: nil)
            #expect(outcome.status == .passed, "\(example.name) › \(test.name): \(outcome.failures)")
        }
    }

    /// A real embedded store for an example that recalls: its `context` input's context holds
    /// the conventions that workflows/contexts/ ships, embedded by the mock.
    static func contexts(
        for program: StepGraph, inputs: [String: JSONValue], at path: String, provider: MockProvider
    ) async throws
        -> any ContextStore
    {
        let store = try SQLiteContextStore(path: path)
        let input = program.inputs.first { $0.name == "context" }
        guard let name = (inputs["context"] ?? input?.defaultValue)?.stringValue, !name.isEmpty else { return store }
        let file = root.appendingPathComponent("workflows/contexts/team-conventions.md").path
        let chunks = try Chunker().chunks(of: try String(contentsOfFile: file, encoding: .utf8), source: file, format: .markdown)
        let embed = program.steps.lazy.compactMap { step -> String? in if case .recall(let r) = step.payload { r.embed } else { nil } }.first
        let vectors = try await provider.embed(EmbeddingRequest(model: "", inputs: chunks.map(\.text))).vectors
        try await store.add(chunks, vectors: vectors, to: name, model: embed ?? "openai/text-embedding-3-small")
        return store
    }

    /// A well-behaved model: structured calls get a value of their schema (or the example's own
    /// answer for that contract), text calls get text.
    final class MockProvider: ChatProvider, EmbeddingProvider {
        let name = "mock"
        let random: Seeded
        let answers: [String: JSONValue]
        init(random: Seeded, answers: [String: JSONValue]) {
            self.random = random
            self.answers = answers
        }

        func complete(_ request: ChatRequest) async throws(ProviderError) -> ChatResponse {
            let text =
                switch request.responseFormat {
                case .jsonSchema(let name, let schema): (answers[name] ?? SchemaInstance(random: random).value(schema)).jsonText
                case .json: "{}"
                case .text: "A mock answer to: " + String((request.messages.last?.text ?? "").prefix(60))
                }
            return ChatResponse(
                model: request.model, text: text, finishReason: .stop,
                usage: Usage(inputTokens: TokenEstimate.promptTokens(request) / 2, outputTokens: text.utf8.count / 6 + 1))
        }

        func stream(_ request: ChatRequest) -> AsyncThrowingStream<ChatDelta, any Error> { AsyncThrowingStream { $0.finish() } }

        /// A vector per text from its words (texts sharing words point the same way); a
        /// provider's count of tokens, below the bound's estimate as a real one is.
        func embed(_ request: EmbeddingRequest) async throws(ProviderError) -> EmbeddingResponse {
            let vectors = request.inputs.map { text in
                var v = [Double](repeating: 0, count: 32)
                v[0] = 0.01
                for word in text.lowercased().split(whereSeparator: { !$0.isLetter }) {
                    let h = word.utf8.reduce(UInt64(0xcbf2_9ce4_8422_2325)) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
                    v[Int(h % 31) + 1] += 1
                }
                return v
            }
            return EmbeddingResponse(
                vectors: vectors, usage: Usage(inputTokens: request.inputs.reduce(0) { $0 + $1.utf8.count / 4 + 1 }, outputTokens: 0))
        }
    }

    /// Prices and capabilities from the built-in catalog, every call to the mock.
    struct CatalogModels: ModelAccess {
        let provider: MockProvider
        func provider(for model: String) throws(ProviderError) -> (provider: any ChatProvider, model: String) { (provider, model) }
        func price(for model: String) -> ModelPrice? { ModelCatalog.builtin.entry(for: model)?.price }
        func capabilities(for model: String) -> ModelCapabilities? { ModelCatalog.builtin.entry(for: model)?.capabilities }
    }
}
