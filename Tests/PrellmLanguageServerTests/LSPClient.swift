import Foundation
import PrellmLanguageServer
import PrellmSchema

/// A minimal LSP client over a child's stdio.
final class LSPClient {
    let process = Process()
    let stdin = Pipe()
    let stdout = Pipe()
    var reader: MessageReader

    init() throws {
        let bin = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("prellm")
        process.executableURL = bin
        process.arguments = ["lsp"]
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        try process.run()
        let handle = stdout.fileHandleForReading
        reader = MessageReader { Array(handle.availableData) }
    }

    func notify(_ method: String, _ params: JSONValue) {
        send(.object(["jsonrpc": "2.0", "method": .string(method), "params": params]))
    }

    func request(_ id: Int, _ method: String, _ params: JSONValue) throws -> JSONValue {
        send(.object(["jsonrpc": "2.0", "id": .number(Double(id)), "method": .string(method), "params": params]))
        return try next()
    }

    func send(_ message: JSONValue) { stdin.fileHandleForWriting.write(Data(MessageReader.frame(message))) }

    func next() throws -> JSONValue { try JSONParser.parse(bytes: try reader.next()) }

    func waitForExit() -> Int32 {
        process.waitUntilExit()
        return process.terminationStatus
    }

    func stop() { if process.isRunning { process.terminate() } }

    func initialize() throws {
        _ = try request(0, "initialize", .object(["processId": .null, "rootUri": .null, "capabilities": .object([:])]))
        notify("initialized", .object([:]))
    }

    /// Opens a document; returns the diagnostics published for each URI in the reply.
    @discardableResult
    func open(_ uri: String, _ text: String, expecting: Int = 1) throws -> [String: [JSONValue]] {
        notify(
            "textDocument/didOpen",
            .object(["textDocument": .object(["uri": .string(uri), "languageId": "yaml", "version": .number(1), "text": .string(text)])]))
        return try published(expecting)
    }

    @discardableResult
    func change(_ uri: String, _ text: String, version: Int, expecting: Int = 1) throws -> [String: [JSONValue]] {
        notify(
            "textDocument/didChange",
            .object([
                "textDocument": .object(["uri": .string(uri), "version": .number(Double(version))]),
                "contentChanges": .array([.object(["text": .string(text)])]),
            ]))
        return try published(expecting)
    }

    /// The next `count` publishDiagnostics notifications, by URI.
    func published(_ count: Int) throws -> [String: [JSONValue]] {
        var out: [String: [JSONValue]] = [:]
        for _ in 0..<count {
            let m = try next()
            guard m["method"] == "textDocument/publishDiagnostics", let uri = m["params"]?["uri"]?.stringValue else {
                throw Unexpected(message: m.jsonText)
            }
            out[uri] = m["params"]?["diagnostics"]?.arrayValue ?? []
        }
        return out
    }

    /// A request about a position: where `needle` is in `text`, `offset` UTF-16 units into it.
    func ask(_ id: Int, _ method: String, _ uri: String, _ text: String, _ needle: String, offset: Int = 0) throws -> JSONValue {
        let lines = text.components(separatedBy: "\n")
        guard let line = lines.firstIndex(where: { $0.contains(needle) }), let r = lines[line].range(of: needle) else {
            throw Unexpected(message: "'\(needle)' is not in the text")
        }
        let character = lines[line].utf16.distance(from: lines[line].startIndex, to: r.lowerBound) + offset
        let position = JSONValue.object(["line": .number(Double(line)), "character": .number(Double(character))])
        let reply = try request(
            id, method,
            .object([
                "textDocument": .object(["uri": .string(uri)]), "position": position,
                "context": .object(["includeDeclaration": true]),
            ]))
        return reply["result"] ?? .null
    }

    struct Unexpected: Error { var message: String }
}
