import PrellmHTTP
import Synchronization

/// Where a tracer hands finished spans: the OTLP exporter, or a test's memory.
public protocol SpanExporting: Sendable {
    /// Takes a finished span; never blocks and never fails the caller.
    func enqueue(_ span: SpanData)
}

/// The OTLP/HTTP exporter: finished spans wait in a bounded buffer (past its size they are
/// dropped and counted, so a slow collector never holds a request up), and a background task
/// sends them in batches every `scheduleDelay` or as soon as a batch is full. A failed export
/// is logged once and its spans are dropped: traces never fail a run.
public final class OTLPExporter: SpanExporting {
    struct Buffer {
        var spans: [SpanData] = []
        var dropped = 0
        var stopped = false
    }

    let configuration: TelemetryConfiguration
    let client: HTTPClient
    let version: String
    let log: @Sendable (String) -> Void
    private let buffer = Mutex(Buffer())
    private let warned = Atomic<Bool>(false)
    /// Wakes the worker early when a batch is full; holding one wake-up is enough.
    private let wake: AsyncStream<Void>.Continuation
    /// The task that sends batches; set once init has a `self` to give it.
    private let worker = Mutex<Task<Void, Never>?>(nil)
    private let ticker: Task<Void, Never>

    public init(
        configuration: TelemetryConfiguration, version: String, client: HTTPClient = .shared,
        log: @escaping @Sendable (String) -> Void
    ) {
        self.configuration = configuration
        self.client = client
        self.version = version
        self.log = log
        let (wakeups, wake) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        self.wake = wake
        let delay = configuration.scheduleDelay
        ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: delay)
                wake.yield()
            }
        }
        // Weak: a dropped exporter ends its worker instead of being kept alive by it.
        let task = Task { [weak self] in
            for await _ in wakeups { await self?.exportQueued() }
        }
        worker.withLock { $0 = task }
    }

    deinit {
        ticker.cancel()
        wake.finish()
    }

    public func enqueue(_ span: SpanData) {
        let full = buffer.withLock { b -> Bool in
            guard !b.stopped else { return false }
            guard b.spans.count < configuration.maxQueueSize else {
                b.dropped += 1
                return false
            }
            b.spans.append(span)
            return b.spans.count >= configuration.maxBatchSize
        }
        if full { wake.yield() }
    }

    /// Spans dropped because the buffer was full, since the start.
    public var dropped: Int { buffer.withLock { $0.dropped } }

    /// Sends whatever is queued now, in batches; each request is bounded by `timeout`.
    public func flush(timeout: Duration? = nil) async {
        await exportQueued(timeout: timeout)
    }

    /// Flushes and stops: later spans are not queued. `prellm run` calls it before it exits,
    /// `prellm serve` when it shuts down.
    public func shutdown(timeout: Duration) async {
        ticker.cancel()
        await exportQueued(timeout: timeout)
        buffer.withLock { $0.stopped = true }
        wake.finish()
        worker.withLock { $0?.cancel() }
    }

    func exportQueued(timeout: Duration? = nil) async {
        while true {
            let batch = buffer.withLock { b -> [SpanData] in
                let n = min(b.spans.count, configuration.maxBatchSize)
                defer { b.spans.removeFirst(n) }
                return Array(b.spans.prefix(n))
            }
            if batch.isEmpty { return }
            await send(batch, timeout: timeout ?? configuration.timeout)
        }
    }

    /// POSTs one batch; a failure is logged once (a collector that is down would otherwise
    /// write a line per batch), and those spans are gone.
    func send(_ batch: [SpanData], timeout: Duration) async {
        let c = configuration
        let body =
            switch c.encoding {
            case .protobuf: OTLPProtobuf.exportRequest(batch, resource: c.resource, scope: "prellm", version: version)
            case .json: OTLPJSON.exportRequest(batch, resource: c.resource, scope: "prellm", version: version)
            }
        let type = c.encoding == .protobuf ? "application/x-protobuf" : "application/json"
        let request = HTTPRequest(
            method: "POST", url: c.endpoint, headers: [("Content-Type", type)] + c.headers, body: body,
            timeouts: HTTPTimeouts(connect: timeout, firstByte: timeout, idle: nil, total: timeout), maxBodyBytes: 1 << 20)
        do {
            let response = try await client.send(request)
            guard (200..<300).contains(response.head.status) else {
                warnOnce("the OTLP endpoint \(c.endpoint) answered HTTP \(response.head.status)")
                return
            }
        } catch {
            warnOnce("cannot export traces to \(c.endpoint): \(error)")
        }
    }

    func warnOnce(_ message: String) {
        guard !warned.exchange(true, ordering: .relaxed) else { return }
        log(message + " (spans are dropped; this is said once)")
    }
}
