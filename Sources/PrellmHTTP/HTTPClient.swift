import CCurl
import Foundation
import Synchronization

/// An HTTPClient sends HTTP requests through libcurl: one multi handle driven by one dedicated
/// thread, shared by every request of the process (connection reuse, keep-alive and HTTP/2
/// multiplexing come from the multi handle).
///
/// Invariants: easy and multi handles are touched only on the curl thread; other threads hand
/// it work through a lock-protected queue and `curl_multi_wakeup`, the one multi call that is
/// safe from any thread. No curl call runs on a caller's thread, so an event loop that awaits
/// a request is never blocked.
///
/// Timeouts: connect is libcurl's (`CURLOPT_CONNECTTIMEOUT_MS`); first byte, idle and total
/// are timers of our own in the loop (libcurl's low-speed limit averages over seconds and
/// fires late), so a stalled stream fails on time with the phase that stalled.
public final class HTTPClient: @unchecked Sendable {
    public static let shared = HTTPClient()

    enum Command {
        case add(Transfer)
        case cancel(Int)
    }

    private let multi: UnsafeMutableRawPointer
    private let queue = Mutex<[Command]>([])
    private let ids = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    /// Curl thread only.
    private var transfers: [Int: Transfer] = [:]
    /// Easy handles of finished transfers, reset for the next (curl thread only): creating and
    /// freeing one per request cost more than the request's own work in libcurl.
    private var idleHandles: [UnsafeMutableRawPointer] = []
    private static let idleHandleLimit = 64
    private var thread: Thread?
    private let caBundle: String?

