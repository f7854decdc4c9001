import Foundation
import Synchronization
#if canImport(Glibc)
    import Glibc
#endif

/// A StandInServer is a real HTTP/1.1 server on 127.0.0.1 that tests drive byte for byte:
/// each request is handed to the test's handler, which writes exactly what a provider would
/// send — a JSON body, an SSE or NDJSON stream in pieces, an error with `Retry-After` — or
/// misbehaves on purpose: a slow first byte, a connection cut mid-stream, malformed JSON.
///
/// Plain POSIX sockets and one thread per connection: no dependency, nothing hidden between
/// the test and the bytes on the wire. Keep-alive is honoured, so connection reuse is real.
public final class StandInServer: @unchecked Sendable {
    public typealias Handler = @Sendable (RecordedRequest, ResponseWriter) -> Void

    public let port: Int
    public var baseURL: String { "http://127.0.0.1:\(port)" }
    private let listener: Int32
    private let handler: Handler
    private let recorded = Mutex<[RecordedRequest]>([])
    private let connections = Mutex<[Int32]>([])
    private let stopped = Atomic<Bool>(false)

    /// `port` 0 takes a free one; a given port lets a test stop a server and start it again
    /// where its clients expect it.
    public init(port wanted: Int = 0, handler: @escaping Handler) throws {
        self.handler = handler
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw StandInError("socket() failed") }
        var yes: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(wanted).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(listener, 64) == 0 else { close(listener); throw StandInError("bind/listen failed") }
        var out = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &out) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &len) }
        }
        self.listener = listener
        port = Int(UInt16(bigEndian: out.sin_port))
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    deinit { stop() }

    /// Every request received so far, in order.
    public var requests: [RecordedRequest] { recorded.withLock { $0 } }

    public func stop() {
        guard !stopped.exchange(true, ordering: .relaxed) else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        for fd in connections.withLock({ $0 }) { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    private func acceptLoop() {
        while !stopped.load(ordering: .relaxed) {
            let fd = accept(listener, nil, nil)
            if fd < 0 { if stopped.load(ordering: .relaxed) { return } else { continue } }
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            connections.withLock { $0.append(fd) }
            let thread = Thread { [self] in serve(fd) }
            thread.start()
        }
    }

    private func serve(_ fd: Int32) {
        var reader = RequestReader(fd: fd)
        defer { close(fd) }
        while !stopped.load(ordering: .relaxed), let request = reader.next() {
            recorded.withLock { $0.append(request) }
            let writer = ResponseWriter(fd: fd)
            handler(request, writer)
            if writer.isClosed || request.header("connection")?.lowercased() == "close" { return }
        }
    }
}

public struct StandInError: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}

/// A request as the server received it.
public struct RecordedRequest: Sendable {
    public var method: String
    public var path: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(method: String, path: String, headers: [(name: String, value: String)], body: [UInt8]) {
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}

struct RequestReader {
    let fd: Int32
    var buffer: [UInt8] = []

    mutating func fill() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return false }
        buffer.append(contentsOf: chunk[0..<n])
        return true
    }

    mutating func next() -> RecordedRequest? {
        var headerEnd: Int?
        while headerEnd == nil {
            if let r = find([13, 10, 13, 10]) { headerEnd = r } else if !fill() { return nil }
        }
        let head = String(decoding: buffer[0..<headerEnd!], as: UTF8.self)
        buffer.removeFirst(headerEnd! + 4)
        var lines = head.components(separatedBy: "\r\n")
        let requestLine = lines.removeFirst().split(separator: " ")
        guard requestLine.count >= 2 else { return nil }
        let headers = lines.compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        let length = Int(headers.first { $0.0.lowercased() == "content-length" }?.1 ?? "0") ?? 0
        while buffer.count < length { if !fill() { return nil } }
        let body = Array(buffer[0..<length])
        buffer.removeFirst(length)
        return RecordedRequest(method: String(requestLine[0]), path: String(requestLine[1]), headers: headers, body: body)
    }

    func find(_ needle: [UInt8]) -> Int? {
        guard buffer.count >= needle.count else { return nil }
        for i in 0...(buffer.count - needle.count) where buffer[i] == needle[0] && Array(buffer[i..<i + needle.count]) == needle {
            return i
        }
        return nil
    }
}

/// Writes a response to the connection, in whatever pieces and at whatever pace the test wants.
public final class ResponseWriter: @unchecked Sendable {
    let fd: Int32
    public private(set) var isClosed = false

    init(fd: Int32) { self.fd = fd }

    public func write(_ bytes: [UInt8]) {
        guard !isClosed else { return }
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { isClosed = true; return }
            sent += n
        }
    }

    public func write(_ text: String) { write(Array(text.utf8)) }

    public func pause(_ ms: Int) { usleep(useconds_t(ms * 1000)) }

    /// Closes the connection at once, whatever has been sent.
    public func cut() {
        guard !isClosed else { return }
        isClosed = true
        shutdown(fd, Int32(SHUT_RDWR))
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 413: "Payload Too Large"
        case 429: "Too Many Requests"
        case 500: "Internal Server Error"
        case 503: "Service Unavailable"
        case 529: "Overloaded"
        default: "Status"
        }
    }

    /// A whole response with Content-Length.
    public func respond(status: Int = 200, headers: [(String, String)] = [("Content-Type", "application/json")], body: String) {
        var head = "HTTP/1.1 \(status) \(Self.reason(status))\r\n"
        for (n, v) in headers { head += "\(n): \(v)\r\n" }
        head += "Content-Length: \(body.utf8.count)\r\n\r\n"
        write(head + body)
    }

    /// Starts a chunked response; follow with `chunk` calls and `end`.
    public func startChunked(status: Int = 200, contentType: String = "text/event-stream", headers: [(String, String)] = []) {
        var head = "HTTP/1.1 \(status) \(Self.reason(status))\r\nContent-Type: \(contentType)\r\nTransfer-Encoding: chunked\r\n"
        for (n, v) in headers { head += "\(n): \(v)\r\n" }
        write(head + "\r\n")
    }

    public func chunk(_ text: String) {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty else { return }
        write(String(bytes.count, radix: 16) + "\r\n")
        write(bytes)
        write("\r\n")
    }

    public func end() { write("0\r\n\r\n") }
}
