import Foundation
import PrellmCompiler
import PrellmSyntax
import Testing

@Suite struct WorkflowCompilerTests {
    func compile(_ text: String, path: String = "/tmp/prellm-test/w.yaml") -> CompileResult {
        WorkflowCompiler().compile(source: Source(path: path, text: text))
    }

    @Test func unreadableFile() {
        let r = WorkflowCompiler().compile(path: "/nonexistent/w.yaml")
        #expect(r.diagnostics.map(\.code) == [.unreadable])
        #expect(r.diagnostics.first?.message == "cannot read '/nonexistent/w.yaml': no such file")
    }

    /// A file past the size limit is refused from its size, without being read.
    @Test func aHugeFileIsRefusedUnread() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("prellm-huge-\(UUID().uuidString).yaml").path
        FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.truncate(atOffset: 64 << 20)  // sparse: 64 MiB of zeros, not valid UTF-8 text either
        try handle.close()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = WorkflowCompiler().compile(path: path)
        #expect(r.diagnostics.map(\.code) == [.fileTooLarge])
        #expect(r.diagnostics.first?.message == "file is 67108864 bytes; the limit is 8388608")
    }

    @Test func emptyFile() {
        #expect(compile("").diagnostics.map(\.code) == [.notWorkflow])
        #expect(compile("# only a comment\n").diagnostics.map(\.code) == [.notWorkflow])
    }

    @Test func deeplyNestedTemplateBlocksAreAnError() {
        let deep = String(repeating: "{% if true %}", count: 5000) + String(repeating: "{% endif %}", count: 5000)
        let r = compile("prellm: 1\nsteps:\n  - id: a\n    transform: \"\(deep)\"\n")
        #expect(r.diagnostics.map(\.code) == [.templateSyntax])
    }

    @Test func typesFlowIntoTheGraph() throws {
        let r = compile(
            """
            prellm: 1
            inputs:
              q: string
            models:
              small: ollama/qwen2.5:3b
            contracts:
              Facts: {type: object, required: [n], properties: {n: {type: integer}, tags: {type: array, items: {type: string}}}}
            steps:
              - id: kind
                classify: {model: small, text: "{{ inputs.q }}", labels: [a, b]}
              - id: facts
                extract: {model: small, text: "{{ inputs.q }}", into: Facts}
              - id: many
                map:
                  over: "{{ facts.tags }}"
                  step:
                    transform: "{{ item | upper }}"
              - id: pick
                route:
                  - if: kind.label == "a"
                    then: finish
                  - else: finish
              - id: finish
                if: facts.n > 0
                transform: "{{ many | join(',') }}"
            output: "{{ facts }}"
            """)
        #expect(r.diagnostics.isEmpty, "\(r.diagnostics)")
        let graph = try #require(r.graph)
        #expect(
            graph.steps.map { $0.type.description } == [
                "{label: string(\"a\"|\"b\"), confidence: number}",
                "{n: integer, tags?: list<string>}",
                "list<string>",
                "{target: string(\"finish\")}",
                "string",
            ])
        #expect(graph.outputType.description == "{n: integer, tags?: list<string>}")
        #expect(graph.steps.map { $0.route?.models ?? [] } == [["ollama/qwen2.5:3b"], ["ollama/qwen2.5:3b"], [], [], []])
        #expect(
            graph.edges.map { "\($0.from)-\($0.kind.rawValue)->\($0.to)" } == [
                "kind-next->facts", "facts-next->many", "many-next->pick", "pick-branch->finish", "pick-else->finish", "finish-next->end",
            ])
    }

    @Test func guardedJumpsHaveASkipEdge() throws {
        let r = compile(
            """
            prellm: 1
            inputs:
              q: string
            steps:
              - id: early
                if: size(inputs.q) == 0
                transform: "empty"
                next: end
              - id: main
                transform: "{{ inputs.q }}"
            output: "{{ early | default('') }}{{ main | default('') }}"
            """)
        #expect(r.diagnostics.isEmpty, "\(r.diagnostics)")
        let edges = try #require(r.graph?.edges).map { "\($0.from)-\($0.kind.rawValue)->\($0.to)" }
        #expect(edges == ["early-next->end", "early-skip->main", "main-next->end"])
    }

    @Test func aShapeErrorDoesNotHideTheRest() {
        // The bad duration and the unknown name are independent: both are reported.
        let r = compile("prellm: 1\nsteps:\n  - id: a\n    transform: \"{{ nothing }}\"\n    timeout: soon\n")
        #expect(r.diagnostics.map(\.code) == [.unknownStep, .badDuration])
        #expect(r.graph == nil)
    }

    @Test func aStepThatDidNotDecodeRaisesNothingMore() {
        // 'a' has no kind; reading a field of it, and the input it may have read, raise nothing.
        let r = compile(
            "prellm: 1\ninputs:\n  q: string\nsteps:\n  - id: a\n    if: \"size(inputs.q) > 0\"\n"
                + "  - id: b\n    transform: \"{{ a.x }}\"\noutput: \"{{ b }}\"\n")
        #expect(r.diagnostics.map(\.code) == [.stepKind])
    }

    @Test func diagnosticsAreCappedAndSaySo() {
        var text = "prellm: 1\nsteps:\n"
        for i in 0..<400 { text += "  - id: s\(i)\n    transform: \"{{ nope\(i) }}\"\n" }
        let r = compile(text)
        #expect(r.diagnostics.count == DiagnosticBag.defaultLimit + 1)
        #expect(r.diagnostics.last?.severity == .note)
        #expect(r.diagnostics.last?.message == "200 more diagnostics not shown")
    }

    @Test func secondCompileOfAnImportUsesTheCache() {
        let compiler = WorkflowCompiler()
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("testdata/diagnostics")
        let a = compiler.compile(path: dir.appendingPathComponent("import-inputs.yaml").path)
        let b = compiler.compile(path: dir.appendingPathComponent("import-inputs.yaml").path)
        #expect(a.diagnostics == b.diagnostics)
    }
}
