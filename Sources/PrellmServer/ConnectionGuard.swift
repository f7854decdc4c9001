import HTTPTypes
import HummingbirdCore
import NIOHTTPTypes
import Logging
import NIOCore
import Synchronization

/// How long a client may take, and how many may be connected at once (`limits:`).
struct ConnectionLimits: Sendable {
    var header: Duration
    var body: Duration
    var idle: Duration
    var maxConnections: Int
}

/// The open client connections, shared by every connection's guard.
final class ConnectionCensus: Sendable {
    let max: Int
    private let open = Atomic<Int>(0)

    init(max: Int) { self.max = max }

    var count: Int { open.load(ordering: .relaxed) }

    /// Counts a new connection in, unless the gateway is full.
    func enter() -> Bool {
        let now = open.add(1, ordering: .relaxed).newValue
        if now <= max { return true }
        open.subtract(1, ordering: .relaxed)
        return false
    }

    func leave() { open.subtract(1, ordering: .relaxed) }
}

/// Hummingbird's HTTP/1.1 child channel with a guard in its pipeline, so that a slow or idle
/// client cannot keep a connection — and a file descriptor — for as long as it likes: a
/// request's head must arrive within `header` of its first byte, its body within `body` of
/// its head, and a kept-alive connection is closed after `idle` without a request. Past
/// `maxConnections` a new connection is answered 503 and closed.
struct GuardedHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value
    let inner: HTTP1Channel

    init(responder: @escaping HTTPChannelHandler.Responder, limits: ConnectionLimits, census: ConnectionCensus) {
        inner = HTTP1Channel(
            responder: responder,
            configuration: .init(additionalChannelHandlers: [ConnectionGuard(limits: limits, census: census)]))
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        inner.setup(channel: channel, logger: logger)
    }

    func handle(value: Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }
}

/// The guard's view of parsed requests and responses; it puts a ``RawBytesWatch`` at the front
/// of the pipeline to see a request's first byte, which the HTTP decoder does not report.
/// Both run on the connection's event loop.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// Where the connection is, and so which clock runs.
    enum Phase {
        /// Between requests (or before the first): `idle`.
        case idle
        /// A request's first bytes came, its head has not: `header`.
        case head
        /// The head came, the body's end has not: `body`.
        case body
        /// The request is read; the answer takes what the request's own deadlines allow.
        case answering
    }

    let limits: ConnectionLimits
    let census: ConnectionCensus
    private var phase = Phase.idle
    private var timer: Scheduled<Void>?
    private var counted = false
    private var started = false
    private var raw: RawBytesWatch?

    init(limits: ConnectionLimits, census: ConnectionCensus) {
        self.limits = limits
        self.census = census
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let watch = RawBytesWatch(owner: self)
        raw = watch
        try? context.pipeline.syncOperations.addHandler(watch, position: .first)
        if context.channel.isActive { start(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        if counted { census.leave() }
        counted = false
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: enter(.body, context)
        case .end: enter(.answering, context)
        case .body: break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { enter(.idle, context) }
        context.write(data, promise: promise)
    }

    /// The connection is open: counted in, or refused when the gateway is full.
    private func start(_ context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        if census.enter() {
            counted = true
            enter(.idle, context)
        } else {
            raw?.refuse(Self.full(census.max))
        }
    }

    /// Bytes came from the client: between requests, a request has begun.
    fileprivate func bytesArrived(_ context: ChannelHandlerContext) {
        if phase == .idle { enter(.head, context) }
    }

    private func enter(_ next: Phase, _ context: ChannelHandlerContext) {
        phase = next
        timer?.cancel()
        timer = nil
        let limit: Duration
        switch next {
        case .idle: limit = limits.idle
        case .head: limit = limits.header
        case .body: limit = limits.body
        case .answering: return
        }
        let channel = context.channel, raw = self.raw
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(limit.nanoseconds)) {
            switch next {
            case .idle, .answering: channel.close(promise: nil)
            case .head: raw?.refuse(Self.timedOut("its head", limit))
            case .body: raw?.refuse(Self.timedOut("its body", limit))
            }
        }
    }

    static func timedOut(_ part: String, _ limit: Duration) -> String {
        answer(
            408, "Request Timeout", "the request did not send \(part) within \(limit.formatted()); the connection is closed", code: "request_timeout")
    }

    static func full(_ max: Int) -> String {
        answer(
            503, "Service Unavailable", "the gateway has its most open connections (\(max)); try again shortly",
            code: "too_many_connections", retryAfter: 1)
    }

    /// A whole HTTP/1.1 answer in OpenAI's error shape, written below the HTTP encoder because
    /// the connection may be mid-request.
    static func answer(_ status: Int, _ reason: String, _ message: String, code: String, retryAfter: Int? = nil) -> String {
        let body = #"{"error":{"message":"\#(message)","type":"api_error","param":null,"code":"\#(code)"}}"#
        let retry = retryAfter.map { "Retry-After: \($0)\r\n" } ?? ""
        return "HTTP/1.1 \(status) \(reason)\r\nContent-Type: application/json\r\nX-Content-Type-Options: nosniff\r\n\(retry)"
            + "Connection: close\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
    }
}

/// Sees the client's bytes before the HTTP decoder does, and writes the guard's own answers
/// straight to the socket. A refused connection's further bytes are dropped; its output is
/// shut first and the socket closed a moment later, so the client reads the answer instead of
/// a reset for the request it had already sent.
final class RawBytesWatch: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private unowned let owner: ConnectionGuard
    private var context: ChannelHandlerContext?
    private var refused = false

    init(owner: ConnectionGuard) { self.owner = owner }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        owner.bytesArrived(context)
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        // Once the guard has answered, whatever the handlers behind it write is late.
        guard !refused else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        context.write(data, promise: promise)
    }

    func refuse(_ answer: String) {
        guard let context, !refused else { return }
        refused = true
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.byteBuffer(ByteBuffer(string: answer)))).whenComplete { _ in
            channel.close(mode: .output, promise: nil)
            channel.eventLoop.scheduleTask(in: .seconds(1)) { channel.close(promise: nil) }
        }
    }
}

extension Duration {
    fileprivate var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds.multipliedReportingOverflow(by: 1_000_000_000).overflow
            ? .max : seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
