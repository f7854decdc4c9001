import Foundation
import PrellmCLI
import PrellmSchema
import ProviderStandIn
import Testing

/// The command line does not spend by accident: a typo of a command is not a paid query, every
/// model is resolved before the first call, and a failed run still shows what ran.
@Suite struct CommandLineSafetyTests {
    static func binary(_ name: String) throws -> URL {
        let url = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(name)
        try #require(FileManager.default.isExecutableFile(atPath: url.path), "no \(name) beside the test bundle")
        return url
    }

    @Test(arguments: [
        ("lnit", "'lnit' is not a prellm command; did you mean 'lint'? To send it to the models as a query, write: prellm -- lnit"),
        ("serv", "'serv' is not a prellm command; did you mean 'serve'? To send it to the models as a query, write: prellm -- serv"),
        ("vaildate", "'vaildate' is not a prellm command; did you mean 'validate'? To send it to the models as a query, write: prellm -- vaildate"),
        ("tset", "'tset' is not a prellm command; did you mean 'test'? To send it to the models as a query, write: prellm -- tset"),
        ("contxt", "'contxt' is not a prellm command; did you mean 'context'? To send it to the models as a query, write: prellm -- contxt"),
    ])
    func aNearMissOfACommandIsRefused(_ word: String, _ message: String) {
        #expect(AskCommand.refusal(ofQuery: word, afterSeparator: false, commands: Self.commands) == message)
        #expect(AskCommand.refusal(ofQuery: word, afterSeparator: true, commands: Self.commands) == nil)
    }

    static let commands = ["ask", "lint", "test", "graph", "validate", "run", "models", "call", "serve", "context"]

    @Test(arguments: ["hello", "Deploy the app to prod", "summarise", "lint my code please"])
    func realQueriesAreSent(_ query: String) {
        #expect(AskCommand.refusal(ofQuery: query, afterSeparator: false, commands: Self.commands) == nil)
    }

    @Test func theBinaryRefusesATypoWithoutSending() async throws {
        let standIn = try ScriptedStandIn([:])
        let r = try await Subprocess.run(try Self.binary("prellm"), ["lnit"], environment: standIn.environment, timeout: .seconds(60))
        #expect(r.status == 64 || r.status == 2, "\(r.status) \(r.stderr)")
        #expect(r.stderr.contains("did you mean 'lint'?"))
        // The binary's list is its own subcommands, the newest too.
        let usage = try await Subprocess.run(try Self.binary("prellm"), ["usgae"], environment: standIn.environment, timeout: .seconds(60))
        #expect(usage.stderr.contains("did you mean 'usage'?"), "\(usage.stderr)")
        #expect(standIn.requests.isEmpty)
    }

    @Test func versions() async throws {
        for name in ["prellm", "prellm-run"] {
            let r = try await Subprocess.run(try Self.binary(name), ["--version"], timeout: .seconds(60))
            #expect(r.status == 0)
            #expect(r.stdout == PrellmVersion.full + "\n")
            // The revision is the checkout's, as git says it.
            let head = try await Subprocess.run(
                URL(fileURLWithPath: "/usr/bin/git"), ["-C", LintCommandTests.root.path, "rev-parse", "HEAD"], timeout: .seconds(30))
            #expect(head.status != 0 || head.stdout.hasPrefix(PrellmVersion.revision.prefix(12)), "\(PrellmVersion.revision) vs \(head.stdout)")
        }
    }

