import Foundation
import PrellmCLI
import PrellmSchema
import ProviderStandIn
import Testing

/// Diagnostics attach where CI and editors look: files named relative to the working
/// directory in every format (also prompt files and imported workflows), SARIF columns in the
/// unit its `columnKind` declares, and a valid SARIF log even when a file is missing.
@Suite struct ReportFormatsTests {
    /// A project with errors in three files: the workflow, its prompt file, an import.
    static func project() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("prellm-report-\(UUID().uuidString)")
        let fm = FileManager.default
        try fm.createDirectory(at: dir.appendingPathComponent("flows/prompts"), withIntermediateDirectories: true)
        try fm.createDirectory(at: dir.appendingPathComponent("lib"), withIntermediateDirectories: true)
        try """
        prellm: 1
        inputs:
          q: string
        imports:
          helper: ../lib/helper.yaml
        models:
          small: ollama/qwen2.5:3b
        steps:
          - id: ask
            call: {model: small, prompt_file: prompts/ask.md}
          - id: help
            use: {workflow: helper, with: {text: "{{ ask }}"}}
          - id: emoji
            transform: "😀 {{ nope }}"
        output: "{{ help }}"
        """.write(to: dir.appendingPathComponent("flows/main.yaml"), atomically: true, encoding: .utf8)
        try "Answer {{ inputs.qq }}\n".write(to: dir.appendingPathComponent("flows/prompts/ask.md"), atomically: true, encoding: .utf8)
        try """
        prellm: 1
        inputs:
          text: string
        steps:
          - id: a
            transform: "{{ inputs.txt }}"
        """.write(to: dir.appendingPathComponent("lib/helper.yaml"), atomically: true, encoding: .utf8)
        return dir
    }

    static func lint(_ args: [String], in dir: URL) async throws -> Subprocess.Finished {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("prellm")
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "no prellm binary beside the test bundle")
        return try await Subprocess.run(binary, ["lint"] + args, directory: dir, timeout: .seconds(60))
    }

    @Test func filesAreNamedRelativeToTheWorkingDirectory() async throws {
        let dir = try Self.project()
        defer { try? FileManager.default.removeItem(at: dir) }
        for format in ["text", "json", "github", "sarif"] {
            let r = try await Self.lint(["--format", format, "flows/main.yaml"], in: dir)
            #expect(r.status == 1, "\(format): \(r.stderr)")
            #expect(!r.stdout.contains(dir.path) && !r.stdout.contains("/tmp/"), "\(format) names an absolute path:\n\(r.stdout)")
            for file in ["flows/main.yaml", "flows/prompts/ask.md"] {
                #expect(r.stdout.contains(file), "\(format) does not name \(file):\n\(r.stdout)")
            }
            // The imported workflow's own error is named in the hint of the import's.
            #expect(r.stdout.contains("lib/helper.yaml:6:"), "\(format):\n\(r.stdout)")
        }
        // From a folder below, a neighbour is named with '..'.
        let below = try await Self.lint(["--format", "json", "main.yaml"], in: dir.appendingPathComponent("flows"))
        #expect(below.stdout.contains("\"prompts/ask.md\""))
        #expect(below.stdout.contains("../lib/helper.yaml:6:"))
    }

    /// A minimal SARIF 2.1.0 schema: the parts of the OASIS schema prellm's logs use, with
    /// their required properties and enumerations.
    static let sarifSubset = """
        {"type": "object", "required": ["version", "runs"],
         "properties": {
           "version": {"const": "2.1.0"},
           "runs": {"type": "array", "items": {"$ref": "#/$defs/run"}}},
         "$defs": {
           "message": {"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}},
           "run": {"type": "object", "required": ["tool"], "properties": {
             "tool": {"type": "object", "required": ["driver"], "properties": {"driver": {"type": "object", "required": ["name"],
               "properties": {"rules": {"type": "array", "items": {"$ref": "#/$defs/rule"}}, "informationUri": {"type": "string"}}}}},
             "columnKind": {"enum": ["utf16CodeUnits", "unicodeCodePoints"]},
             "invocations": {"type": "array", "items": {"type": "object", "required": ["executionSuccessful"], "properties": {
               "executionSuccessful": {"type": "boolean"},
               "toolExecutionNotifications": {"type": "array", "items": {"type": "object", "required": ["message"], "properties": {
                 "message": {"$ref": "#/$defs/message"}, "level": {"enum": ["none", "note", "warning", "error"]}}}}}}},
             "results": {"type": "array", "items": {"type": "object", "required": ["message"], "properties": {
               "message": {"$ref": "#/$defs/message"}, "level": {"enum": ["none", "note", "warning", "error"]},
               "ruleId": {"type": "string"},
               "locations": {"type": "array", "items": {"type": "object", "properties": {"physicalLocation": {"type": "object",
                 "properties": {"artifactLocation": {"type": "object", "properties": {"uri": {"type": "string"}}},
                   "region": {"type": "object", "properties": {"startLine": {"type": "integer", "minimum": 1},
                     "startColumn": {"type": "integer", "minimum": 1}, "endLine": {"type": "integer", "minimum": 1},
                     "endColumn": {"type": "integer", "minimum": 1}}}}}}}}}}}}},
           "rule": {"type": "object", "required": ["id", "fullDescription", "helpUri"], "properties": {
             "id": {"type": "string"}, "shortDescription": {"$ref": "#/$defs/message"}, "fullDescription": {"$ref": "#/$defs/message"},
             "helpUri": {"type": "string", "pattern": "^https://"},
             "defaultConfiguration": {"type": "object", "properties": {"level": {"enum": ["none", "note", "warning", "error"]}}}}}}}
        """

    static func validSARIF(_ text: String) throws -> JSONValue {
        let log = try JSONParser.parse(text)
        let errors = JSONSchema(try JSONParser.parse(sarifSubset)).validate(log)
        #expect(errors.isEmpty, "not a valid SARIF log: \(errors)")
        return log
    }

    @Test func sarifColumnsAreUTF16CodeUnits() async throws {
        let dir = try Self.project()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try await Self.lint(["--format", "sarif", "flows/main.yaml"], in: dir)
        let run = try #require(try Self.validSARIF(r.stdout)["runs"]?.arrayValue?.first)
        #expect(run["columnKind"] == .string("utf16CodeUnits"))
        let emoji = try #require(run["results"]?.arrayValue?.first { $0["message"]?["text"]?.stringValue?.contains("'nope'") == true })
        let region = emoji["locations"]?.arrayValue?.first?["physicalLocation"]?["region"]
        // `    transform: "😀 {{ nope }}"`: 'nope' is the 22nd scalar, but 😀 is two UTF-16 units.
        #expect(region?["startColumn"] == .number(23))
        #expect(region?["endColumn"] == .number(27))
        let json = try JSONParser.parse(try await Self.lint(["--format", "json", "flows/main.yaml"], in: dir).stdout)
        let same = json.arrayValue?.first { $0["message"]?.stringValue?.contains("'nope'") == true }
        #expect(same?["column"] == .number(22), "JSON keeps Unicode scalar columns, as the text format does")
        let rules = try #require(run["tool"]?["driver"]?["rules"]?.arrayValue)
        let pl201 = try #require(rules.first { $0["id"] == .string("PL201") })
        #expect(pl201["helpUri"]?.stringValue?.hasSuffix("docs/diagnostics.md#pl2xx--names-and-references") == true)
        #expect(pl201["fullDescription"]?["text"]?.stringValue?.hasPrefix("unknown step: ") == true)
    }

    @Test func aMissingFileStillGivesAValidLog() async throws {
        let dir = FileManager.default.temporaryDirectory
        let sarif = try await Self.lint(["--format", "sarif", "no-such-workflow.yaml"], in: dir)
        #expect(sarif.status == 2)
        let run = try #require(try Self.validSARIF(sarif.stdout)["runs"]?.arrayValue?.first)
        let invocation = run["invocations"]?.arrayValue?.first
        #expect(invocation?["executionSuccessful"] == .bool(false))
        #expect(
            invocation?["toolExecutionNotifications"]?.arrayValue?.first?["message"]?["text"]
                == .string("'no-such-workflow.yaml' does not exist"))
        let json = try await Self.lint(["--format", "json", "no-such-workflow.yaml"], in: dir)
        #expect(json.status == 2)
        #expect(try JSONParser.parse(json.stdout).arrayValue?.first?["code"] == .string("PL006"))
    }
}
