import Foundation
import PrellmSchema
import Testing

/// Hover, definition, references and completion, asked of a real `prellm lsp` as an editor
/// asks, at several positions of one workflow; then diagnostics of files a workflow reads,
/// shown at the place that names them and re-checked when those files change.
@Suite struct LanguageFeatureTests {
    static let workflow = """
        prellm: 1
        inputs:
          request: {type: string}
        models:
          small: {use: openai/gpt-4o-mini, temperature: 0}
          large: {use: [anthropic/claude-sonnet-4-5, openai/gpt-4o], policy: fallback, max_tokens: 2000}
        contracts:
          Facts:
            type: object
            required: [target, urgency]
            properties:
              target: {type: string, description: "what to change"}
              urgency: {type: integer, minimum: 1}
        steps:
          - id: intent
            classify:
              model: small
              text: "{{ inputs.request }}"
              labels: [deploy, rollback, question]
          - id: facts
            extract:
              model: small
              into: Facts
              text: "{{ inputs.request }}"
          - id: answer
            if: intent.label == "deploy"
            call:
              model: large
              prompt_file: prompts/answer.md
        output: "{{ answer | default(facts.target) }}"
        """
    static let prompt = "Deploy {{ facts.target | upper }} now, urgency {{ facts.urgency }}.\n"

    /// A server started on a folder holding the workflow and its prompt file; both go when it does.
    final class Session {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("prellm-lsp-\(UUID().uuidString)")
        let client: LSPClient
        var uri: String { dir.appendingPathComponent("w.prellm.yaml").absoluteString }

        init() throws {
            try FileManager.default.createDirectory(at: dir.appendingPathComponent("prompts"), withIntermediateDirectories: true)
            try workflow.write(to: dir.appendingPathComponent("w.prellm.yaml"), atomically: true, encoding: .utf8)
            try prompt.write(to: dir.appendingPathComponent("prompts/answer.md"), atomically: true, encoding: .utf8)
            client = try LSPClient()
            try client.initialize()
        }

        deinit {
            client.stop()
            try? FileManager.default.removeItem(at: dir)
        }
    }

    static func value(_ hover: JSONValue) -> String { hover["contents"]?["value"]?.stringValue ?? "" }

    static func labels(_ completion: JSONValue) -> [String] {
        completion["items"]?.arrayValue?.compactMap { $0["label"]?.stringValue } ?? []
    }

