import Foundation
import PrellmCompiler
import PrellmSyntax
import Testing

/// Which steps a run may stream: those whose text, once they run, is certainly the output.
@Suite struct StreamedStepsTests {
    func streamed(_ steps: String, output: String?) throws -> [String] {
        let text =
            "prellm: 1\ninputs: {q: {type: string}}\nmodels: {m: openai/gpt-4o-mini}\nsteps:\n" + steps + (output.map { "output: \"\($0)\"\n" } ?? "")
        let r = WorkflowCompiler().compile(source: Source(path: "/tmp/prellm-test/s.yaml", text: text))
        let graph = try #require(r.graph, "\(r.diagnostics)")
        #expect(!r.hasErrors, "\(r.diagnostics.map(\.message))")
        return graph.streamedSteps.sorted().map { graph.steps[$0].id }
    }

    static let branches = """
          - id: pick
            route:
              - if: inputs.q == "a"
                then: a
              - else: b
          - id: a
            call: {model: m, prompt: "A {{ inputs.q }}"}
            next: end
          - id: b
            call: {model: m, prompt: "B {{ inputs.q }}"}

        """

    @Test func theOutputStepOrTheLastStep() throws {
        let two = "  - id: a\n    call: {model: m, prompt: \"{{ inputs.q }}\"}\n  - id: b\n    call: {model: m, prompt: \"{{ a }}\"}\n"
        #expect(try streamed(two, output: nil) == ["b"])
        #expect(try streamed(two, output: "{{ a }}") == ["a"])
        #expect(try streamed(two, output: "{{ a | upper }}") == [])
    }

    /// A choice among exclusive branches streams each branch; the same choice over steps that
    /// can both run streams only the one it is sure of.
    @Test func aChoiceAmongStepsStreamsTheBranchesThatDecideIt() throws {
        #expect(try streamed(Self.branches, output: "{{ has(a) ? a : has(b) ? b : '' }}") == ["a", "b"])
        #expect(try streamed(Self.branches, output: "{{ has(a) ? a : b | default('') }}") == ["a", "b"])
        let both = "  - id: a\n    call: {model: m, prompt: \"{{ inputs.q }}\"}\n  - id: b\n    call: {model: m, prompt: \"{{ inputs.q }}\"}\n"
        // b always runs after a: b's text is the output only when a has none, which cannot be known while b streams.
        #expect(try streamed(both, output: "{{ has(a) ? a : b }}") == ["a"])
        #expect(try streamed(both, output: "{{ has(b) ? b : a }}") == ["b"])
        #expect(try streamed(Self.branches, output: "{{ inputs.q == 'a' ? a : b | default('') }}") == [])
    }

    /// The shipped support-triage: the general reply streams; the billing reply, re-asked and
    /// read by a field, does not.
    @Test func supportTriageStreamsItsGeneralReply() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let r = WorkflowCompiler().compile(path: root.appendingPathComponent("workflows/support-triage.yaml").path)
        let graph = try #require(r.graph)
        #expect(graph.streamedSteps.map { graph.steps[$0].id }.sorted() == ["bug_report", "general_reply"])
    }
}
