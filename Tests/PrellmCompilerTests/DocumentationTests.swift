import Foundation
import PrellmCompiler
import PrellmSyntax
import Testing

/// The docs match the code: every diagnostic code is documented. (Every workflow the docs show
/// is compiled and run by PrellmRuntimeTests' DocumentedExamplesTests.)
@Suite struct DocumentationTests {
    static let root = ExampleWorkflowsTests.root

    static func read(_ rel: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(rel), encoding: .utf8)
    }

    @Test func everyDiagnosticCodeIsDocumented() throws {
        let doc = try Self.read("docs/diagnostics.md")
        for code in DiagnosticCode.all {
            #expect(
                doc.contains("| \(code.rawValue) | \(code.title) |") || doc.contains("| \(code.rawValue) | \(code.title) (warning"),
                "docs/diagnostics.md lacks \(code.rawValue) (\(code.title))")
        }
        // And the table names no code the compiler does not have.
        let rows = doc.split(separator: "\n").filter { $0.hasPrefix("| PL") }.map { String($0.dropFirst(2).prefix(5)) }
        #expect(Set(rows) == Set(DiagnosticCode.all.map(\.rawValue)), "docs/diagnostics.md and DiagnosticCode.all differ")
        #expect(rows.count == Set(rows).count, "a code appears twice in docs/diagnostics.md")
    }
}
