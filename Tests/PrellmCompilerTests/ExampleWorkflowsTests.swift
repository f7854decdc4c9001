import Foundation
import PrellmCompiler
import PrellmSchema
import PrellmSyntax
import Testing

/// The shipped workflows and strategies lint clean, and `schemas/workflow.schema.json` (the
/// editor schema) accepts them while rejecting the structurally broken golden files.
@Suite struct ExampleWorkflowsTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func yamlFiles(_ folder: String) -> [String] {
        let dir = root.appendingPathComponent(folder)
        let e = FileManager.default.enumerator(atPath: dir.path)
        var out: [String] = []
        while let rel = e?.nextObject() as? String {
            if rel.hasSuffix(".yaml") { out.append(dir.appendingPathComponent(rel).path) }
        }
        return out.sorted()
    }

    static var shipped: [String] { yamlFiles("workflows") + yamlFiles("stdlib") + yamlFiles("docs/examples") }

    static let workflowSchema: JSONSchema = {
        let text = try! String(contentsOf: root.appendingPathComponent("schemas/workflow.schema.json"), encoding: .utf8)
        return JSONSchema(try! JSONParser.parse(text))
    }()

    static func json(ofYAML path: String) -> JSONValue? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        var bag = DiagnosticBag(file: path)
        return YAMLReader().read(Source(path: path, text: text), into: &bag).map(ContractSchema.json)
    }

    @Test func theExamplesExist() {
        let names = Self.shipped.map { URL(fileURLWithPath: $0).lastPathComponent }
        for expected in [
            "support-triage.yaml", "k8s-log-diagnosis.yaml", "leasing-calculation.yaml", "refactor-request.yaml",
            "classify.yaml", "structure.yaml", "split.yaml", "enrich.yaml", "passthrough.yaml",
        ] {
            #expect(names.contains(expected), "missing \(expected)")
        }
    }

    @Test(arguments: ExampleWorkflowsTests.shipped)
    func lintsClean(_ path: String) {
        let result = WorkflowCompiler().compile(path: path)
        #expect(result.diagnostics.isEmpty, "\(DiagnosticRenderer.text(result.diagnostics, sources: result.sources))")
        #expect(result.graph != nil)
    }

    @Test(arguments: ExampleWorkflowsTests.shipped)
    func editorSchemaAcceptsIt(_ path: String) throws {
        let value = try #require(Self.json(ofYAML: path))
        let errors = Self.workflowSchema.validate(value)
        #expect(errors.isEmpty, "\(path): \(errors.prefix(3))")
    }

    /// Golden files whose problems are structural: the editor schema must reject each of them too.
    static let structurallyBroken = [
        "bad-durations", "bad-money", "bad-numbers", "budget-shape", "classify-labels", "extract-pattern",
        "flow-retry-unbounded", "map-shape", "missing-keys", "missing-version", "model-alias-invalid",
        "models-policies", "models-strings", "not-a-mapping", "options-shape", "step-id-invalid", "step-id-reserved",
        "step-kinds", "steps-empty", "tests-shape", "unknown-step-keys", "unknown-top-key", "unsupported-version",
        "wrong-types-in-step", "wrong-types",
    ]

    @Test(arguments: ExampleWorkflowsTests.structurallyBroken)
    func editorSchemaRejectsIt(_ name: String) throws {
        let path = Self.root.appendingPathComponent("Tests/PrellmCompilerTests/testdata/diagnostics/\(name).yaml").path
        let value = try #require(Self.json(ofYAML: path))
        #expect(!Self.workflowSchema.validate(value).isEmpty, "\(name) should be rejected")
        #expect(WorkflowCompiler().compile(path: path).hasErrors)
    }
}
