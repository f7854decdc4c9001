import Foundation
import PrellmCompiler
import PrellmProviderKit
import PrellmSchema
import PrellmSyntax

/// `prellm lsp`: a language server for workflow files, speaking LSP's JSON-RPC over stdio. The
/// compiler's diagnostics — the codes, hints and related places `prellm lint` reports — are
/// published on open and on every change, with ranges in UTF-16 code units as LSP counts them;
/// hover, definition, references and completion read the same compile's analysis.
/// `handle` is a pure step from one message to the messages it answers with, so the protocol
/// is tested without a process; `run` is the loop over stdio.
public final class LanguageServer {
    private var workspace = Workspace()
    private var shutDown = false
    /// Set by `exit`: the process's exit status (0 after `shutdown`, 1 without).
    public private(set) var exitCode: Int32?
    /// What `initialize` answers as the server's version.
    let version: String
    let catalog = ModelCatalog.builtin

    public init(version: String = "dev") { self.version = version }

    /// The messages to send for one that arrived.
    public func handle(_ message: JSONValue) -> [JSONValue] {
        let id = message["id"]
        let params = message["params"] ?? .null
        switch message["method"]?.stringValue {
        case "initialize"?: return [LSP.result(id, capabilities)]
        case "initialized"?: return []
        case "shutdown"?:
            shutDown = true
            return [LSP.result(id, .null)]
        case "exit"?:
            exitCode = shutDown ? 0 : 1
            return []
        case "textDocument/didOpen"?: return didOpen(params)
        case "textDocument/didChange"?: return didChange(params)
        case "textDocument/didClose"?: return didClose(params)
        case "textDocument/documentSymbol"?: return [LSP.result(id, .array(document(params).map(Outline.symbols) ?? []))]
        case "textDocument/hover"?: return [LSP.result(id, hover(params))]
        case "textDocument/definition"?: return [LSP.result(id, definition(params))]
        case "textDocument/references"?: return [LSP.result(id, .array(references(params)))]
        case "textDocument/completion"?: return [LSP.result(id, completion(params))]
        case "textDocument/codeAction"?: return [LSP.result(id, .array(codeActions(params)))]
        case let other?:
            // A request this server does not serve is answered; a notification is ignored.
            guard let id else { return [] }
            return [LSP.error(id, code: -32601, "method not found: \(other)")]
        case nil:
            return [LSP.error(id ?? .null, code: -32600, "not a request or a notification")]
        }
    }

    /// Full-text sync: a change sends the whole document (a workflow is small, and the compiler
    /// reads it whole anyway).
    var capabilities: JSONValue {
        .object([
            "capabilities": .object([
                "textDocumentSync": .object(["openClose": true, "change": .number(1)]), "documentSymbolProvider": true, "definitionProvider": true,
                "referencesProvider": true, "hoverProvider": true,
                "completionProvider": .object(["triggerCharacters": .array([".", "|", "\"", " ", "{"])]),
                "codeActionProvider": .object(["codeActionKinds": .array(["quickfix"])]),
            ]),
            "serverInfo": .object(["name": "prellm", "version": .string(version)]),
        ])
    }

    // MARK: - Documents

    func didOpen(_ params: JSONValue) -> [JSONValue] {
        guard let doc = params["textDocument"], let uri = doc["uri"]?.stringValue, let text = doc["text"]?.stringValue else { return [] }
        return publish(workspace.update(uri, text: text, version: LSP.int(doc["version"]) ?? 0))
    }

    func didChange(_ params: JSONValue) -> [JSONValue] {
        guard let uri = params["textDocument"]?["uri"]?.stringValue, let doc = workspace[uri],
            let text = params["contentChanges"]?.arrayValue?.last?["text"]?.stringValue
        else { return [] }
        return publish(workspace.update(uri, text: text, version: LSP.int(params["textDocument"]?["version"]) ?? doc.version + 1))
    }

    func didClose(_ params: JSONValue) -> [JSONValue] {
        guard let uri = params["textDocument"]?["uri"]?.stringValue else { return [] }
        let cleared = LSP.notification("textDocument/publishDiagnostics", .object(["uri": .string(uri), "diagnostics": .array([])]))
        return [cleared] + publish(workspace.close(uri))
    }

    func publish(_ uris: [String]) -> [JSONValue] {
        uris.compactMap { workspace[$0].map(Diagnostics.publish) }
    }

    // MARK: - Requests at a position

    func document(_ params: JSONValue) -> Document? {
        params["textDocument"]?["uri"]?.stringValue.flatMap { workspace[$0] }
    }

    /// The document, its program and the cursor a position request is about.
    /// Only workflow files are answered: an editor sends every YAML file to the server, and a
    /// compose file must not be offered workflow keys.
    func at(_ params: JSONValue) -> (doc: Document, view: ProgramView?, cursor: Cursor)? {
        guard let doc = document(params), Document.isWorkflowFile(doc.text) || doc.path.hasSuffix(".prellm.yaml"),
            let position = TextPosition(params["position"]), let cursor = Cursor(doc.text, position)
        else { return nil }
        return (doc, ProgramView(doc), cursor)
    }

    func hover(_ params: JSONValue) -> JSONValue {
        guard let r = at(params), let view = r.view, let text = Hover(view: view, catalog: catalog).text(at: r.cursor) else { return .null }
        return LSP.markdown(text)
    }

    func definition(_ params: JSONValue) -> JSONValue {
        guard let r = at(params), let view = r.view else { return .null }
        return Navigation(doc: r.doc, view: view).definition(at: r.cursor) ?? .null
    }

    func references(_ params: JSONValue) -> [JSONValue] {
        guard let r = at(params), let view = r.view else { return [] }
        let declaration = params["context"]?["includeDeclaration"]?.boolValue ?? true
        return Navigation(doc: r.doc, view: view).references(at: r.cursor, includeDeclaration: declaration)
    }

    func completion(_ params: JSONValue) -> JSONValue {
        guard let r = at(params) else { return .null }
        let items = Completion(view: r.view, catalog: catalog).items(at: r.cursor)
        return .object(["isIncomplete": false, "items": .array(items)])
    }

    func codeActions(_ params: JSONValue) -> [JSONValue] {
        guard let uri = params["textDocument"]?["uri"]?.stringValue else { return [] }
        return (params["context"]?["diagnostics"]?.arrayValue ?? []).compactMap { Outline.quickFix(uri, $0) }
    }

    // MARK: - Stdio

    /// Serves stdio until `exit` or the end of input; returns the exit status.
    public func run(input: FileHandle = .standardInput, output: FileHandle = .standardOutput) -> Int32 {
        var source = MessageReader { Array(input.availableData) }
        while exitCode == nil {
            let body: [UInt8]
            do { body = try source.next() } catch {
                if error == .ended { return 1 }
                output.write(Data(MessageReader.frame(LSP.error(.null, code: -32700, "\(error)"))))
                return 1
            }
            let replies: [JSONValue]
            if let message = try? JSONParser.parse(bytes: body) {
                replies = handle(message)
            } else {
                replies = [LSP.error(.null, code: -32700, "the message is not JSON")]
            }
            for r in replies { output.write(Data(MessageReader.frame(r))) }
        }
        return exitCode ?? 1
    }
}
