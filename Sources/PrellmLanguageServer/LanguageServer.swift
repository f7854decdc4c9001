import Foundation
import PrellmCompiler
import PrellmSchema
import PrellmSyntax

/// `prellm lsp`: a language server for workflow files, speaking LSP's JSON-RPC over stdio. The
/// compiler's diagnostics — the codes, hints and related places `prellm lint` reports — are
/// published on open and on every change, with ranges in UTF-16 code units as LSP counts them.
/// `handle` is a pure step from one message to the messages it answers with, so the protocol
/// is tested without a process; `run` is the loop over stdio.
public final class LanguageServer {
    /// The open documents: their text and version, by URI.
    struct Document {
        var version: Int
        var text: String
        /// The decoded workflow of the last compile, for the outline.
        var workflow: Workflow?
    }

    private var documents: [String: Document] = [:]
    private var shutDown = false
    /// Set by `exit`: the process's exit status (0 after `shutdown`, 1 without).
    public private(set) var exitCode: Int32?

    /// What `initialize` answers as the server's version.
    let version: String

    public init(version: String = "dev") { self.version = version }

    /// The messages to send for one that arrived.
    public func handle(_ message: JSONValue) -> [JSONValue] {
        let method = message["method"]?.stringValue
        let id = message["id"]
        let params = message["params"] ?? .null
        switch method {
        case "initialize"?: return [Self.result(id, capabilities)]
        case "initialized"?: return []
        case "shutdown"?:
            shutDown = true
            return [Self.result(id, .null)]
        case "exit"?:
            exitCode = shutDown ? 0 : 1
            return []
        case "textDocument/didOpen"?:
            guard let doc = params["textDocument"], let uri = doc["uri"]?.stringValue, let text = doc["text"]?.stringValue else { return [] }
            documents[uri] = Document(version: Self.int(doc["version"]) ?? 0, text: text)
            return [publish(uri)]
        case "textDocument/didChange"?:
            guard let uri = params["textDocument"]?["uri"]?.stringValue, var doc = documents[uri],
                let text = params["contentChanges"]?.arrayValue?.last?["text"]?.stringValue
            else { return [] }
            doc.text = text
            doc.version = Self.int(params["textDocument"]?["version"]) ?? doc.version + 1
            documents[uri] = doc
            return [publish(uri)]
        case "textDocument/documentSymbol"?:
            guard let uri = params["textDocument"]?["uri"]?.stringValue, let doc = documents[uri] else { return [Self.result(id, .array([]))] }
            return [Self.result(id, .array(Self.symbols(doc.workflow, Source(path: Self.path(of: uri), text: doc.text))))]
        case "textDocument/definition"?, "textDocument/hover"?:
            guard let uri = params["textDocument"]?["uri"]?.stringValue, let doc = documents[uri], let w = doc.workflow,
                let line = Self.int(params["position"]?["line"]), let character = Self.int(params["position"]?["character"]),
                let found = Self.name(at: line, character, in: doc.text).flatMap({ Self.definition(of: $0, in: w) })
            else { return [Self.result(id, .null)] }
            let source = Source(path: Self.path(of: uri), text: doc.text)
            if method == "textDocument/definition" {
                return [Self.result(id, .object(["uri": .string(uri), "range": Self.range(found.name.span, source)]))]
            }
            return [Self.result(id, .object(["contents": .object(["kind": "markdown", "value": .string(found.summary)])]))]
        case "textDocument/codeAction"?:
            guard let uri = params["textDocument"]?["uri"]?.stringValue else { return [Self.result(id, .array([]))] }
            let diagnostics = params["context"]?["diagnostics"]?.arrayValue ?? []
            return [Self.result(id, .array(diagnostics.compactMap { Self.quickFix(uri, $0) }))]
        case "textDocument/didClose"?:
            guard let uri = params["textDocument"]?["uri"]?.stringValue else { return [] }
            documents[uri] = nil
            return [Self.notification("textDocument/publishDiagnostics", .object(["uri": .string(uri), "diagnostics": .array([])]))]
        case let other?:
            // A request this server does not serve is answered; a notification is ignored.
            guard let id else { return [] }
            return [Self.error(id, code: -32601, "method not found: \(other)")]
        case nil:
            return [Self.error(id ?? .null, code: -32600, "not a request or a notification")]
        }
    }