    /// The archive and the image ship prellm-run as a link to prellm: by that name, prellm is
    /// `prellm run` — its help, its flags, a dry run.
    @Test func prellmByTheNamePrellmRunRunsAWorkflow() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("prellm-link-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let link = dir.appendingPathComponent("prellm-run")
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: try Self.binary("prellm"))
        let help = try await Subprocess.run(link, ["--help"], timeout: .seconds(60))
        #expect(help.status == 0)
        #expect(help.stdout.contains("USAGE: prellm-run <file>"), "\(help.stdout)")
        let workflow = LintCommandTests.root.appendingPathComponent("stdlib/strategies/structure.yaml").path
        let plan = try await Subprocess.run(link, [workflow, "--input", "query=Deploy app to prod", "--dry-run"], timeout: .seconds(60))
        #expect(plan.status == 0, "\(plan.stderr)")
        #expect(plan.stdout.contains("bound"), "\(plan.stdout)")
        let typo = try await Subprocess.run(link, [workflow, "--dryrun"], timeout: .seconds(60))
        #expect(typo.status != 0)
        #expect(typo.stderr.contains("--dryrun"), "\(typo.stderr)")
    }

    @Test func everyModelIsResolvedBeforeTheFirstCall() async throws {
        let standIn = try ScriptedStandIn(["qwen2.5:3b": [Reply.ollama(#"{"label": "code", "confidence": 0.9}"#)]])
        var env = standIn.environment
        env["OPENAI_API_KEY"] = nil
        let r = try await Subprocess.run(
            try Self.binary("prellm"), ["Write a sort function", "--large", "openai/gpt-4o", "--strategy", "classify"],
            environment: env, timeout: .seconds(60))
        #expect(r.status == 2)
        #expect(r.stderr.contains("cannot start, nothing was sent:\n  - openai/gpt-4o: no API key: set OPENAI_API_KEY"), "\(r.stderr)")
        #expect(standIn.requests.isEmpty, "the small model was called before the large one was found unusable")
        let unknown = try await Subprocess.run(
            try Self.binary("prellm"), ["Write a sort function", "--large", "opneai/gpt-4o"], environment: standIn.environment,
            timeout: .seconds(60))
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("unknown provider"), "\(unknown.stderr)")
        #expect(standIn.requests.isEmpty)
    }

    @Test func aFailedRunListsEveryStepItRanWithOutputs() async throws {
        let standIn = try ScriptedStandIn([
            "qwen2.5:3b": [Reply.ollama(#"{"intent": "deploy", "target": "api", "constraints": [], "missing": []}"#, promptTokens: 9, evalTokens: 1)],
            "gpt-4o-mini": [Reply.status(400, #"{"error": {"message": "bad request", "type": "invalid_request_error"}}"#)],
        ])
        let r = try await Subprocess.run(
            try Self.binary("prellm-run"), ["stdlib/strategies/structure.yaml", "--input", "query=Deploy app to prod", "--json"],
            environment: standIn.environment, directory: LintCommandTests.root, timeout: .seconds(60))
        #expect(r.status == 1, "\(r.stderr)")
        let result = try JSONParser.parse(r.stdout)
        let steps = try #require(result["steps"]?.arrayValue)
        // Without a context the recall is skipped, and says so.
        #expect(steps.map { $0["status"]?.stringValue } == ["skipped", "ok", "failed"])
        #expect(steps[1]["output"]?["target"] == .string("api"), "the small model's decomposition is in the result")
        #expect(steps.last?["error"]?["kind"] == .string("models_failed"))
        #expect(steps.last?["error"]?["message"]?.stringValue?.contains("bad request") == true)
        #expect(result["error"]?["step"] != nil)
    }

    @Test func costsPrintAsDecimals() throws {
        #expect(try JSONParser.parse("0.000009").jsonText == "0.000009")
        #expect(JSONValue.number(9e-06).jsonText == "0.000009")
        #expect(JSONValue.number(1.5e-10).jsonText == "0.00000000015")
        #expect(JSONValue.number(-2.5e-07).jsonText == "-0.00000025")
        #expect(JSONValue.number(1.25e20).jsonText == "125000000000000000000")
        #expect(JSONValue.number(0.1).jsonText == "0.1")
    }
}

/// A contract OpenAI's strict mode cannot express is sent non-strict, and the trace says so.
@Suite struct StrictModeTraceTests {
    @Test func theTraceNotesANonStrictContract() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("prellm-strict-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try """
        prellm: 1
        inputs:
          text: string
        contracts:
          Counts: {type: object, additionalProperties: {type: integer}}
        steps:
          - id: counts
            extract: {model: openai/gpt-4o-mini, text: "{{ inputs.text }}", into: Counts}
        """.write(to: dir.appendingPathComponent("w.yaml"), atomically: true, encoding: .utf8)
        let standIn = try ScriptedStandIn(["gpt-4o-mini": [Reply.openAI(#"{"apples": 3}"#)]])
        let trace = dir.appendingPathComponent("run.jsonl")
        let r = try await Subprocess.run(
            try CommandLineSafetyTests.binary("prellm-run"),
            [dir.appendingPathComponent("w.yaml").path, "--input", "text=3 apples", "--trace", trace.path],
            environment: standIn.environment, timeout: .seconds(60))
        #expect(r.status == 0, "\(r.stderr)")
        let lines = try String(contentsOf: trace, encoding: .utf8).split(separator: "\n").map { try JSONParser.parse(String($0)) }
        let answered = try #require(lines.first { $0["status"] == "ok" && $0["kind"] == "call" })
        #expect(answered["notes"]?[0]?.stringValue?.hasPrefix("sent with strict: false: the object at / allows properties by a schema") == true)
    }
}
