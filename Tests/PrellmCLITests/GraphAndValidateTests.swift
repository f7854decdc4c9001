import Foundation
import PrellmCLI
import PrellmCompiler
import PrellmSchema
import Testing

@Suite struct GraphCommandTests {
    static let root = LintCommandTests.root
    static let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("testdata/graph")

    /// `prellm graph` output for every shipped workflow, in every format, against files in
    /// testdata/graph. Set PRELLM_UPDATE_GOLDEN=1 to rewrite them after an intended change.
    @Test(arguments: ["support-triage", "k8s-log-diagnosis", "leasing-calculation", "refactor-request"])
    func graphsMatchGoldenFiles(_ name: String) throws {
        let file = Self.root.appendingPathComponent("workflows/\(name).yaml").path
        for format in StepGraph.Format.allCases {
            var out = GraphCommand.run(file: file, format: format)
            #expect(out.exitCode == 0, "\(out.stderr)")
            out.stdout = out.stdout.replacing(Self.root.path + "/", with: "")
            let expectedURL = Self.golden.appendingPathComponent("\(name).\(format.rawValue)")
            if ProcessInfo.processInfo.environment["PRELLM_UPDATE_GOLDEN"] != nil {
                try FileManager.default.createDirectory(at: Self.golden, withIntermediateDirectories: true)
                try out.stdout.write(to: expectedURL, atomically: true, encoding: .utf8)
            }
            let expected = try String(contentsOf: expectedURL, encoding: .utf8)
            #expect(out.stdout == expected, "\(name).\(format.rawValue) differs from its golden file")
        }
    }

    @Test func brokenWorkflowsPrintDiagnosticsAndExit2() {
        let file = LintCommandTests.diagnostics.appendingPathComponent("ref-unknown-step.yaml").path
        let out = GraphCommand.run(file: file, format: .mermaid)
        #expect(out.exitCode == 2)
        #expect(out.stdout.isEmpty)
        #expect(out.stderr.contains("error[PL201]"))
    }
}

@Suite struct ValidateCommandTests {
    static let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("testdata/validate")
    func path(_ name: String) -> String { Self.dir.appendingPathComponent(name).path }

    @Test func validAndInvalidFiles() {
        let ok = ValidateCommand.run(schema: path("ticket.schema.json"), files: [path("ticket-ok.json")])
        #expect(ok.exitCode == 0)
        #expect(ok.stdout.hasSuffix("ticket-ok.json: valid\n"))
        let bad = ValidateCommand.run(schema: path("ticket.schema.json"), files: [path("ticket-ok.json"), path("ticket-bad.json")])
        #expect(bad.exitCode == 1)
        #expect(
            bad.stdout.contains(
                "ticket-bad.json: /priority: value \"soon\" is not one of \"low\", \"normal\", \"urgent\" [/properties/priority/enum]"))
        #expect(bad.stdout.contains("ticket-bad.json: /: missing required property 'title' [/required]"))
        #expect(bad.stdout.contains("ticket-bad.json: /: property 'tag' is not allowed (did you mean 'tags'?) [/additionalProperties]"))
    }

    @Test func usageErrorsExit2() {
        #expect(ValidateCommand.run(schema: path("nope.json"), files: [path("ticket-ok.json")]).exitCode == 2)
        #expect(ValidateCommand.run(schema: path("ticket.schema.json"), files: [path("nope.json")]).exitCode == 2)
        #expect(ValidateCommand.run(schema: path("ticket.schema.json"), files: []).exitCode == 2)
        let broken = ValidateCommand.run(schema: path("broken-ref.schema.json"), files: [path("ticket-ok.json")])
        #expect(broken.exitCode == 2)
        #expect(broken.stderr.contains("$ref '#/$defs/missing'"))
    }

    @Test func invalidJSONDataIsReportedWithItsPosition() {
        let out = ValidateCommand.run(schema: path("ticket.schema.json"), files: [path("not-json.txt")])
        #expect(out.exitCode == 1)
        #expect(out.stdout.contains("not-json.txt:2:"))
    }

    @Test func jsonLines() throws {
        var lines: [String] = []
        let out = ValidateCommand.runLines(
            schema: path("ticket.schema.json"),
            lines: [#"{"title": "Login broken", "priority": "urgent"}"#, #"{"title": "x"}"#, "{oops"]
        ) { lines.append($0) }
        #expect(out.exitCode == 1)
        #expect(lines.count == 3)
        #expect(lines[0] == #"{"errors":[],"valid":true}"#)
        let second = try JSONParser.parse(lines[1])
        #expect(second["valid"] == .bool(false))
        #expect(second["errors"]?.arrayValue?.count == 2)
        #expect(try JSONParser.parse(lines[2])["errors"]?.arrayValue?.first?["message"]?.stringValue?.hasPrefix("invalid JSON") == true)
    }

    @Test func yamlSchemasWork() {
        let out = ValidateCommand.run(schema: path("ticket.schema.yaml"), files: [path("ticket-bad.json")])
        #expect(out.exitCode == 1)
        #expect(out.stdout.contains("missing required property 'title'"))
    }
}
