import Foundation
import PrellmSchema
import Testing

/// Runs every required draft 2020-12 case of the official JSON-Schema-Test-Suite
/// (`../shared/suites/JSON-Schema-Test-Suite`), with `remotes/` preloaded as
/// `http://localhost:1234/…` and the 2020-12 metaschemas under their own URIs.
@Suite struct JSONSchemaTestSuiteTests {
    static let suite = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("shared/suites/JSON-Schema-Test-Suite")

    /// Cases we knowingly fail, by "file: case description / test description". Keep it short,
    /// and say why for each.
    static let exclusions: Set<String> = []

    static func loadDocuments() throws -> [String: JSONValue] {
        var docs: [String: JSONValue] = [:]
        let fm = FileManager.default
        let remotes = suite.appendingPathComponent("remotes")
        if let e = fm.enumerator(at: remotes, includingPropertiesForKeys: nil) {
            for case let url as URL in e where url.pathExtension == "json" {
                let rel = url.path.dropFirst(remotes.path.count + 1)
                docs["http://localhost:1234/" + rel] = try JSONParser.parse(String(contentsOf: url, encoding: .utf8))
            }
        }
        let meta = suite.appendingPathComponent("metaschemas/draft2020-12")
        docs["https://json-schema.org/draft/2020-12/schema"] =
            try JSONParser.parse(String(contentsOf: meta.appendingPathComponent("schema.json"), encoding: .utf8))
        for name in try fm.contentsOfDirectory(atPath: meta.appendingPathComponent("meta").path) where name.hasSuffix(".json") {
            docs["https://json-schema.org/draft/2020-12/meta/" + name.dropLast(5)] =
                try JSONParser.parse(String(contentsOf: meta.appendingPathComponent("meta/" + name), encoding: .utf8))
        }
        return docs
    }

    static var suiteIsPresent: Bool {
        FileManager.default.fileExists(atPath: suite.appendingPathComponent("tests/draft2020-12").path)
    }

    /// The suite lives beside the repository (`../shared`), as in CI; a clone without it skips this test.
    @Test(.enabled(if: JSONSchemaTestSuiteTests.suiteIsPresent, "../shared/suites/JSON-Schema-Test-Suite is not beside the repository"))
    func requiredDraft202012Cases() throws {
        let dir = Self.suite.appendingPathComponent("tests/draft2020-12")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".json") }.sorted()
        #expect(files.count >= 40, "the suite is missing at \(dir.path)")
        let documents = try Self.loadDocuments()
        var passed = 0, failed: [String] = [], excluded = 0
        for file in files {
            let groups = try JSONParser.parse(String(contentsOf: dir.appendingPathComponent(file), encoding: .utf8))
            for group in groups.arrayValue ?? [] {
                let schema = JSONSchema(group["schema"]!, documents: documents)
                // Every suite schema terminates, so none may be called a reference cycle.
                if let cycle = schema.referenceCycle() {
                    failed.append("\(file): \(group["description"]?.stringValue ?? ""): called a $ref cycle ('\(cycle.ref)' at '\(cycle.at)')")
                }
                // Every suite schema is valid under the meta-schema, so none may break a keyword rule.
                if let problem = schema.keywordProblems().first {
                    failed.append("\(file): \(group["description"]?.stringValue ?? ""): keyword rule broken \(problem)")
                }
                for test in group["tests"]?.arrayValue ?? [] {
                    let name = "\(file): \(group["description"]?.stringValue ?? "") / \(test["description"]?.stringValue ?? "")"
                    if Self.exclusions.contains(name) { excluded += 1; continue }
                    let expected = test["valid"]?.boolValue ?? false
                    let errors = schema.validate(test["data"]!)
                    if errors.isEmpty == expected && schema.isValid(test["data"]!) == expected {
                        passed += 1
                    } else {
                        failed.append(name + " (expected \(expected ? "valid" : "invalid"); \(errors.first?.description ?? "no errors"))")
                    }
                }
            }
        }
        print("JSON-Schema-Test-Suite draft2020-12: \(passed) passed, \(failed.count) failed, \(excluded) excluded")
        for f in failed { print("  FAIL \(f)") }
        #expect(failed.isEmpty)
        #expect(passed >= 1200)
    }
}