    /// Full-text sync: a change sends the whole document (a workflow is small, and the compiler
    /// reads it whole anyway).
    var capabilities: JSONValue {
        .object([
            "capabilities": .object([
                "textDocumentSync": .object(["openClose": true, "change": .number(1)]), "documentSymbolProvider": true, "definitionProvider": true,
                "hoverProvider": true,
                "codeActionProvider": .object(["codeActionKinds": .array(["quickfix"])]),
            ]),
            "serverInfo": .object(["name": "prellm", "version": .string(version)]),
        ])
    }

    static func int(_ v: JSONValue?) -> Int? {
        if case .number(let n)? = v, n == n.rounded(), abs(n) < 1e15 { return Int(n) }
        return nil
    }

    /// The document's diagnostics, as `prellm lint` finds them.
    func publish(_ uri: String) -> JSONValue {
        guard var doc = documents[uri] else { return .null }
        let path = Self.path(of: uri)
        var diagnostics: [JSONValue] = []
        doc.workflow = nil
        if Self.isWorkflowFile(doc.text) {
            let source = Source(path: path, text: doc.text)
            let result = WorkflowCompiler().compile(source: source)
            diagnostics = result.diagnostics.filter { $0.file == path }.map { Self.lsp($0, source, sources: result.sources) }
            doc.workflow = result.workflow
        }
        documents[uri] = doc
        return Self.notification(
            "textDocument/publishDiagnostics",
            .object(["uri": .string(uri), "version": .number(Double(doc.version)), "diagnostics": .array(diagnostics)]))
    }

    /// The outline: inputs, models, contracts and steps, each at its name (LSP SymbolKind:
    /// 13 variable, 14 constant, 23 struct, 12 function).
    static func symbols(_ w: Workflow?, _ source: Source) -> [JSONValue] {
        guard let w else { return [] }
        func symbol(_ name: Workflow.Name, _ kind: Int, _ detail: String) -> JSONValue {
            let r = range(name.span, source)
            return .object(["name": .string(name.value), "kind": .number(Double(kind)), "detail": .string(detail), "range": r, "selectionRange": r])
        }
        return w.inputs.map { symbol($0.name, 13, "input") } + w.models.map { symbol($0.name, 14, "model") }
            + w.contracts.map { symbol($0.name, 23, "contract") } + w.steps.map { symbol($0.id, 12, $0.kind.rawValue) }
    }

