import Foundation
import PrellmCLI
import PrellmSchema
import Testing

@Suite struct LintCommandTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let diagnostics = root.appendingPathComponent("Tests/PrellmCompilerTests/testdata/diagnostics")

    func path(_ name: String) -> String { Self.diagnostics.appendingPathComponent(name).path }

    @Test func exitCodes() {
        #expect(LintCommand.run(.init(paths: [Self.root.appendingPathComponent("workflows").path])).exitCode == 0)
        #expect(LintCommand.run(.init(paths: [path("ref-unknown-step.yaml")])).exitCode == 1)
        #expect(LintCommand.run(.init(paths: [path("flow-unreachable.yaml")])).exitCode == 0)
        #expect(LintCommand.run(.init(paths: [path("flow-unreachable.yaml")], warningsAsErrors: true)).exitCode == 1)
        let missing = LintCommand.run(.init(paths: ["/nonexistent/prellm.yaml"]))
        #expect(missing.exitCode == 2)
        #expect(missing.stderr.contains("does not exist"))
    }

    /// `--config`: a workflow may name the config's own providers; without it, they are unknown.
    @Test func aConfigsOwnProvidersAreKnownWithConfig() throws {
        let files = try NamedProviderFiles(baseURL: "http://10.0.0.5:8000/v1")
        defer { files.remove() }
        let (config, workflow) = (files.config, files.workflow)
        let without = LintCommand.run(.init(paths: [workflow]))
        #expect(without.exitCode == 1 && without.stdout.contains("unknown provider 'gpu-a'"), "\(without.stdout)")
        let with = LintCommand.run(.init(paths: [workflow], config: config))
        #expect(with.exitCode == 0, "\(with.stdout)\(with.stderr)")
        let broken = LintCommand.run(.init(paths: [workflow], config: path("config-providers.yaml")))
        #expect(broken.exitCode == 2 && broken.stderr.contains("does not load"))
    }

    @Test func textFormatLooksLikeACompiler() {
        let out = LintCommand.run(.init(paths: [path("ref-unknown-step.yaml")]))
        #expect(out.stdout.contains("ref-unknown-step.yaml:8:26: error[PL201]: unknown step 'fact'\n"))
        #expect(out.stdout.contains(" 8 |     transform: \"About {{ fact }} and {{ query }}\"  # error PL201"))
        #expect(out.stdout.contains("   |                          ^^^^\n"))
        #expect(out.stdout.contains("  = hint: did you mean 'facts'?\n"))
        #expect(out.stderr == "checked 1 file: 2 errors, 0 warnings\n")
    }

    @Test func jsonFormatIsOneArray() throws {
        let out = LintCommand.run(.init(paths: [path("ref-unknown-step.yaml")], format: .json))
        let value = try JSONParser.parse(out.stdout)
        let items = try #require(value.arrayValue)
        #expect(items.count == 2)
        let first = try #require(items.first)
        #expect(first["code"] == .string("PL201"))
        #expect(first["line"] == .number(8))
        #expect(first["column"] == .number(26))
        #expect(first["endLine"] == .number(8))
        #expect(first["endColumn"] == .number(30))
        #expect(first["severity"] == .string("error"))
        #expect(first["hint"] == .string("did you mean 'facts'?"))
        #expect(first["message"] == .string("unknown step 'fact'"))
        #expect(out.stderr.isEmpty)
    }

    @Test func githubFormat() {
        let out = LintCommand.run(.init(paths: [path("ref-unknown-step.yaml")], format: .github))
        let lines = out.stdout.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines[0].hasPrefix("::error file="))
        #expect(lines[0].contains(",line=8,col=26,endLine=8,endColumn=30,title=PL201::unknown step 'fact' (hint: did you mean 'facts'?)"))
    }

    @Test func sarifFormat() throws {
        let out = LintCommand.run(.init(paths: [path("ref-unknown-step.yaml"), path("flow-unreachable.yaml")], format: .sarif))
        let sarif = try JSONParser.parse(out.stdout)
        #expect(sarif["version"] == .string("2.1.0"))
        let run = try #require(sarif["runs"]?.arrayValue?.first)
        let results = try #require(run["results"]?.arrayValue)
        #expect(results.count == 3)
        #expect(Set(results.compactMap { $0["level"]?.stringValue }) == ["error", "warning"])
        let region = results.first?["locations"]?.arrayValue?.first?["physicalLocation"]?["region"]
        #expect(region?["startLine"] != nil)
        let rules = run["tool"]?["driver"]?["rules"]?.arrayValue?.compactMap { $0["id"]?.stringValue }
        #expect(rules == ["PL201", "PL404"])
    }

    @Test func foldersAreSearchedForWorkflows() {
        let found = WorkflowFiles.find(in: Self.root.appendingPathComponent("stdlib").path)
        #expect(found.count == 5)
        #expect(found.allSatisfy { $0.hasSuffix(".yaml") })
    }

    @Test func theWholeGoldenFolderLintsWithoutCrashing() {
        let out = LintCommand.run(.init(paths: [Self.diagnostics.path]))
        #expect(out.exitCode == 1)
        #expect(out.stderr.hasPrefix("checked "))
    }
}

@Suite struct ConfigLintTests {
    @Test func aKeyPastedIntoAConfigIsReportedWithoutEchoingIt() {
        let path = LintCommandTests.diagnostics.appendingPathComponent("config-providers.yaml").path
        for format in DiagnosticReport.Format.allCases {
            let out = LintCommand.run(.init(paths: [path], format: format))
            #expect(out.exitCode == 1)
            #expect(!out.stdout.contains("sk-should-not-be-here"), "\(format) echoes the key")
        }
    }

    @Test func aValidConfigLintsClean() {
        let out = LintCommand.run(.init(paths: [LintCommandTests.diagnostics.appendingPathComponent("config-ok.yaml").path]))
        #expect(out.exitCode == 0)
        #expect(out.stdout.isEmpty)
    }
}
