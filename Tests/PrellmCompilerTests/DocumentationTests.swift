import Foundation
import PrellmCompiler
import PrellmSyntax
import Testing

/// The docs match the code: every diagnostic code is documented, and every complete workflow
/// shown in docs/language.md and the README compiles without a diagnostic.
@Suite struct DocumentationTests {
    static let root = ExampleWorkflowsTests.root

    static func read(_ rel: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(rel), encoding: .utf8)
    }

    @Test func everyDiagnosticCodeIsDocumented() throws {
        let doc = try Self.read("docs/diagnostics.md")
        for code in DiagnosticCode.all {
            #expect(doc.contains("| \(code.rawValue) | \(code.title)"), "docs/diagnostics.md lacks \(code.rawValue) (\(code.title))")
        }
    }

    /// YAML code blocks that start with `prellm: 1`.
    static func workflowBlocks(in text: String) -> [String] {
        var blocks: [String] = []
        var current: [Substring]?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if current == nil, line.hasPrefix("```yaml") { current = []; continue }
            if current != nil, line.hasPrefix("```") {
                if current!.first?.hasPrefix("prellm: 1") == true { blocks.append(current!.joined(separator: "\n") + "\n") }
                current = nil
                continue
            }
            current?.append(line)
        }
        return blocks
    }

    @Test(arguments: ["docs/language.md", "README.md"])
    func workflowsInTheDocsCompile(_ rel: String) throws {
        let blocks = Self.workflowBlocks(in: try Self.read(rel))
        #expect(!blocks.isEmpty, "\(rel) shows no complete workflow")
        for (i, block) in blocks.enumerated() {
            // Relative paths in an example resolve from the document's folder.
            let folder = (rel as NSString).deletingLastPathComponent
            let path = Self.root.appendingPathComponent(folder).appendingPathComponent("example-\(i).yaml").path
            let result = WorkflowCompiler().compile(source: Source(path: path, text: block))
            #expect(result.diagnostics.isEmpty, "\(rel) block \(i):\n\(DiagnosticRenderer.text(result.diagnostics, sources: result.sources))")
        }
    }
}