    /// The identifier under a position (zero-based line, UTF-16 character), and whether it
    /// follows `inputs.`: a step id, a contract, a model alias or an input's name.
    static func name(at line: Int, _ character: Int, in text: String) -> (word: String, isInput: Bool)? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard line >= 0, line < lines.count else { return nil }
        let units = Array(lines[line].utf16)
        func isWord(_ u: UInt16) -> Bool {
            (u >= 48 && u <= 57) || (u >= 65 && u <= 90) || (u >= 97 && u <= 122) || u == 95 || u == 45
        }
        guard character >= 0, character <= units.count else { return nil }
        var a = character, b = character
        while a > 0, isWord(units[a - 1]) { a -= 1 }
        while b < units.count, isWord(units[b]) { b += 1 }
        guard a < b else { return nil }
        let word = String(decoding: units[a..<b], as: UTF16.self)
        let before = String(decoding: units[..<a], as: UTF16.self)
        return (word, before.hasSuffix("inputs."))
    }

    /// Where a name is declared in the workflow, and what a hover says of it.
    static func definition(of name: (word: String, isInput: Bool), in w: Workflow) -> (name: Workflow.Name, summary: String)? {
        if name.isInput || !w.steps.contains(where: { $0.id.value == name.word }) {
            if let input = w.inputs.first(where: { $0.name.value == name.word }) {
                return (input.name, "input `\(name.word)`: `\(input.schema.jsonText)`")
            }
        }
        if let step = w.steps.first(where: { $0.id.value == name.word }) {
            return (step.id, "step `\(name.word)` (\(step.kind.rawValue))")
        }
        if let contract = w.contracts.first(where: { $0.name.value == name.word }) {
            return (contract.name, "contract `\(name.word)`: `\(String(contract.schema.jsonText.prefix(400)))`")
        }
        if let alias = w.models.first(where: { $0.name.value == name.word }) {
            return (alias.name, "model `\(name.word)`: \(alias.choices.map(\.id).joined(separator: ", ")) (\(alias.policy.rawValue))")
        }
        return nil
    }

    /// The fix a did-you-mean hint names (`deplyo` → `deploy`): its diagnostic's range replaced
    /// by the suggestion.
    static func quickFix(_ uri: String, _ diagnostic: JSONValue) -> JSONValue? {
        guard diagnostic["source"] == "prellm", let message = diagnostic["message"]?.stringValue, let range = diagnostic["range"],
            let start = message.range(of: "did you mean '"), let end = message[start.upperBound...].firstIndex(of: "'")
        else { return nil }
        let suggestion = String(message[start.upperBound..<end])
        let edit = JSONValue.object(["range": range, "newText": .string(suggestion)])
        return .object([
            "title": .string("Replace with '\(suggestion)'"), "kind": "quickfix", "diagnostics": .array([diagnostic]), "isPreferred": true,
            "edit": .object(["changes": .object([uri: .array([edit])])]),
        ])
    }

    /// Files with a top-level `prellm:` key are workflow or config files; other YAML is not ours.
    static func isWorkflowFile(_ text: String) -> Bool {
        text.split(separator: "\n", omittingEmptySubsequences: false).contains { $0.hasPrefix("prellm:") }
    }

    static func lsp(_ d: Diagnostic, _ source: Source, sources: [String: Source]) -> JSONValue {
        var out: [String: JSONValue] = [
            "range": range(d.span, source),
            "severity": .number(d.severity == .error ? 1 : d.severity == .warning ? 2 : 3),
            "code": .string(d.code.rawValue), "source": "prellm",
            "message": .string(d.message + (d.hint.map { "\nhint: " + $0 } ?? "")),
        ]
        if !d.related.isEmpty {
            out["relatedInformation"] = .array(
                d.related.map { r in
                    let s = sources[r.file] ?? source
                    return .object([
                        "location": .object(["uri": .string(uri(of: r.file)), "range": range(r.span, s)]), "message": .string(r.message),
                    ])
                })
        }
        return .object(out)
    }

    /// A span as LSP's zero-based range, its characters in UTF-16 code units.
    static func range(_ span: Span, _ source: Source) -> JSONValue {
        func position(_ p: Position) -> JSONValue {
            .object(["line": .number(Double(max(0, p.line - 1))), "character": .number(Double(max(0, source.utf16Column(of: p) - 1)))])
        }
        return .object(["start": position(span.start), "end": position(span.end)])
    }

    static func path(of uri: String) -> String {
        guard uri.hasPrefix("file://"), let url = URL(string: uri) else { return uri }
        return url.path
    }

    static func uri(of path: String) -> String { URL(fileURLWithPath: path).absoluteString }

    static func result(_ id: JSONValue?, _ value: JSONValue) -> JSONValue {
        .object(["jsonrpc": "2.0", "id": id ?? .null, "result": value])
    }

    static func error(_ id: JSONValue, code: Int, _ message: String) -> JSONValue {
        .object(["jsonrpc": "2.0", "id": id, "error": .object(["code": .number(Double(code)), "message": .string(message)])])
    }

    static func notification(_ method: String, _ params: JSONValue) -> JSONValue {
        .object(["jsonrpc": "2.0", "method": .string(method), "params": params])
    }

    /// Serves stdio until `exit` or the end of input; returns the exit status.
    public func run(input: FileHandle = .standardInput, output: FileHandle = .standardOutput) -> Int32 {
        var source = MessageReader { Array(input.availableData) }
        while exitCode == nil {
            let body: [UInt8]
            do { body = try source.next() } catch {
                if error == .ended { return 1 }
                output.write(Data(MessageReader.frame(Self.error(.null, code: -32700, "\(error)"))))
                return 1
            }
            let replies: [JSONValue]
            if let message = try? JSONParser.parse(bytes: body) {
                replies = handle(message)
            } else {
                replies = [Self.error(.null, code: -32700, "the message is not JSON")]
            }
            for r in replies { output.write(Data(MessageReader.frame(r))) }
        }
        return exitCode ?? 1
    }
}
