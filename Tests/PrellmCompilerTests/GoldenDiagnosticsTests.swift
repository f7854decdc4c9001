import Foundation
import PrellmCompiler
import PrellmSyntax
import Testing

/// Golden diagnostics: every `testdata/diagnostics/*.yaml` carries the diagnostics it must
/// produce as comments, and the test asserts them exactly (line, column, severity, code and
/// message; nothing missing, nothing extra).
///
/// - On the offending line: `… # error PL201 @14: unknown step 'fact'` (the line is implied).
/// - Anywhere, for lines where a trailing comment is impossible (inside a block scalar) or
///   for diagnostics in another file: `# at 14: error PL201 @5: …` / `# at prompts/a.md:3: …`.
/// A file with no expectations must compile without any diagnostic.
@Suite struct GoldenDiagnosticsTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("testdata/diagnostics")

    struct Expectation: Hashable, CustomStringConvertible {
        var file: String
        var line: Int
        var column: Int
        var severity: String
        var code: String
        var message: String
        var description: String { "\(file):\(line):\(column): \(severity) \(code): \(message)" }
    }

    static let trailing = try! NSRegularExpression(pattern: #"\s# (error|warning|note) (PL\d{3}) @(\d+): (.*)$"#)
    static let standalone = try! NSRegularExpression(pattern: #"^# at (?:(\S+):)?(\d+): (error|warning|note) (PL\d{3}) @(\d+): (.*)$"#)

    static func expectations(in url: URL) throws -> [Expectation] {
        let text = try String(contentsOf: url, encoding: .utf8)
        var out: [Expectation] = []
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let s = String(line)
            let ns = s as NSString
            func g(_ m: NSTextCheckingResult, _ k: Int) -> String? {
                m.range(at: k).location == NSNotFound ? nil : ns.substring(with: m.range(at: k))
            }
            if let m = standalone.firstMatch(in: s, range: NSRange(location: 0, length: ns.length)) {
                let file = g(m, 1).map { url.deletingLastPathComponent().appendingPathComponent($0).standardized.path } ?? url.path
                out.append(
                    Expectation(
                        file: file, line: Int(g(m, 2)!)!, column: Int(g(m, 5)!)!, severity: g(m, 3)!,
                        code: g(m, 4)!, message: g(m, 6)!))
            } else if let m = trailing.firstMatch(in: s, range: NSRange(location: 0, length: ns.length)) {
                out.append(
                    Expectation(
                        file: url.path, line: i + 1, column: Int(g(m, 3)!)!, severity: g(m, 1)!,
                        code: g(m, 2)!, message: g(m, 4)!))
            }
        }
        return out
    }

    static var files: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { $0.hasSuffix(".yaml") }.sorted()
    }

    @Test func thereAreEnoughGoldenFiles() {
        #expect(Self.files.count >= 60)
    }

    @Test func everyDiagnosticCategoryIsCovered() throws {
        var seen = Set<String>()
        for name in Self.files {
            for e in try Self.expectations(in: Self.folder.appendingPathComponent(name)) { seen.insert(e.code) }
        }
        // Codes a golden file cannot show: an unreadable file has no file to annotate, and an
        // import chain past the limit takes 17 files (LimitTests builds one).
        let untestable: Set<String> = [
            DiagnosticCode.unreadable.rawValue, DiagnosticCode.fileTooLarge.rawValue, DiagnosticCode.importTooDeep.rawValue,
        ]
        let missing = DiagnosticCode.all.map(\.rawValue).filter { !seen.contains($0) && !untestable.contains($0) }
        #expect(missing.isEmpty, "no golden file shows \(missing)")
    }

    @Test(arguments: GoldenDiagnosticsTests.files)
    func golden(_ name: String) throws {
        let url = Self.folder.appendingPathComponent(name)
        let expected = try Self.expectations(in: url)
        let result = WorkflowCompiler().compile(path: url.path)
        let actual = result.diagnostics.map {
            Expectation(
                file: URL(fileURLWithPath: $0.file).standardized.path, line: $0.span.start.line, column: $0.span.start.column,
                severity: $0.severity.rawValue, code: $0.code.rawValue, message: $0.message)
        }
        let missing = expected.filter { !actual.contains($0) }
        let unexpected = actual.filter { !expected.contains($0) }
        #expect(
            missing.isEmpty && unexpected.isEmpty,
            "\(name):\n  missing:\n    \(missing.map(\.description).joined(separator: "\n    "))\n  unexpected:\n    \(unexpected.map(\.description).joined(separator: "\n    "))"
        )
        #expect(actual.count == expected.count, "\(name): \(actual.count) diagnostics, \(expected.count) expected")
    }
}
