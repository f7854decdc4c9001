import CCurl
import Synchronization

/// A Transfer is one request in flight. Its fields are touched only on the client's curl
/// thread (the C callbacks run there too), which is why it can be `@unchecked Sendable`.
final class Transfer: @unchecked Sendable {
    enum Mode {
        case whole(CheckedContinuation<HTTPResponse, any Error>)
        case stream(head: CheckedContinuation<HTTPStreamResponse, any Error>?, body: AsyncThrowingStream<[UInt8], any Error>.Continuation)
    }

    let id: Int
    let request: HTTPRequest
    var mode: Mode
    var easy: UnsafeMutableRawPointer?
    var headerList: UnsafeMutablePointer<curl_slist>?
    /// libcurl writes its detailed message here; it must stay put while the handle lives.
    let errorPointer: UnsafeMutablePointer<CChar> = {
        let p = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        p.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        return p
    }()
    /// The message copied out of `errorPointer` when the handle is cleaned up.
    var errorBuffer: [CChar] = [0]
    private var errorReleased = false

    var status = 0
    var headers: [(name: String, value: String)] = []
    var headDelivered = false
    var body: [UInt8] = []
    var receivedBody = false
    /// Set when a whole body passed `maxBodyBytes` and the transfer was aborted for it.
    var bodyTooLarge = false

    let started: ContinuousClock.Instant
    var lastActivity: ContinuousClock.Instant
    var finished = false

    init(id: Int, request: HTTPRequest, mode: Mode) {
        self.id = id
        self.request = request
        self.mode = mode
        self.started = .now
        self.lastActivity = .now
    }

    /// The next instant at which a timeout of ours (first byte, idle, total for streams) fires.
    var deadline: ContinuousClock.Instant? {
        var next: ContinuousClock.Instant?
        func consider(_ t: ContinuousClock.Instant) { if next == nil || t < next! { next = t } }
        if let total = request.timeouts.total { consider(started + total) }
        if !receivedBody, let first = request.timeouts.firstByte { consider(started + first) }
        if receivedBody, let idle = request.timeouts.idle { consider(lastActivity + idle) }
        return next
    }

    /// Which phase has timed out at `now`, if any.
    func expired(at now: ContinuousClock.Instant) -> HTTPError.Phase? {
        if let total = request.timeouts.total, now >= started + total { return .total }
        if !receivedBody, let first = request.timeouts.firstByte, now >= started + first { return .firstByte }
        if receivedBody, let idle = request.timeouts.idle, now >= lastActivity + idle { return .idle }
        return nil
    }

    func copyError() {
        errorBuffer = Array(UnsafeBufferPointer(start: errorPointer, count: Int(CURL_ERROR_SIZE) + 1))
    }

    func releaseErrorBuffer() {
        guard !errorReleased else { return }
        errorReleased = true
        errorPointer.deallocate()
    }

    deinit { releaseErrorBuffer() }

    // MARK: - Callbacks (curl thread)

    func onHeaderLine(_ bytes: UnsafeBufferPointer<UInt8>) {
        var end = bytes.count
        while end > 0, bytes[end - 1] == 10 || bytes[end - 1] == 13 { end -= 1 }
        if end == 0 {
            // A blank line ends a header block. Interim (1xx) and proxy CONNECT blocks are skipped.
            var code = 0
            if let easy { _ = prellm_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &code) }
            if code >= 200 { status = code; deliverHead() } else { headers.removeAll() }
            return
        }
        let line = String(decoding: UnsafeBufferPointer(rebasing: bytes[0..<end]), as: UTF8.self)
        if line.hasPrefix("HTTP/") { headers.removeAll(); return }
        guard let colon = line.firstIndex(of: ":") else { return }
        let name = String(line[..<colon])
        let value = String(line[line.index(after: colon)...]).trimmingSpaces()
        headers.append((name, value))
    }

    /// Takes a piece of the body; false aborts the transfer (the body is too large).
    func onBody(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        receivedBody = true
        lastActivity = .now
        if !headDelivered { deliverHead() }
        switch mode {
        case .whole:
            guard body.count + bytes.count <= request.maxBodyBytes else {
                bodyTooLarge = true
                return false
            }
            body.append(contentsOf: bytes)
        case .stream(_, let continuation): continuation.yield(Array(bytes))
        }
        return true
    }

    func deliverHead() {
        guard !headDelivered else { return }
        headDelivered = true
        if case .stream(let head?, let bodyContinuation) = mode {
            let stream = streamHolder.take()
            head.resume(returning: HTTPStreamResponse(head: HTTPResponseHead(status: status, headers: headers), body: stream!))
            mode = .stream(head: nil, body: bodyContinuation)
        }
    }

    /// The body stream, handed to the caller with the head.
    let streamHolder = StreamHolder()

    /// Ends the transfer exactly once, with an error or success.
    func finish(_ error: HTTPError?) {
        guard !finished else { return }
        finished = true
        switch mode {
        case .whole(let c):
            if let error {
                c.resume(throwing: error)
            } else {
                c.resume(returning: HTTPResponse(head: HTTPResponseHead(status: status, headers: headers), body: body))
            }
        case .stream(let head, let bodyContinuation):
            if let head {
                if let error {
                    head.resume(throwing: error)
                } else {
                    // Finished without a body (e.g. 204): still deliver the head.
                    let stream = streamHolder.take()!
                    head.resume(returning: HTTPStreamResponse(head: HTTPResponseHead(status: status, headers: headers), body: stream))
                }
            }
            bodyContinuation.finish(throwing: error)
        }
    }
}

/// Holds the body stream between its creation and the moment the head is delivered.
final class StreamHolder: Sendable {
    private let stream = Mutex<AsyncThrowingStream<[UInt8], any Error>?>(nil)
    func put(_ s: AsyncThrowingStream<[UInt8], any Error>) { stream.withLock { $0 = s } }
    func take() -> AsyncThrowingStream<[UInt8], any Error>? {
        stream.withLock { s in
            defer { s = nil }; return s
        }
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }
}