    private static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    /// `caBundle` is the file of certificates to trust; nil reads `SSL_CERT_FILE` or
    /// `CURL_CA_BUNDLE`, else the system's.
    public init(maxConnectionsPerHost: Int = 64, caBundle: String? = nil) {
        _ = Self.globalInit
        multi = curl_multi_init()!
        _ = prellm_multi_setopt_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, maxConnectionsPerHost)
        _ = prellm_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, maxConnectionsPerHost * 4)
        // libcurl ignores these variables itself; the curl tool honours them, and so do we, so
        // that users behind TLS-inspecting proxies are not stuck.
        let env = ProcessInfo.processInfo.environment
        self.caBundle = caBundle ?? env["SSL_CERT_FILE"] ?? env["CURL_CA_BUNDLE"]
        let thread = Thread { [unowned self] in self.run() }
        thread.name = "prellm-curl"
        self.thread = thread
        thread.start()
    }

    deinit {
        stopping.store(true, ordering: .relaxed)
        curl_multi_wakeup(multi)
    }

    // MARK: - Public API

    /// Sends a request and returns the whole response (any status).
    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        let id = ids.add(1, ordering: .relaxed).newValue
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { c in
                enqueue(.add(Transfer(id: id, request: request, mode: .whole(c))))
            }
        } onCancel: {
            self.enqueue(.cancel(id))
        }
    }

    /// Sends a request and returns as soon as the response head arrives; the body follows in
    /// chunks. Ending the iteration early, or cancelling the task, cancels the transfer.
    public func stream(_ request: HTTPRequest) async throws -> HTTPStreamResponse {
        let id = ids.add(1, ordering: .relaxed).newValue
        let (body, continuation) = AsyncThrowingStream<[UInt8], any Error>.makeStream()
        continuation.onTermination = { [weak self] termination in
            if case .cancelled = termination { self?.enqueue(.cancel(id)) }
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { head in
                let transfer = Transfer(id: id, request: request, mode: .stream(head: head, body: continuation))
                transfer.streamHolder.put(body)
                enqueue(.add(transfer))
            }
        } onCancel: {
            self.enqueue(.cancel(id))
        }
    }

    func enqueue(_ command: Command) {
        queue.withLock { $0.append(command) }
        curl_multi_wakeup(multi)
    }

    // MARK: - The curl thread

    private func run() {
        var running: Int32 = 0
        while !stopping.load(ordering: .relaxed) {
            for command in queue.withLock({ q in
                defer { q.removeAll() }; return q
            }) {
                switch command {
                case .add(let t): start(t)
                case .cancel(let id): if let t = transfers[id] { end(t, HTTPError(.cancelled, "the request was cancelled")) }
                }
            }
            curl_multi_perform(multi, &running)
            var left: Int32 = 0
            while let msg = curl_multi_info_read(multi, &left) {
                guard msg.pointee.msg == CURLMSG_DONE, let easy = msg.pointee.easy_handle else { continue }
                let result = msg.pointee.data.result
                var ptr: UnsafeMutableRawPointer?
                _ = prellm_easy_getinfo_ptr(easy, CURLINFO_PRIVATE, &ptr)
                guard let ptr, let t = transfers[Int(bitPattern: ptr)] else { continue }
                end(t, result == CURLE_OK ? nil : error(for: result, t))
            }
            let now = ContinuousClock.now
            var wait = Duration.seconds(1)
            for t in transfers.values {
                if let phase = t.expired(at: now) {
                    end(
                        t,
                        HTTPError(
                            .timeout(phase),
                            "no \(phase == .total ? "complete response" : phase == .idle ? "data" : "response") within \(Self.describe(Self.limit(t, phase)))"
                        ))
                } else if let d = t.deadline {
                    wait = min(wait, max(.milliseconds(1), d - now))
                }
            }
            let ms = Int32(max(1, min(1000, wait.components.seconds * 1000 + wait.components.attoseconds / 1_000_000_000_000_000)))
            curl_multi_poll(multi, nil, 0, ms, nil)
        }
        for t in transfers.values { end(t, HTTPError(.cancelled, "the HTTP client stopped")) }
        for easy in idleHandles { curl_easy_cleanup(easy) }
        curl_multi_cleanup(multi)
    }

    static func limit(_ t: Transfer, _ phase: HTTPError.Phase) -> Duration {
        switch phase {
        case .connect: t.request.timeouts.connect ?? .zero
        case .firstByte: t.request.timeouts.firstByte ?? .zero
        case .idle: t.request.timeouts.idle ?? .zero
        case .total: t.request.timeouts.total ?? .zero
        }
    }

    static func describe(_ d: Duration) -> String {
        let ms = d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000
        return ms % 1000 == 0 ? "\(ms / 1000)s" : "\(ms)ms"
    }

    private func error(for code: CURLcode, _ t: Transfer) -> HTTPError {
        t.copyError()
        let detail = String(cString: t.errorBuffer).isEmpty ? String(cString: curl_easy_strerror(code)) : String(cString: t.errorBuffer)
        if t.bodyTooLarge {
            return HTTPError(.tooLarge, "the response from \(Self.hostPart(t.request.url)) is larger than \(t.request.maxBodyBytes) bytes")
        }
        switch code {
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_PROXY:
            return HTTPError(.connect, "cannot connect to \(Self.hostPart(t.request.url)): \(detail)")
        case CURLE_OPERATION_TIMEDOUT:
            return t.status == 0 && !t.receivedBody
                ? HTTPError(
                    .timeout(.connect),
                    "cannot connect to \(Self.hostPart(t.request.url)) within \(Self.describe(t.request.timeouts.connect ?? .zero))")
                : HTTPError(.timeout(.total), detail)
        case CURLE_PARTIAL_FILE, CURLE_RECV_ERROR, CURLE_GOT_NOTHING, CURLE_HTTP2_STREAM, CURLE_HTTP2:
            return HTTPError(.cutStream, "the connection closed before the response was complete (\(detail))")
        default:
            return HTTPError(.other, detail)
        }
    }

    /// Scheme, host and port of a URL: never the path or query, which may carry a key.
    static func hostPart(_ url: String) -> String {
        guard let schemeEnd = url.range(of: "://") else { return "the server" }
        let rest = url[schemeEnd.upperBound...]
        let host = rest.prefix { $0 != "/" && $0 != "?" }
        return String(url[..<schemeEnd.upperBound] + host)
    }

    private func start(_ t: Transfer) {
        guard let easy = idleHandles.popLast() ?? curl_easy_init() else {
            t.finish(HTTPError(.other, "cannot create a curl handle"))
            return
        }
        let h = easy
        t.easy = easy
        transfers[t.id] = t
        let r = t.request
        _ = r.url.withCString { prellm_easy_setopt_ptr(h, CURLOPT_URL, $0) }
        _ = prellm_easy_setopt_long(h, CURLOPT_NOSIGNAL, 1)
        _ = prellm_easy_setopt_long(h, CURLOPT_TCP_KEEPALIVE, 1)
        // PIPEWAIT lets concurrent requests to an HTTP/2 host share one connection, but over
        // cleartext (HTTP/1.1 here: 2TLS) it makes each request wait for a connection that can
        // never multiplex, so requests to a local model server ran one after another.
        _ = prellm_easy_setopt_long(h, CURLOPT_PIPEWAIT, r.url.utf8.starts(with: "https:".utf8) ? 1 : 0)
        _ = prellm_easy_setopt_long(h, CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_2TLS))
        _ = "".withCString { prellm_easy_setopt_ptr(h, CURLOPT_ACCEPT_ENCODING, $0) }
        if let connect = r.timeouts.connect {
            _ = prellm_easy_setopt_long(
                h, CURLOPT_CONNECTTIMEOUT_MS, Int(connect.components.seconds * 1000 + connect.components.attoseconds / 1_000_000_000_000_000))
        }
        if let caBundle { _ = caBundle.withCString { prellm_easy_setopt_ptr(h, CURLOPT_CAINFO, $0) } }
        switch r.method {
        case "GET": _ = prellm_easy_setopt_long(h, CURLOPT_HTTPGET, 1)
        case "POST": _ = prellm_easy_setopt_long(h, CURLOPT_POST, 1)
        default: _ = r.method.withCString { prellm_easy_setopt_ptr(h, CURLOPT_CUSTOMREQUEST, $0) }
        }
        if let body = r.body {
            _ = prellm_easy_setopt_off(h, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count))
            // COPYPOSTFIELDS: curl keeps its own copy, so the body's lifetime is not ours to manage.
            _ = body.withUnsafeBytes { prellm_easy_setopt_ptr(h, CURLOPT_COPYPOSTFIELDS, $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1)) }
        }
        var list: UnsafeMutablePointer<curl_slist>?
        for (name, value) in r.headers { list = curl_slist_append(list, "\(name): \(value)") }
        list = curl_slist_append(list, "Expect:")  // no 100-continue round trip
        t.headerList = list
        _ = prellm_easy_setopt_ptr(h, CURLOPT_HTTPHEADER, list)
        let me = Unmanaged.passUnretained(t).toOpaque()
        _ = prellm_easy_setopt_ptr(h, CURLOPT_WRITEDATA, me)
        _ = prellm_easy_setopt_ptr(h, CURLOPT_HEADERDATA, me)
        _ = prellm_easy_setopt_cb(h, CURLOPT_WRITEFUNCTION, onBody)
        _ = prellm_easy_setopt_cb(h, CURLOPT_HEADERFUNCTION, onHeader)
        _ = prellm_easy_setopt_ptr(h, CURLOPT_PRIVATE, UnsafeRawPointer(bitPattern: t.id))
        _ = prellm_easy_setopt_ptr(h, CURLOPT_ERRORBUFFER, t.errorPointer)
        curl_multi_add_handle(multi, h)
    }

    /// Removes a transfer from the multi handle and completes it.
    private func end(_ t: Transfer, _ error: HTTPError?) {
        if let easy = t.easy {
            curl_multi_remove_handle(multi, easy)
            t.copyError()
            if idleHandles.count < Self.idleHandleLimit {
                curl_easy_reset(easy)
                idleHandles.append(easy)
            } else {
                curl_easy_cleanup(easy)
            }
            t.easy = nil
        }
        if let list = t.headerList { curl_slist_free_all(list); t.headerList = nil }
        transfers[t.id] = nil
        t.finish(error)
        t.releaseErrorBuffer()
    }
}

private let onBody: prellm_curl_data_cb = { ptr, size, count, userdata in
    guard let ptr, let userdata else { return 0 }
    let n = size * count
    let t = Unmanaged<Transfer>.fromOpaque(userdata).takeUnretainedValue()
    // Returning less than `n` makes libcurl abort the transfer (CURLE_WRITE_ERROR).
    return t.onBody(UnsafeBufferPointer(start: UnsafeRawPointer(ptr).assumingMemoryBound(to: UInt8.self), count: n)) ? n : 0
}

private let onHeader: prellm_curl_data_cb = { ptr, size, count, userdata in
    guard let ptr, let userdata else { return 0 }
    let n = size * count
    let t = Unmanaged<Transfer>.fromOpaque(userdata).takeUnretainedValue()
    t.onHeaderLine(UnsafeBufferPointer(start: UnsafeRawPointer(ptr).assumingMemoryBound(to: UInt8.self), count: n))
    return n
}
