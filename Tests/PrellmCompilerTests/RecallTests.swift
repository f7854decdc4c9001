import Foundation
import PrellmCompiler
import PrellmProviderKit
import PrellmSchema
import PrellmSyntax
import Testing

/// `recall` and `remember` in the compiler: their output types, and the bound on their one
/// embeddings request (the golden file testdata/diagnostics/recall.yaml has their errors).
@Suite struct RecallTests {
    static let workflow = """
        prellm: 1
        inputs:
          query: {type: string, maxLength: 100}
          note: {type: string, maxLength: 50}
        steps:
          - id: memory
            recall: {context: team, query: "{{ inputs.query }}", embed: openai/text-embedding-3-small, top_k: 3}
          - id: best
            if: memory.count > 0 && memory.chunks[0].score > 0.5
            transform: "{{ memory.chunks[0].text }} ({{ memory.chunks[0].source }})"
          - id: learned
            remember: {context: team, text: "{{ inputs.note }}", embed: openai/text-embedding-3-small}
        output: "{{ learned.added }} {{ learned.context }}"
        """

    static func compile(_ text: String) throws -> StepGraph {
        let r = WorkflowCompiler().compile(source: Source(path: "/tmp/prellm-test/recall.yaml", text: text))
        #expect(r.diagnostics.isEmpty, "\(DiagnosticRenderer.text(r.diagnostics, sources: r.sources))")
        return try #require(r.graph)
    }

    static func bound(_ program: StepGraph) -> CostBound {
        program.costBound(CostContext(program: program, inputs: [:], price: { ModelCatalog.builtin.entry(for: $0)?.price }))
    }

    @Test func theOutputsAreTyped() throws {
        let program = try Self.compile(Self.workflow)
        #expect(program.steps[0].type.description == "{chunks: list<{text: string, source: string, score: number}>, count: integer}")
        #expect(program.steps[2].type.description == "{context: string, added: integer}")
        #expect(program.usesContexts)
        let node = try #require(program.json["nodes"]?.arrayValue?.first)
        #expect(node["kind"] == "recall" && node["top_k"] == .number(3) && node["embed"] == "openai/text-embedding-3-small")
    }

    /// The query is at most 100 characters, 400 bytes: 401 tokens at most, at the model's price.
    @Test func theBoundCountsTheEmbeddingsRequests() throws {
        let b = Self.bound(try Self.compile(Self.workflow))
        let price = try #require(ModelCatalog.builtin.entry(for: "openai/text-embedding-3-small")?.price)
        #expect(b.steps[0].maxCalls == 1 && b.steps[0].maxTokens == 401)
        #expect(b.steps[0].maxCostUSD == price.cost(of: Usage(inputTokens: 401, outputTokens: 0)))
        #expect(b.steps[0].models == ["openai/text-embedding-3-small"])
        // A remember's text may split into up to 64 inputs, each counted a token more.
        #expect(b.steps[2].maxCalls == 1 && b.steps[2].maxTokens == 50 * 4 + 1 + 63)
        #expect(b.maxCalls == 2)
    }

    /// Without `embed:` the model is the context's, known only at run time: counted, not priced.
    @Test func anUnnamedModelLeavesTheDollarsUnknown() throws {
        let text = Self.workflow.replacingOccurrences(of: ", embed: openai/text-embedding-3-small", with: "")
        let b = Self.bound(try Self.compile(text))
        #expect(b.steps[0].maxCalls == 1 && b.steps[0].maxTokens == 401 && b.steps[0].maxCostUSD == nil)
        #expect(b.steps[0].note?.contains("embed:") == true)
        #expect(b.maxCalls == 2 && b.maxCostUSD == nil)
    }

    /// A prompt that reads what was recalled is bounded: at most top_k chunks, each cut to its length.
    @Test func aPromptReadingTheChunksHasABound() throws {
        let text = """
            prellm: 1
            inputs:
              query: {type: string, maxLength: 100}
            steps:
              - id: memory
                recall: {context: team, query: "{{ inputs.query }}", embed: openai/text-embedding-3-small, top_k: 2}
              - id: answer
                call:
                  model: openai/gpt-4o-mini
                  prompt: "{% for c in memory.chunks %}{{ c.text }}{% endfor %}"
            """
        let b = Self.bound(try Self.compile(text))
        let prompt = try #require(b.steps[1].promptTokens)
        #expect(prompt >= 2 * RecallStep.maxTextLength && prompt < 2 * RecallStep.maxTextLength * 4 + 200)
    }
}
