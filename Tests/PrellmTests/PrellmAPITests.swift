import Foundation
import Prellm
import PrellmRuntime
import PrellmSchema
import ProviderStandIn
import Testing

@Suite struct PrellmAPITests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test(arguments: Prellm.Strategy.allCases)
    func builtInStrategiesMatchStdlibAndCompile(_ s: Prellm.Strategy) throws {
        let file = try String(contentsOf: Self.root.appendingPathComponent("stdlib/strategies/\(s.rawValue).yaml"), encoding: .utf8)
        #expect(s.source == file, "stdlib/strategies/\(s.rawValue).yaml changed: run scripts/embed-stdlib")
        let compiled = Prellm.compile(s)
        let count = compiled.diagnostics.count
        #expect(count == 0, "\(compiled.diagnostics.map(\.message))")
    }

    @Test func preprocessAndExecute() async throws {
        let standIn = try ScriptedStandIn([
            "tiny": [Reply.ollama(#"{"intent": "deploy", "target": "app", "constraints": [], "missing": ["region"]}"#)],
            "gpt-4o-mini": [Reply.openAI("Deployed.")],
        ])
        let result = try await Prellm.preprocessAndExecute(
            query: "Deploy app to prod", small: "ollama/tiny", large: "openai/gpt-4o-mini",
            strategy: .structure, userContext: "We use Kubernetes.",
            environment: standIn.environment
        ) { $0.cache = nil }
        #expect(result.error == nil, "\(String(describing: result.error))")
        #expect(result.output == "Deployed.")
        #expect(result.steps.compactMap(\.modelUsed) == ["ollama/tiny", "openai/gpt-4o-mini"])
        // Each step's output is in the result: the small model's decomposition too.
        #expect(result.steps.first { $0.id == "facts" }?.output?["missing"] == .array(["region"]))
        let last = try #require(standIn.requests.last?.bodyText)
        #expect(last.contains("We use Kubernetes."))
        #expect(last.contains("- region"))
    }

    @Test func runAWorkflowFile() async throws {
        let standIn = try ScriptedStandIn(["qwen2.5:3b": [Reply.ollama(#"{"label": "bug", "confidence": 0.8}"#)]])
        let result = try await Prellm.run(
            workflowAt: Self.root.appendingPathComponent("workflows/support-triage.yaml"),
            inputs: ["message": "It crashes"], environment: standIn.environment)
        #expect(result.succeeded)
        #expect(result.output.stringValue?.hasPrefix("Thanks for the report.") == true)
        #expect(result.json["status"] == "ok")
    }

    @Test func aBrokenWorkflowThrowsItsDiagnostics() async {
        do {
            _ = try await Prellm.run(
                workflowAt: Self.root.appendingPathComponent("Tests/PrellmCompilerTests/testdata/diagnostics/ref-unknown-step.yaml"),
                inputs: [:], environment: [:])
            Issue.record("no error")
        } catch {
            #expect(error.rendered.contains("error[PL201]"))
        }
    }
}
