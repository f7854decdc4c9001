/// A DiagnosticRenderer prints diagnostics for people and for tools.
///
/// - `text`: like a compiler — `path:line:col: error[PL201]: message`, the source line, a caret
///   under the span, the hint and related locations;
/// - `json`: one array of `{file, line, column, endLine, endColumn, severity, code, message, hint}`;
/// - `github`: workflow commands (`::error file=…,line=…,col=…::…`) that annotate pull requests;
/// - `sarif`: SARIF 2.1.0, for code-scanning dashboards.
public enum DiagnosticRenderer {
    public enum Format: String, Sendable, CaseIterable { case text, json, github, sarif }

    public static func render(_ diagnostics: [Diagnostic], format: Format, sources: [String: Source], color: Bool = false) -> String {
        switch format {
        case .text: return text(diagnostics, sources: sources, color: color)
        case .json: return json(diagnostics)
        case .github: return github(diagnostics)
        case .sarif: return sarif(diagnostics)
        }
    }

    public static func text(_ diagnostics: [Diagnostic], sources: [String: Source], color: Bool = false) -> String {
        func paint(_ s: String, _ code: String) -> String { color ? "\u{1B}[\(code)m\(s)\u{1B}[0m" : s }
        var out = ""
        for d in diagnostics {
            let sev = d.severity == .error ? paint("error", "1;31") : d.severity == .warning ? paint("warning", "1;33") : paint("note", "1;36")
            out += "\(d.file):\(d.span.start.line):\(d.span.start.column): \(sev)[\(d.code.rawValue)]: \(paint(d.message, "1"))\n"
            if let source = sources[d.file], d.span != .unknown {
                out += excerpt(source, d.span)
            }
            if let hint = d.hint {
                let lines = hint.split(separator: "\n", omittingEmptySubsequences: false)
                out += "  = hint: " + lines.joined(separator: "\n          ") + "\n"
            }
            for r in d.related {
                out += "  = note: \(r.message) at \(r.file):\(r.span.start.line):\(r.span.start.column)\n"
            }
        }
        return out
    }

    /// The source line of a span with a caret under it (to the end of the line for multi-line spans).
    static func excerpt(_ source: Source, _ span: Span) -> String {
        let line = source.line(span.start.line)
        let number = String(span.start.line)
        let gutter = String(repeating: " ", count: number.count)
        let shown = line.replacingTabs()
        let startCol = span.start.column
        let lineLength = line.unicodeScalars.count
        let endCol = span.end.line == span.start.line ? max(span.end.column, startCol + 1) : lineLength + 1
        let width = max(1, min(endCol, lineLength + 1) - startCol)
        return " \(gutter) |\n \(number) | \(shown)\n \(gutter) | " + String(repeating: " ", count: max(0, startCol - 1)) + String(repeating: "^", count: width) + "\n"
    }

    public static func json(_ diagnostics: [Diagnostic]) -> String {
        let items = diagnostics.map { d -> String in
            var fields = [
                "\"file\":" + quote(d.file), "\"line\":\(d.span.start.line)", "\"column\":\(d.span.start.column)",
                "\"endLine\":\(d.span.end.line)", "\"endColumn\":\(d.span.end.column)",
                "\"severity\":" + quote(d.severity.rawValue), "\"code\":" + quote(d.code.rawValue),
                "\"message\":" + quote(d.message), "\"hint\":" + (d.hint.map(quote) ?? "null"),
            ]
            if !d.related.isEmpty {
                fields.append("\"related\":[" + d.related.map {
                    "{\"file\":\(quote($0.file)),\"line\":\($0.span.start.line),\"column\":\($0.span.start.column),\"message\":\(quote($0.message))}"
                }.joined(separator: ",") + "]")
            }
            return "  {" + fields.joined(separator: ",") + "}"
        }
        return items.isEmpty ? "[]\n" : "[\n" + items.joined(separator: ",\n") + "\n]\n"
    }

    public static func github(_ diagnostics: [Diagnostic]) -> String {
        diagnostics.map { d in
            let kind = d.severity == .error ? "error" : d.severity == .warning ? "warning" : "notice"
            let message = d.message + (d.hint.map { " (hint: \($0))" } ?? "")
            return "::\(kind) file=\(escapeProperty(d.file)),line=\(d.span.start.line),col=\(d.span.start.column),endLine=\(d.span.end.line),endColumn=\(d.span.end.column),title=\(d.code.rawValue)::\(escapeData(message))\n"
        }.joined()
    }

    public static func sarif(_ diagnostics: [Diagnostic]) -> String {
        let codes = Array(Set(diagnostics.map(\.code.rawValue))).sorted()
        let rules = codes.map { raw -> String in
            let title = DiagnosticCode(rawValue: raw)?.title ?? raw
            return "{\"id\":\(quote(raw)),\"shortDescription\":{\"text\":\(quote(title))}}"
        }
        let results = diagnostics.map { d -> String in
            let level = d.severity == .error ? "error" : d.severity == .warning ? "warning" : "note"
            let text = d.message + (d.hint.map { " (hint: \($0))" } ?? "")
            return "{\"ruleId\":\(quote(d.code.rawValue)),\"level\":\"\(level)\",\"message\":{\"text\":\(quote(text))},"
                + "\"locations\":[{\"physicalLocation\":{\"artifactLocation\":{\"uri\":\(quote(d.file))},"
                + "\"region\":{\"startLine\":\(d.span.start.line),\"startColumn\":\(d.span.start.column),\"endLine\":\(d.span.end.line),\"endColumn\":\(d.span.end.column)}}}]}"
        }
        return "{\"$schema\":\"https://json.schemastore.org/sarif-2.1.0.json\",\"version\":\"2.1.0\",\"runs\":[{\"tool\":{\"driver\":{\"name\":\"prellm\",\"informationUri\":\"https://github.com/prellm/prellm\",\"rules\":["
            + rules.joined(separator: ",") + "]}},\"results\":[" + results.joined(separator: ",") + "]}]}\n"
    }

    public static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20:
                let hex = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }

    static func escapeData(_ s: String) -> String {
        s.replacing("%", with: "%25").replacing("\r", with: "%0D").replacing("\n", with: "%0A")
    }

    static func escapeProperty(_ s: String) -> String {
        escapeData(s).replacing(":", with: "%3A").replacing(",", with: "%2C")
    }
}

extension String {
    func replacingTabs() -> String { replacing("\t", with: " ") }
}
