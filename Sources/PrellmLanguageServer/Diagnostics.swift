import PrellmCompiler
import PrellmSchema
import PrellmSyntax

/// A document's diagnostics as LSP publishes them: the compiler's own, with the codes, hints
/// and related places `prellm lint` reports. A diagnostic inside another file the document
/// reads (a prompt file, a `$ref` schema) is shown where the document names that file, with
/// the place itself as related information, so an error is never out of sight.
enum Diagnostics {
    static func publish(_ doc: Document) -> JSONValue {
        LSP.notification(
            "textDocument/publishDiagnostics",
            .object(["uri": .string(doc.uri), "version": .number(Double(doc.version)), "diagnostics": .array(of(doc))]))
    }

    static func of(_ doc: Document) -> [JSONValue] {
        guard let result = doc.compiled else { return [] }
        let source = doc.source
        let places = FileMentions(doc)
        return result.diagnostics.compactMap { d in
            if FilePaths.absolute(d.file) == doc.path { return lsp(d, source, sources: result.sources) }
            guard let place = places[FilePaths.absolute(d.file)] else { return nil }
            var moved = d
            moved.message = "in \(d.file):\(d.span.start): \(d.message)"
            moved.span = place
            moved.related.insert(.init(file: d.file, span: d.span, message: "the \(d.severity.rawValue) is here"), at: 0)
            return lsp(moved, source, sources: result.sources)
        }
    }

    static func lsp(_ d: Diagnostic, _ source: Source, sources: [String: Source]) -> JSONValue {
        var out: [String: JSONValue] = [
            "range": LSP.range(d.span, source),
            "severity": .number(d.severity == .error ? 1 : d.severity == .warning ? 2 : 3),
            "code": .string(d.code.rawValue), "source": "prellm",
            "message": .string(d.message + (d.hint.map { "\nhint: " + $0 } ?? "")),
        ]
        if !d.related.isEmpty {
            out["relatedInformation"] = .array(
                d.related.map { r in
                    let s = sources[r.file] ?? source
                    return .object(["location": LSP.location(r.file, LSP.range(r.span, s)), "message": .string(r.message)])
                })
        }
        return .object(out)
    }
}

/// Where a document names other files: `prompt_file:`, `$ref:` and its imports, by the
/// absolute path each resolves to.
struct FileMentions {
    private var places: [String: Span] = [:]

    init(_ doc: Document) {
        let source = doc.source
        var section: Substring = ""
        for n in 1...max(1, source.lineCount) {
            let line = source.line(n)
            if let c = line.first, c.isLetter { section = line.split(separator: ":", maxSplits: 1).first ?? "" }
            for key in ["prompt_file", "$ref"] {
                if let m = Self.value(after: key + ":", in: line) { add(m, n, line, doc.path) }
            }
            let comment = line.drop { $0 == " " }.hasPrefix("#")
            if section == "imports", line.hasPrefix(" "), !comment, let m = Self.value(after: ":", in: line) { add(m, n, line, doc.path) }
        }
    }

    subscript(path: String) -> Span? { places[path] }

    private mutating func add(_ value: (text: String, column: Int), _ line: Int, _ text: String, _ from: String) {
        let pathPart = value.text.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        guard !pathPart.isEmpty else { return }
        let absolute = FilePaths.resolve(pathPart, relativeTo: from)
        let start = Position(line: line, column: value.column)
        places[absolute] = places[absolute] ?? Span(start: start, end: Position(line: line, column: value.column + value.text.unicodeScalars.count))
    }

    /// The scalar written after `marker` on a line, and its 1-based column.
    static func value(after marker: String, in line: String) -> (text: String, column: Int)? {
        guard let r = line.range(of: marker) else { return nil }
        let rest = line[r.upperBound...]
        let start = rest.firstIndex { !" \"'".contains($0) } ?? rest.endIndex
        let text = rest[start...].prefix { !$0.isWhitespace && !"\"',}#".contains($0) }
        guard !text.isEmpty else { return nil }
        return (String(text), line[..<start].unicodeScalars.count + 1)
    }
}
