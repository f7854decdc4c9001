import Foundation
@testable import PrellmCompiler
import PrellmSyntax
import Testing

/// The docs match the code: every diagnostic code is documented. (Every workflow the docs show
/// is compiled and run by PrellmRuntimeTests' DocumentedExamplesTests.)
@Suite struct DocumentationTests {
    static let root = ExampleWorkflowsTests.root

    static func read(_ rel: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(rel), encoding: .utf8)
    }

    /// The README's gateway section (from its heading to the next of its level) names every key
    /// a config file takes, in prose (`key`) or in an example (`key:`).
    @Test func theReadmeDocumentsEveryConfigKey() throws {
        let readme = try Self.read("README.md")
        let start = try #require(readme.range(of: "### The gateway"))
        let rest = readme[start.upperBound...]
        let section = rest[..<(rest.range(of: "\n### Exit codes")?.lowerBound ?? rest.endIndex)]
        var missing: [String] = []
        for key in ConfigFile.topLevelKeys where !section.contains("`\(key)") && !section.contains("\(key):") { missing.append(key) }
        for (name, keys) in ConfigDecoder.sectionKeys {
            for key in keys where !section.contains("`\(key)`") && !section.contains("\(key):") && !section.contains("`\(name).\(key)") {
                missing.append("\(name).\(key)")
            }
        }
        #expect(missing.isEmpty, "the README's gateway section does not document \(missing.sorted())")
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

    /// SARIF rules carry each code's example from the docs; the copy in the code must match.
    @Test func everyCodeCarriesTheDocsExample() throws {
        for line in try Self.read("docs/diagnostics.md").split(separator: "\n") where line.hasPrefix("| PL") {
            // | code | what | example |, where the example may hold '|' itself.
            let cells = line.dropFirst().dropLast().split(separator: "|", maxSplits: 2, omittingEmptySubsequences: false)
            let raw = cells[0].trimmingCharacters(in: .whitespaces)
            let example = cells[2].trimmingCharacters(in: .whitespaces)
            let code = try #require(DiagnosticCode(rawValue: raw))
            #expect(
                code.example == example,
                "\(raw): docs/diagnostics.md says '\(example)', DiagnosticCode+Examples.swift '\(code.example)' — update the Swift copy")
        }
    }

    /// The help links point at sections that exist.
    @Test func helpLinksNameRealSections() throws {
        let headings = try Self.read("docs/diagnostics.md").split(separator: "\n").filter { $0.hasPrefix("## PL") }.map { h in
            "pl" + h.dropFirst(5).prefix(1) + "xx--" + h.split(separator: "— ").last!.lowercased().replacingOccurrences(of: " ", with: "-")
        }
        for code in DiagnosticCode.all {
            let anchor = String(code.helpURI.split(separator: "#").last!)
            #expect(headings.contains(anchor), "\(code): \(anchor) is not a section of docs/diagnostics.md")
        }
    }
}
