/// An HTTPRequest is what the client sends: method, URL, headers and body, with its timeouts.
public struct HTTPRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]?
    public var timeouts: HTTPTimeouts
    /// The largest whole response body accepted (a streamed body is read as it comes and is
    /// not bounded here). A larger one ends the transfer with a `tooLarge` error rather than
    /// filling memory.
    public var maxBodyBytes: Int

    public init(
        method: String = "POST", url: String, headers: [(name: String, value: String)] = [],
        body: [UInt8]? = nil, timeouts: HTTPTimeouts = .init(), maxBodyBytes: Int = 64 << 20
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeouts = timeouts
        self.maxBodyBytes = maxBodyBytes
    }
}

/// HTTPTimeouts bound each phase of a request. `nil` means no limit for that phase.
///
/// - `connect`: TCP (and TLS) connection;
/// - `firstByte`: from sending the request to the first byte of the response body
///   (time to first token, for a stream);
/// - `idle`: the longest pause between two chunks of the body;
/// - `total`: the whole exchange.
public struct HTTPTimeouts: Sendable, Hashable {
    public var connect: Duration?
    public var firstByte: Duration?
    public var idle: Duration?
    public var total: Duration?

    public init(
        connect: Duration? = .seconds(10), firstByte: Duration? = .seconds(60), idle: Duration? = .seconds(60),
        total: Duration? = .seconds(600)
    ) {
        self.connect = connect
        self.firstByte = firstByte
        self.idle = idle
        self.total = total
    }
}

/// The status line and headers of a response.
public struct HTTPResponseHead: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]

    public init(status: Int, headers: [(name: String, value: String)]) {
        self.status = status
        self.headers = headers
    }

    /// The first header with this name (case-insensitive).
    public func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first { $0.name.lowercased() == lower }?.value
    }
}

/// A whole response.
public struct HTTPResponse: Sendable {
    public var head: HTTPResponseHead
    public var body: [UInt8]
}

/// A streamed response: the head, then the body in chunks as they arrive. Stopping the
/// iteration (or cancelling the task) cancels the transfer.
public struct HTTPStreamResponse: Sendable {
    public var head: HTTPResponseHead
    public var body: AsyncThrowingStream<[UInt8], any Error>
}

/// An HTTPError is a failure below HTTP: no connection, a timeout, a body cut short.
/// (A response with an error status is not an HTTPError; the provider layer reads it.)
public struct HTTPError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        case connect
        case timeout(Phase)
        /// The connection closed before the body was complete.
        case cutStream
        case cancelled
        /// A whole response body larger than the request's `maxBodyBytes`.
        case tooLarge
        case other
    }

    public enum Phase: String, Sendable, Hashable { case connect, firstByte = "first byte", idle, total }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
