import Foundation
import PrellmLanguageServer
import PrellmSchema
import Testing

/// A file being typed is mostly malformed: every prefix of a real workflow, cut every few
/// characters, is sent as a change, and hover, definition, references and completion are asked
/// at its end and at a few places before it. Every request gets its answer (a result, never an
/// error) and the server never traps.
@Suite struct HalfTypedTests {
    /// Asks every request at a position of the current text; returns the replies.
    static func ask(_ server: LanguageServer, _ uri: String, line: Int, character: Int, id: inout Int) -> [JSONValue] {
        let at = JSONValue.object([
            "textDocument": .object(["uri": .string(uri)]),
            "position": .object(["line": .number(Double(line)), "character": .number(Double(character))]),
            "context": .object(["includeDeclaration": true]),
        ])
        return ["textDocument/hover", "textDocument/definition", "textDocument/references", "textDocument/completion"].flatMap { method in
            id += 1
            return server.handle(.object(["jsonrpc": "2.0", "id": .number(Double(id)), "method": .string(method), "params": at]))
        }
    }

    /// On a thread of its own: hundreds of debug-build compiles would hold a cooperative-pool
    /// thread for seconds.
    @Test func everyPrefixOfAWorkflowIsAnswered() async {
        let failures: [String] = await withCheckedContinuation { done in
            Thread { done.resume(returning: Self.run(step: 3)) }.start()
        }
        #expect(failures.isEmpty, "\(failures.prefix(5))")
    }

    static func run(step: Int) -> [String] {
        let server = LanguageServer()
        let uri = "file:///tmp/prellm-half-typed/w.prellm.yaml"
        let text = LanguageFeatureTests.workflow
        var failures: [String] = []
        var id = 0
        _ = server.handle(
            .object([
                "jsonrpc": "2.0", "method": "textDocument/didOpen",
                "params": .object(["textDocument": .object(["uri": .string(uri), "version": .number(1), "text": ""])]),
            ]))
        let units = Array(text.utf16)
        for (v, cut) in stride(from: 0, through: units.count, by: step).enumerated() {
            let prefix = String(decoding: units[..<cut], as: UTF16.self)
            let published = server.handle(
                .object([
                    "jsonrpc": "2.0", "method": "textDocument/didChange",
                    "params": .object([
                        "textDocument": .object(["uri": .string(uri), "version": .number(Double(v + 2))]),
                        "contentChanges": .array([.object(["text": .string(prefix)])]),
                    ]),
                ]))
            if published.first?["method"] != "textDocument/publishDiagnostics" { failures.append("no diagnostics at \(cut)") }
            let lines = prefix.components(separatedBy: "\n")
            let last = lines.count - 1
            var places = [(last, lines[last].utf16.count), (last, 0), (max(0, last - 3), 4)]
            places.append((last + 5, 200))  // past the end: clamped, not a trap
            for (line, character) in places {
                for reply in ask(server, uri, line: line, character: character, id: &id) where reply["error"] != nil {
                    failures.append("\(cut) \(line):\(character): \(reply.jsonText)")
                }
            }
        }
        return failures
    }
}
