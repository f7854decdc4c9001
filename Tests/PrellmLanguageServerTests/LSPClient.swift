import Foundation
import PrellmLanguageServer
import PrellmSchema
import ProviderStandIn

/// A minimal LSP client over a child's stdio. The child is spawned and waited for with
/// posix_spawn and waitpid rather than Foundation's Process, which has been seen not to notice
/// a child's end (PostgresServer says the same), and every read and wait is bounded, so a
/// server that hangs fails the test instead of holding one of the cooperative pool's threads.
final class LSPClient {
    let pid: pid_t
    let input: FileHandle
    let output: Int32
    var reader: MessageReader
    private var status: Int32?
    /// How long a read or the wait for the exit may take.
    static let patience: Int32 = 20_000

    init() throws {
        let bin = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("prellm").path
        var toChild: [Int32] = [0, 0], fromChild: [Int32] = [0, 0]
        // Close-on-exec, so that children other tests spawn meanwhile do not hold these pipes open.
        guard pipe(&toChild) == 0, pipe(&fromChild) == 0 else { throw Unexpected(message: "pipe: \(errno)") }
        for fd in toChild + fromChild { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, toChild[0], 0)
        posix_spawn_file_actions_adddup2(&actions, fromChild[1], 1)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        SpawnHygiene.closeInherited(&actions)
        let argv = [strdup(bin), strdup("lsp"), nil]
        defer { for a in argv { free(a) } }
        var child = pid_t()
        let spawned = posix_spawn(&child, bin, &actions, nil, argv, environ)
        close(toChild[0])
        close(fromChild[1])
        guard spawned == 0 else { throw Unexpected(message: "cannot run \(bin): error \(spawned)") }
        pid = child
        input = FileHandle(fileDescriptor: toChild[1], closeOnDealloc: true)
        output = fromChild[0]
        let fd = fromChild[0]
        reader = MessageReader {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, Self.patience) == 1 else { return [] }  // silent too long: taken as the end
            var buffer = [UInt8](repeating: 0, count: 65536)
            let n = read(fd, &buffer, buffer.count)
            return n > 0 ? Array(buffer[..<n]) : []
        }
    }

    deinit {
        stop()
        close(output)
    }

    func notify(_ method: String, _ params: JSONValue) {
        send(.object(["jsonrpc": "2.0", "method": .string(method), "params": params]))
    }

    func request(_ id: Int, _ method: String, _ params: JSONValue) throws -> JSONValue {
        send(.object(["jsonrpc": "2.0", "id": .number(Double(id)), "method": .string(method), "params": params]))
        return try next()
    }

    func send(_ message: JSONValue) { input.write(Data(MessageReader.frame(message))) }

    func next() throws -> JSONValue { try JSONParser.parse(bytes: try reader.next()) }

    /// The exit status, once the child has ended; -1 if it has not within `patience`.
    func waitForExit() -> Int32 {
        if let status { return status }
        var raw: Int32 = 0
        for _ in 0..<(Self.patience / 10) {
            let r = waitpid(pid, &raw, WNOHANG)
            if r == pid {
                status = (raw & 0x7f) == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f)
                return status!
            }
            if r < 0, errno != EINTR { return -1 }
            usleep(10_000)
        }
        return -1
    }

    func stop() {
        guard status == nil else { return }
        kill(pid, SIGKILL)
        var raw: Int32 = 0
        while waitpid(pid, &raw, 0) < 0 && errno == EINTR {}
        status = 128 + SIGKILL
    }

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