    @Test func hoverDefinitionAndReferences() throws {
        let session = try Session()
        defer { withExtendedLifetime(session) {} }
        let (dir, client, uri) = (session.dir, session.client, session.uri)
        let w = Self.workflow
        #expect(try client.open(uri, w)[uri] == [])

        // A classify step's label: its type lists the labels.
        let label = Self.value(try client.ask(1, "textDocument/hover", uri, w, "intent.label", offset: 8))
        #expect(label.contains("`intent.label`: `string(\"deploy\"|\"rollback\"|\"question\")`"), "\(label)")
        // A contract's field, with the field's schema.
        let field = Self.value(try client.ask(2, "textDocument/hover", uri, w, "facts.target) }}", offset: 7))
        #expect(field.contains("`facts.target`: `string`") && field.contains("\"description\":\"what to change\""), "\(field)")
        // A model alias: its route, with each model's price and context window.
        let route = Self.value(try client.ask(3, "textDocument/hover", uri, w, "model: large", offset: 8))
        #expect(route.contains("model `large` — fallback"), "\(route)")
        #expect(route.contains("| `anthropic/claude-sonnet-4-5` | $3.00 | $15.00 | 200,000 |"), "\(route)")
        #expect(route.contains("max_tokens 2000"), "\(route)")
        // A contract, summarised; a filter, with its signature.
        let contract = Self.value(try client.ask(4, "textDocument/hover", uri, w, "into: Facts", offset: 7))
        #expect(contract.contains("contract `Facts`") && contract.contains("required: `target`, `urgency`"), "\(contract)")
        let filter = Self.value(try client.ask(5, "textDocument/hover", uri, w, "default(", offset: 2))
        #expect(filter.contains("value | default(fallback) -> value"), "\(filter)")

        // Definitions: a step read in an expression, an alias, a contract, a prompt file.
        let step = try client.ask(6, "textDocument/definition", uri, w, "facts.target) }}", offset: 2)
        #expect(step["range"]?["start"] == .object(["line": .number(19), "character": .number(8)]), "\(step.jsonText)")
        let alias = try client.ask(7, "textDocument/definition", uri, w, "model: large", offset: 9)
        #expect(alias["range"]?["start"]?["line"] == .number(5), "\(alias.jsonText)")
        let contractAt = try client.ask(8, "textDocument/definition", uri, w, "into: Facts", offset: 8)
        #expect(contractAt["range"]?["start"]?["line"] == .number(7), "\(contractAt.jsonText)")
        let file = try client.ask(9, "textDocument/definition", uri, w, "prompts/answer.md", offset: 3)
        #expect(file["uri"] == .string(dir.appendingPathComponent("prompts/answer.md").absoluteString), "\(file.jsonText)")

        // References of `facts`: its declaration, the output's read, and both reads in the prompt file.
        let refs = try client.ask(10, "textDocument/references", uri, w, "id: facts", offset: 5).arrayValue ?? []
        let promptURI = dir.appendingPathComponent("prompts/answer.md").absoluteString
        #expect(refs.count == 4, "\(refs)")
        #expect(refs.filter { $0["uri"] == .string(promptURI) }.map { $0["range"]?["start"]?["character"] } == [.number(10), .number(50)])
        #expect(refs.contains { $0["uri"] == .string(uri) && $0["range"]?["start"]?["line"] == .number(29) })

        #expect(try client.request(11, "shutdown", .null)["result"] == .null)
        client.notify("exit", .null)
        #expect(client.waitForExit() == 0)
    }

