import Foundation
import PrellmCompiler
import PrellmSchema
import PrellmSyntax

/// The few JSON-RPC and LSP shapes the server speaks, written by hand: a dependency for a dozen
/// message types would cost more build minutes than it saves lines.
enum LSP {
    static func result(_ id: JSONValue?, _ value: JSONValue) -> JSONValue {
        .object(["jsonrpc": "2.0", "id": id ?? .null, "result": value])
    }

    static func error(_ id: JSONValue, code: Int, _ message: String) -> JSONValue {
        .object(["jsonrpc": "2.0", "id": id, "error": .object(["code": .number(Double(code)), "message": .string(message)])])
    }

    static func notification(_ method: String, _ params: JSONValue) -> JSONValue {
        .object(["jsonrpc": "2.0", "method": .string(method), "params": params])
    }

    static func int(_ v: JSONValue?) -> Int? {
        if case .number(let n)? = v, n == n.rounded(), abs(n) < 1e15 { return Int(n) }
        return nil
    }

    static func markdown(_ text: String) -> JSONValue {
        .object(["contents": .object(["kind": "markdown", "value": .string(text)])])
    }

    /// A span as LSP's zero-based range, its characters in UTF-16 code units.
    static func range(_ span: Span, _ source: Source) -> JSONValue {
        func position(_ p: Position) -> JSONValue {
            .object(["line": .number(Double(max(0, p.line - 1))), "character": .number(Double(max(0, source.utf16Column(of: p) - 1)))])
        }
        return .object(["start": position(span.start), "end": position(span.end)])
    }

    static func location(_ path: String, _ range: JSONValue) -> JSONValue {
        .object(["uri": .string(uri(of: path)), "range": range])
    }

    /// The start of a file: where going to a file (an import, a prompt file) lands.
    static func location(ofFile path: String) -> JSONValue {
        let start = JSONValue.object(["line": .number(0), "character": .number(0)])
        return location(path, .object(["start": start, "end": start]))
    }

    static func path(of uri: String) -> String {
        guard uri.hasPrefix("file://"), let url = URL(string: uri) else { return uri }
        return FilePaths.absolute(url.path)
    }

    static func uri(of path: String) -> String { URL(fileURLWithPath: FilePaths.absolute(path)).absoluteString }
}

/// A place in an open document as LSP names it: a zero-based line and a UTF-16 character.
struct TextPosition {
    var line: Int
    var character: Int

    init?(_ v: JSONValue?) {
        guard let line = LSP.int(v?["line"]), let character = LSP.int(v?["character"]), line >= 0, character >= 0 else { return nil }
        self.line = line
        self.character = character
    }
}
