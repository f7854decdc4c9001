import PrellmHTTP
import PrellmProviderKit
import PrellmSchema

/// ProviderTransport is what every wire format shares: building the HTTP request, turning an
/// error status into a ProviderError (with the format's own classifier), mapping transport
/// failures, honouring `Retry-After`, and keeping the API key out of every message.
struct ProviderTransport: Sendable {
    typealias Classifier = @Sendable (_ status: Int, _ body: JSONValue?, _ text: String) -> (ProviderError.Kind, String)

    let configuration: ProviderConfiguration
    let client: HTTPClient
    let classify: Classifier

    var provider: String { configuration.name }

    /// - Parameter trace: the attempt span's context, sent as `traceparent` so an upstream that
    ///   traces continues the same trace.
    func request(
        path: String, body: JSONValue, headers: [(name: String, value: String)], streaming: Bool, trace: TraceContext? = nil
    ) -> HTTPRequest {
        let t = configuration.timeouts
        let timeouts = HTTPTimeouts(connect: t.connect, firstByte: t.firstToken, idle: streaming ? t.idle : nil, total: t.total)
        var all: [(name: String, value: String)] = [
            ("Content-Type", "application/json"), ("Accept", streaming ? "text/event-stream" : "application/json"),
        ]
        all += headers
        all += configuration.extraHeaders
        if let trace { all.append(("traceparent", trace.traceparent)) }
        return HTTPRequest(method: "POST", url: configuration.baseURL + path, headers: all, body: Array(body.jsonText.utf8), timeouts: timeouts)
    }

    /// A health probe: GET `path` with the provider's headers; any 2xx within `timeout` passes.
    func probe(path: String, headers: [(name: String, value: String)], timeout: Duration) async throws(ProviderError) {
        let request = HTTPRequest(
            method: "GET", url: configuration.baseURL + path, headers: headers + configuration.extraHeaders,
            timeouts: HTTPTimeouts(connect: timeout, firstByte: timeout, idle: nil, total: timeout), maxBodyBytes: 4 << 20)
        let response: HTTPResponse
        do { response = try await client.send(request) } catch { throw normalize(error) }
        guard (200..<300).contains(response.head.status) else { throw failure(response.head, response.body) }
    }

    /// Sends a request and returns the parsed JSON body of a successful response.
    func send(_ request: HTTPRequest) async throws(ProviderError) -> JSONValue {
        let response: HTTPResponse
        do { response = try await client.send(request) } catch { throw normalize(error) }
        guard (200..<300).contains(response.head.status) else { throw failure(response.head, response.body) }
        do { return try JSONParser.parse(bytes: response.body) } catch {
            throw ProviderError(
                provider: provider, kind: .invalidResponse, status: response.head.status,
                message: redact("the response is not valid JSON (\(error)): \(Self.excerpt(response.body))"))
        }
    }

    /// Opens a stream; an error status is read whole and thrown.
    func open(_ request: HTTPRequest) async throws(ProviderError) -> AsyncThrowingStream<[UInt8], any Error> {
        let response: HTTPStreamResponse
        do { response = try await client.stream(request) } catch { throw normalize(error) }
        guard (200..<300).contains(response.head.status) else {
            var body: [UInt8] = []
            do { for try await chunk in response.body where body.count < 1 << 20 { body += chunk } } catch {}
            throw failure(response.head, body)
        }
        return response.body
    }

    func failure(_ head: HTTPResponseHead, _ body: [UInt8]) -> ProviderError {
        let text = String(decoding: body.prefix(64 * 1024), as: UTF8.self)
        let json = try? JSONParser.parse(bytes: body)
        let (kind, message) = classify(head.status, json, text)
        return ProviderError(
            provider: provider, kind: kind, status: head.status, retryAfter: Self.retryAfter(head),
            message: redact(message.isEmpty ? "HTTP \(head.status)" : message))
    }

    /// Maps anything thrown while talking to the provider to a ProviderError.
    func normalize(_ error: any Error) -> ProviderError {
        if var e = error as? ProviderError {
            e.message = redact(e.message)
            return e
        }
        if let e = error as? HTTPError {
            let kind: ProviderError.Kind =
                switch e.kind {
                case .connect: .connection
                case .timeout: .timeout
                case .cutStream: .cutStream
                case .cancelled: .connection
                case .tooLarge: .invalidResponse
                case .other: .connection
                }
            return ProviderError(provider: provider, kind: kind, message: redact(e.message))
        }
        if error is CancellationError { return ProviderError(provider: provider, kind: .connection, message: "cancelled") }
        return ProviderError(provider: provider, kind: .invalidResponse, message: redact("\(error)"))
    }

    func redact(_ text: String) -> String {
        ProviderError.redact(text, secrets: configuration.apiKey.map { [$0] } ?? [])
    }

    /// `Retry-After` in seconds (or as an HTTP date, which is treated as "soon"), or OpenAI's `retry-after-ms`.
    static func retryAfter(_ head: HTTPResponseHead) -> Duration? {
        if let ms = head.header("retry-after-ms").flatMap(Double.init), ms >= 0 { return .milliseconds(Int64(ms)) }
        guard let value = head.header("retry-after") else { return nil }
        if let seconds = Double(value.filter { $0 != " " && $0 != "\t" }), seconds >= 0 { return .milliseconds(Int64(seconds * 1000)) }
        return .seconds(1)
    }

    static func excerpt(_ body: [UInt8]) -> String {
        let s = String(decoding: body.prefix(200), as: UTF8.self)
        return body.count > 200 ? s + "…" : s
    }

    /// Runs a stream decoder in a task and exposes its deltas; cancelling the consumer cancels the request.
    func deltas(
        _ produce: @escaping @Sendable (AsyncThrowingStream<ChatDelta, any Error>.Continuation) async throws -> Void
    )
        -> AsyncThrowingStream<ChatDelta, any Error>
    {
        AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    try await produce(continuation)
                    try Task.checkCancellation()
                    continuation.finish()
                } catch is CancellationError {
                    continuation.finish(throwing: CancellationError())
                } catch {
                    continuation.finish(throwing: normalize(error))
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    func cut(_ what: String) -> ProviderError {
        ProviderError(provider: provider, kind: .cutStream, message: "the stream ended before \(what)")
    }

    func invalid(_ what: String) -> ProviderError {
        ProviderError(provider: provider, kind: .invalidResponse, message: redact(what))
    }
}

extension ProviderError.Kind {
    /// The kind an HTTP status means when the body says nothing more specific.
    static func forStatus(_ status: Int) -> ProviderError.Kind {
        switch status {
        case 401, 403: .auth
        case 404: .notFound
        case 408: .timeout
        case 413: .contextTooLong
        case 429: .rateLimit
        case 400..<500: .badRequest
        default: .server
        }
    }
}
