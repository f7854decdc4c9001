/// A DiagnosticRenderer prints diagnostics as text:
///
/// - `text`: like a compiler — `path:line:col: error[PL201]: message`, the source line, a caret
///   under the span, the hint and related locations;
/// - `github`: workflow commands (`::error file=…,line=…,col=…::…`) that annotate pull requests.
///
/// The JSON and SARIF forms are built as JSON values one layer up (PrellmCLI's DiagnosticReport).
public enum DiagnosticRenderer {
    public static func text(_ diagnostics: [Diagnostic], sources: [String: Source], color: Bool = false) -> String {
        func paint(_ s: String, _ code: String) -> String { color ? "\u{1B}[\(code)m\(s)\u{1B}[0m" : s }
        var out = ""
        for d in diagnostics {
            let sev = d.severity == .error ? paint("error", "1;31") : d.severity == .warning ? paint("warning", "1;33") : paint("note", "1;36")
            out += "\(d.file):\(d.span.start.line):\(d.span.start.column): \(sev)[\(d.code.rawValue)]: \(paint(d.message, "1"))\n"
            if let source = sources[d.file], d.span != .unknown, !d.hidesSourceLine {
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
    /// A long line (a minified blob, a generated file) is cut to a window around the span.
    static func excerpt(_ source: Source, _ span: Span) -> String {
        let line = Array(source.line(span.start.line).replacingTabs().unicodeScalars)
        let number = String(span.start.line)
        let gutter = String(repeating: " ", count: number.count)
        let startCol = span.start.column
        let endCol = span.end.line == span.start.line ? max(span.end.column, startCol + 1) : line.count + 1
        var first = 0, last = line.count, prefix = "", suffix = ""
        if line.count > maxLineWidth {
            first = max(0, min(startCol - 1 - 40, line.count - maxLineWidth))
            last = min(line.count, first + maxLineWidth)
            if first > 0 { prefix = "…" }
            if last < line.count { suffix = "…" }
        }
        // Columns first+1 ... last are shown, after the prefix.
        let indent = startCol - 1 - first + prefix.count
        let width = max(1, min(endCol, last + 1) - startCol)
        var shown = String.UnicodeScalarView()
        shown.append(contentsOf: line[first..<last])
        return " \(gutter) |\n \(number) | \(prefix)\(String(shown))\(suffix)\n \(gutter) | "
            + String(repeating: " ", count: max(0, indent)) + String(repeating: "^", count: width) + "\n"
    }

    /// How much of a source line an excerpt shows.
    static let maxLineWidth = 160

    public static func github(_ diagnostics: [Diagnostic]) -> String {
        diagnostics.map { d in
            let kind = d.severity == .error ? "error" : d.severity == .warning ? "warning" : "notice"
            let message = d.message + (d.hint.map { " (hint: \($0))" } ?? "")
            return
                "::\(kind) file=\(escapeProperty(d.file)),line=\(d.span.start.line),col=\(d.span.start.column),endLine=\(d.span.end.line),endColumn=\(d.span.end.column),title=\(d.code.rawValue)::\(escapeData(message))\n"
        }.joined()
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
