import Foundation
import PrellmSchema
import PrellmSyntax

/// A DiagnosticReport renders diagnostics in the formats `prellm lint --format` offers:
/// `text` and `github` (by DiagnosticRenderer), `json` (one array of
/// `{file, line, column, endLine, endColumn, severity, code, message, hint}`) and `sarif`
/// (SARIF 2.1.0, for code-scanning dashboards).
public enum DiagnosticReport {
    public enum Format: String, Sendable, CaseIterable { case text, json, github, sarif }

    public static func render(_ diagnostics: [Diagnostic], format: Format, sources: [String: Source], color: Bool = false) -> String {
        switch format {
        case .text: DiagnosticRenderer.text(diagnostics, sources: sources, color: color)
        case .github: DiagnosticRenderer.github(diagnostics)
        case .json: JSONValue.array(diagnostics.map(json)).prettyJSONText + "\n"
        case .sarif: sarif(diagnostics, sources: sources).jsonText + "\n"
        }
    }

    static func json(_ d: Diagnostic) -> JSONValue {
        var o: [String: JSONValue] = [
            "file": .string(d.file), "line": .number(Double(d.span.start.line)), "column": .number(Double(d.span.start.column)),
            "endLine": .number(Double(d.span.end.line)), "endColumn": .number(Double(d.span.end.column)),
            "severity": .string(d.severity.rawValue), "code": .string(d.code.rawValue), "message": .string(d.message),
            "hint": d.hint.map(JSONValue.string) ?? .null,
        ]
        if !d.related.isEmpty {
            o["related"] = .array(
                d.related.map {
                    .object([
                        "file": .string($0.file), "line": .number(Double($0.span.start.line)),
                        "column": .number(Double($0.span.start.column)), "message": .string($0.message),
                    ])
                })
        }
        return .object(o)
    }

    /// A SARIF 2.1.0 log. Columns are UTF-16 code units, as `columnKind` says; each rule
    /// carries its title, its example from docs/diagnostics.md and a link there. `failures`
    /// (files that could not be linted at all) become tool notifications, so the log stays
    /// valid for the dashboard that reads it.
    static func sarif(_ diagnostics: [Diagnostic], sources: [String: Source], failures: [String] = []) -> JSONValue {
        let rules = Set(diagnostics.map(\.code.rawValue)).sorted().compactMap(DiagnosticCode.init(rawValue:)).map(rule)
        let results = diagnostics.map { d -> JSONValue in
            let level = d.severity == .error ? "error" : d.severity == .warning ? "warning" : "note"
            let source = sources[d.file]
            func column(_ p: Position) -> JSONValue { .number(Double(source?.utf16Column(of: p) ?? p.column)) }
            let region: JSONValue = .object([
                "startLine": .number(Double(d.span.start.line)), "startColumn": column(d.span.start),
                "endLine": .number(Double(d.span.end.line)), "endColumn": column(d.span.end),
            ])
            return .object([
                "ruleId": .string(d.code.rawValue), "level": .string(level),
                "message": .object(["text": .string(d.message + (d.hint.map { " (hint: \($0))" } ?? ""))]),
                "locations": .array([
                    .object([
                        "physicalLocation": .object([
                            "artifactLocation": .object(["uri": .string(uri(d.file))]), "region": region,
                        ])
                    ])
                ]),
            ])
        }
        let notifications = failures.map { JSONValue.object(["level": .string("error"), "message": .object(["text": .string($0)])]) }
        return .object([
            "$schema": .string("https://json.schemastore.org/sarif-2.1.0.json"),
            "version": .string("2.1.0"),
            "runs": .array([
                .object([
                    "tool": .object([
                        "driver": .object([
                            "name": .string("prellm"), "informationUri": .string(DiagnosticCode.docsURI), "rules": .array(rules),
                        ])
                    ]),
                    "columnKind": .string("utf16CodeUnits"),
                    "invocations": .array([
                        .object([
                            "executionSuccessful": .bool(failures.isEmpty),
                            "toolExecutionNotifications": .array(notifications),
                        ])
                    ]),
                    "results": .array(results),
                ])
            ]),
        ])
    }

    static func rule(_ code: DiagnosticCode) -> JSONValue {
        let markdown = code.example.isEmpty ? code.title : "\(code.title): \(code.example)"
        return .object([
            "id": .string(code.rawValue),
            "shortDescription": .object(["text": .string(code.title)]),
            "fullDescription": .object(["text": .string(markdown.replacingOccurrences(of: "`", with: "")), "markdown": .string(markdown)]),
            "helpUri": .string(code.helpURI),
            "defaultConfiguration": .object(["level": .string(code.defaultSeverity == .error ? "error" : "warning")]),
        ])
    }

    /// A file path as a URI reference: relative paths stay relative (to the checkout), and
    /// characters a URI cannot hold are percent-encoded.
    static func uri(_ path: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "?#")
        return path.addingPercentEncoding(withAllowedCharacters: allowed) ?? path
    }
}
