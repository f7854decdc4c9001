import Foundation
import PrellmLanguageServer
import PrellmSchema
import ProviderStandIn
import Testing

/// `prellm lsp` driven as an editor drives it: a real process, JSON-RPC with Content-Length
/// framing over its stdin and stdout.
@Suite struct LanguageServerTests {
    static let broken = """
        prellm: 1
        inputs:
          message: {type: string}
        steps:
          - id: answer
            call: {model: openai/gpt-4o-mini, prompt: "😀 {{ inputs.mesage }}"}
        output: "{{ answer }}"
        """

    /// A TextEdit applied to `text` (its range on one line, in UTF-16 code units).
    static func apply(_ edit: JSONValue, to text: String) -> String? {
        guard case .number(let line)? = edit["range"]?["start"]?["line"], case .number(let a)? = edit["range"]?["start"]?["character"],
            case .number(let b)? = edit["range"]?["end"]?["character"], let new = edit["newText"]?.stringValue
        else { return nil }
        var lines = text.components(separatedBy: "\n")
        let units = Array(lines[Int(line)].utf16)
        lines[Int(line)] = String(decoding: units[..<Int(a)], as: UTF16.self) + new + String(decoding: units[Int(b)...], as: UTF16.self)
        return lines.joined(separator: "\n")
    }

    @Test func diagnosticsOnOpenAndChangeThenShutdown() async throws {
        let client = try LSPClient()
        defer { client.stop() }
        let uri = "file:///tmp/prellm-lsp-\(UUID().uuidString)/w.prellm.yaml"
        let initialized = try client.request(1, "initialize", .object(["processId": .null, "rootUri": .null, "capabilities": .object([:])]))
        #expect(initialized["result"]?["capabilities"]?["textDocumentSync"]?["change"] == .number(1))
        client.notify("initialized", .object([:]))
        client.notify(
            "textDocument/didOpen",
            .object(["textDocument": .object(["uri": .string(uri), "languageId": "yaml", "version": .number(1), "text": .string(Self.broken)])]))
        let published = try client.next()
        #expect(published["method"] == "textDocument/publishDiagnostics")
        let all = published["params"]?["diagnostics"]?.arrayValue ?? []
        let d = try #require(all.first { $0["message"]?.stringValue?.contains("mesage") == true }, "\(published.jsonText)")
        #expect(d["code"] == "PL202", "\(published.jsonText)")
        #expect(d["message"]?.stringValue?.contains("hint: did you mean 'message'?") == true, "\(published.jsonText)")
        #expect(d["range"]?["start"]?["line"] == .number(5))
        // The field's name, counted in UTF-16 code units: the emoji before it is two of them.
        let line = Self.broken.split(separator: "\n")[5]
        let found = try #require(line.range(of: "mesage"))
        let column = line.utf16.distance(from: line.startIndex, to: found.lowerBound)
        #expect(d["range"]?["start"]?["character"] == .number(Double(column)), "\(published.jsonText)")

        // The did-you-mean hint's code action, applied as an editor applies it, fixes the text.
        let actions = try client.request(
            5, "textDocument/codeAction",
            .object([
                "textDocument": .object(["uri": .string(uri)]), "range": d["range"] ?? .null,
                "context": .object(["diagnostics": .array([d])]),
            ]))
        let action = try #require(actions["result"]?[0], "\(actions.jsonText)")
        #expect(action["title"] == "Replace with 'message'")
        let edit = try #require(action["edit"]?["changes"]?[uri]?[0])
        #expect(Self.apply(edit, to: Self.broken) == Self.broken.replacingOccurrences(of: "mesage", with: "message"))

        let fixed = Self.broken.replacingOccurrences(of: "mesage", with: "message")
        client.notify(
            "textDocument/didChange",
            .object([
                "textDocument": .object(["uri": .string(uri), "version": .number(2)]),
                "contentChanges": .array([.object(["text": .string(fixed)])]),
            ]))
        let again = try client.next()
        #expect(again["params"]?["diagnostics"] == .array([]), "\(again.jsonText)")
        #expect(again["params"]?["version"] == .number(2))

        // Half-typed: the server answers with diagnostics, not a crash.
        client.notify(
            "textDocument/didChange",
            .object([
                "textDocument": .object(["uri": .string(uri), "version": .number(3)]),
                "contentChanges": .array([.object(["text": "prellm: 1\nsteps:\n  - id: [\n"])]),
            ]))
        #expect(try client.next()["params"]?["diagnostics"]?.arrayValue?.isEmpty == false)

        // The outline of the last text that decoded.
        client.notify(
            "textDocument/didChange",
            .object([
                "textDocument": .object(["uri": .string(uri), "version": .number(4)]),
                "contentChanges": .array([.object(["text": .string(fixed)])]),
            ]))
        _ = try client.next()
        let outline = try client.request(
            4, "textDocument/documentSymbol", .object(["textDocument": .object(["uri": .string(uri)])]))
        let names = outline["result"]?.arrayValue?.compactMap { $0["name"]?.stringValue }
        #expect(names == ["message", "answer"], "\(outline.jsonText)")
        #expect(outline["result"]?[1]?["detail"] == "call")
        #expect(outline["result"]?[1]?["selectionRange"]?["start"]?["line"] == .number(4))

        // `{{ answer }}` on the output line (6) goes to the step, and a hover says what it is.
        let at = JSONValue.object([
            "textDocument": .object(["uri": .string(uri)]), "position": .object(["line": .number(6), "character": .number(13)]),
        ])
        let definition = try client.request(6, "textDocument/definition", at)
        #expect(definition["result"]?["range"]?["start"]?["line"] == .number(4), "\(definition.jsonText)")
        let hover = try client.request(7, "textDocument/hover", at)
        #expect(hover["result"]?["contents"]?["value"] == "step `answer` (call): `string`", "\(hover.jsonText)")

        let unknown = try client.request(2, "textDocument/formatting", .object([:]))
        #expect(unknown["error"]?["code"] == .number(-32601))
        #expect(try client.request(3, "shutdown", .null)["result"] == .null)
        client.notify("exit", .null)
        #expect(client.waitForExit() == 0)
    }
}
