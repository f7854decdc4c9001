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
        case .sarif: sarif(diagnostics).jsonText + "\n"
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

    static func sarif(_ diagnostics: [Diagnostic]) -> JSONValue {
        let rules = Set(diagnostics.map(\.code.rawValue)).sorted().map { raw in
            JSONValue.object(["id": .string(raw), "shortDescription": .object(["text": .string(DiagnosticCode(rawValue: raw)?.title ?? raw)])])
        }
        let results = diagnostics.map { d -> JSONValue in
            let level = d.severity == .error ? "error" : d.severity == .warning ? "warning" : "note"
            let region: JSONValue = .object([
                "startLine": .number(Double(d.span.start.line)), "startColumn": .number(Double(d.span.start.column)),
                "endLine": .number(Double(d.span.end.line)), "endColumn": .number(Double(d.span.end.column)),
            ])
            return .object([
                "ruleId": .string(d.code.rawValue), "level": .string(level),
                "message": .object(["text": .string(d.message + (d.hint.map { " (hint: \($0))" } ?? ""))]),
                "locations": .array([
                    .object([
                        "physicalLocation": .object([
                            "artifactLocation": .object(["uri": .string(d.file)]), "region": region,
                        ])
                    ])
                ]),
            ])
        }
        return .object([
            "$schema": .string("https://json.schemastore.org/sarif-2.1.0.json"),
            "version": .string("2.1.0"),
            "runs": .array([
                .object([
                    "tool": .object(["driver": .object(["name": .string("prellm"), "rules": .array(rules)])]),
                    "results": .array(results),
                ])
            ]),
        ])
    }
}