    @Test func completionAtSeveralPositions() throws {
        let session = try Session()
        defer { withExtendedLifetime(session) {} }
        let (client, uri) = (session.client, session.uri)
        try client.open(uri, Self.workflow)
        var version = 1
        /// The completions where `marker` is, in the workflow with `old` replaced by `new` (which holds the marker).
        func complete(_ old: String, _ new: String, _ marker: String = "‸") throws -> [String] {
            version += 1
            let text = Self.workflow.replacingOccurrences(of: old, with: new)
            let clean = text.replacingOccurrences(of: marker, with: "")
            try client.change(uri, clean, version: version)
            return Self.labels(try client.ask(100 + version, "textDocument/completion", uri, text, marker))
        }
        let output = #"output: "{{ answer | default(facts.target) }}""#
        // In the output, the steps that certainly ran: not `answer`, which is guarded.
        let names = try complete(output, #"output: "{{ ‸ }}""#)
        #expect(names.prefix(3) == ["intent", "facts", "inputs"], "\(names)")
        #expect(!names.contains("answer") && names.contains("size"))
        // Fields of a contract, and of the inputs.
        #expect(try complete(output, #"output: "{{ facts.‸ }}""#) == ["target", "urgency"])
        #expect(try complete(output, #"output: "{{ inputs.‸ }}""#) == ["request"])
        // Filters after `|`.
        #expect(try complete(output, #"output: "{{ facts.target | up‸ }}""#).contains("upper"))
        // A classify step's labels after `== "`.
        #expect(try complete(#"if: intent.label == "deploy""#, #"if: intent.label == "d‸"#) == ["deploy", "rollback", "question"])
        // In an earlier step, only what ran before it.
        #expect(try complete(#"text: "{{ inputs.request }}"\#n      labels"#, #"text: "{{ ‸ }}"\#n      labels"#).prefix(1) == ["inputs"])
        // Aliases and catalogued models after `model:`.
        let models = try complete("      model: large", "      model: ‸")
        #expect(models.prefix(2) == ["small", "large"] && models.contains("openai/gpt-4o-mini"), "\(models)")
        #expect(!models.contains("openai/text-embedding-3-small"), "an embedding model cannot answer a step")
        // A kind's keys under it; a step's keys beside its id; top-level keys at the margin.
        #expect(try complete("    call:\n", "    call:\n      pro‸\n") == ["model", "system", "prompt", "prompt_file", "output"])
        let stepKeys = try complete("  - id: answer\n", "  - id: answer\n    ti‸\n")
        #expect(stepKeys.contains("timeout") && stepKeys.contains("classify") && stepKeys.contains("next"), "\(stepKeys)")
        #expect(try complete(output, "‸").contains("tests"))
    }

    @Test func filesAWorkflowReadsAreCheckedAtTheirMention() throws {
        let session = try Session()
        defer { withExtendedLifetime(session) {} }
        let (dir, client, uri) = (session.dir, session.client, session.uri)
        let promptURI = dir.appendingPathComponent("prompts/answer.md").absoluteString
        try client.open(uri, Self.workflow)
        // The prompt file is not a workflow: it gets no diagnostics of its own; opening it
        // re-checks the workflow against the buffer, which may differ from the disk.
        let opened = try client.open(promptURI, Self.prompt, expecting: 2)
        #expect(opened[promptURI] == [] && opened[uri] == [])

        // A typo in the unsaved prompt file re-checks the workflow; the error shows at `prompt_file:`.
        let typo = Self.prompt.replacingOccurrences(of: "facts.urgency", with: "facts.urgnecy")
        let after = try client.change(promptURI, typo, version: 2, expecting: 2)
        let d = try #require(after[uri]?.first, "\(after)")
        #expect(d["code"] == "PL203", "\(d.jsonText)")
        #expect(d["message"]?.stringValue?.contains("answer.md:1:") == true, "\(d.jsonText)")
        #expect(d["message"]?.stringValue?.contains("did you mean 'urgency'?") == true, "\(d.jsonText)")
        #expect(d["range"]?["start"]?["line"] == .number(28), "\(d.jsonText)")
        #expect(d["relatedInformation"]?[0]?["location"]?["uri"] == .string(promptURI), "\(d.jsonText)")
        // Fixed again: the workflow is clean.
        #expect(try client.change(promptURI, Self.prompt, version: 3, expecting: 2)[uri] == [])

        // An imported workflow with an error is reported at the import, and fixing it re-checks the importer.
        let mainURI = dir.appendingPathComponent("main.prellm.yaml").absoluteString
        let importer = """
            prellm: 1
            imports:
              triage: ./w.prellm.yaml
            inputs:
              request: {type: string}
            steps:
              - id: run
                use: {workflow: triage, with: {request: "{{ inputs.request }}"}}
            """
        #expect(try client.open(mainURI, importer)[mainURI] == [])
        let broken = Self.workflow.replacingOccurrences(of: "into: Facts", with: "into: Fcts")
        let both = try client.change(uri, broken, version: 4, expecting: 2)
        #expect(both[uri]?.first?["message"]?.stringValue?.contains("Fcts") == true, "\(both)")
        let atImport = try #require(both[mainURI]?.first, "\(both)")
        #expect(atImport["code"] == "PL705", "\(atImport.jsonText)")
        #expect(atImport["range"]?["start"]?["line"] == .number(2), "\(atImport.jsonText)")
        // Going to the import's definition opens the imported file.
        let target = try client.ask(50, "textDocument/definition", mainURI, importer, "triage, with", offset: 2)
        #expect(target["uri"] == .string(uri), "\(target.jsonText)")
        #expect(try client.change(uri, Self.workflow, version: 5, expecting: 2)[mainURI] == [])
    }
}
