import Foundation
import HTTPTypes
import HummingbirdCore
import NIOCore
import Hummingbird
import PrellmCompiler
import PrellmProviderKit
import PrellmRuntime
import PrellmSchema
import PrellmTelemetry

/// The gateway's HTTP surface: `POST /v1/chat/completions` (plain and streamed),
/// `GET /v1/models`, `GET /healthz`, `GET /readyz`.
extension Gateway {
    static let requestID = HTTPField.Name("x-request-id")!
    static let modelHeader = HTTPField.Name("x-prellm-model")!
    static let cacheHeader = HTTPField.Name("x-prellm-cache")!
    static let costHeader = HTTPField.Name("x-prellm-cost-usd")!

    public func makeRouter() -> Router<BasicRequestContext> {
        Self.makeRouter(cors: config.server.cors) { self }
    }

    /// The routes, each answered by the gateway `current` gives when its request arrives: a
    /// reload swaps the gateway for requests that arrive after it, and those in flight finish
    /// on the one they started with.
    static func makeRouter(cors: [String], _ current: @escaping @Sendable () -> Gateway) -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: SecurityHeaders())
        router.add(middleware: UnknownRoute())
        if !cors.isEmpty { router.add(middleware: CORS(origins: cors)) }
        router.get("/healthz") { _, _ in Self.json(200, .object(["status": "ok"])) }
        router.get("/readyz") { request, _ in await current().readiness(deep: request.uri.queryParameters["deep"] == "1") }
        router.get("/v1/models") { request, _ in
            let gateway = current()
            do throws(GatewayError) { _ = try await gateway.authenticate(request) } catch {
                return Self.error(error, requestID: nil)
            }
            return Self.json(200, .object(["object": "list", "data": .array(gateway.listedModelNames.map(Self.modelObject))]))
        }
        // `models.retrieve`: one served model by name (a name may hold '/' or ':').
        router.get("/v1/models/**") { request, context in
            let gateway = current()
            do throws(GatewayError) { _ = try await gateway.authenticate(request) } catch {
                return Self.error(error, requestID: nil)
            }
            let id = context.parameters.getCatchAll().joined(separator: "/")
            guard gateway.modelNames.contains(id) || (gateway.servesProviderModels && id.contains("/") && (try? gateway.target(id)) != nil)
            else {
                return Self.error(
                    GatewayError(
                        .notFound, "The model '\(id)' does not exist or you do not have access to it.", param: "model", code: "model_not_found"),
                    requestID: nil)
            }
            return Self.json(200, Self.modelObject(id))
        }
        router.post("/v1/chat/completions") { request, _ in
            await current().handleChat(request, dialect: .openAI)
        }
        router.post("/v1/responses") { request, _ in
            await current().handleChat(request, dialect: .responses)
        }
        router.get("/v1/responses/:id") { request, context in
            await current().retrieveResponse(request, id: context.parameters.get("id") ?? "")
        }
        router.delete("/v1/responses/:id") { request, context in
            await current().deleteResponse(request, id: context.parameters.get("id") ?? "")
        }
        router.post("/v1/messages") { request, _ in
            await current().handleChat(request, dialect: .anthropic)
        }
        router.post("/v1/embeddings") { request, _ in
            await current().handleEmbeddings(request)
        }
        router.post("/v1/messages/count_tokens") { request, _ in
            await current().handleCountTokens(request)
        }
        router.get("/metrics") { _, _ in
            var h = HTTPFields()
            h[.contentType] = "text/plain; version=0.0.4"
            return Response(status: .ok, headers: h, body: .init(byteBuffer: ByteBuffer(string: current().metrics.render())))
        }
        return router
    }

    /// `POST /v1/messages/count_tokens` (Claude Code asks every turn): the routed model's own
    /// count where its provider has one (Anthropic, Gemini), else prellm's estimate. The
    /// `x-prellm-token-count` header says which (`provider` or `estimate`); never a fixed zero,
    /// which would stop a client from compacting its context.
    func handleCountTokens(_ request: Request) async -> Response {
        let started = ContinuousClock.now
        let requestID = UUID().uuidString.lowercased()
        var entry = RequestLog(requestID: requestID, path: "/v1/messages/count_tokens")
        do {
            let key = try await gatewayCaller(of: request, for: "/v1/messages/count_tokens")
            entry.authenticated(as: key)
            let chat = try MessagesWire.parse(try await body(of: request), maxMessages: config.server.maxMessages, counting: true)
            entry.model = chat.model
            try authorize(key, model: chat.model)
            let (count, source) = try await countTokens(chat, target: try target(chat.model))
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            headers[Self.tokenCountHeader] = source
            complete(entry, status: 200, started: started)
            return Response(
                status: .ok, headers: headers,
                body: .init(byteBuffer: ByteBuffer(string: JSONValue.object(["input_tokens": .number(Double(count))]).jsonText)))
        } catch {
            // The log keeps an upstream failure's whole message; the client gets it redacted.
            entry.failed(error)
            complete(entry, status: error.status, started: started)
            return Self.error(error, requestID: requestID, dialect: .anthropic)
        }
    }

    static let tokenCountHeader = HTTPField.Name("x-prellm-token-count")!

    func countTokens(_ chat: ChatWire.Request, target: Target) async throws(GatewayError) -> (Int, String) {
        let estimate = max(1, TokenEstimate.promptTokens(system: chat.system, messages: chat.messages, format: chat.format, tools: chat.tools))
        guard case .route(let route) = target, let model = route.models.first else { return (estimate, "estimate") }
        let resolved: (provider: any ChatProvider, model: String)
        do { resolved = try baseContext.models.provider(for: model) } catch { throw GatewayError(.upstream, error.message) }
        guard let counter = resolved.provider as? any TokenCounting else { return (estimate, "estimate") }
        var ask = ChatRequest(model: resolved.model, system: chat.system, messages: chat.messages, tools: chat.tools, toolChoice: chat.toolChoice)
        ask.responseFormat = chat.format
        do { return (try await counter.countTokens(ask), "provider") } catch {
            throw GatewayError(error.kind == .rateLimit ? .rateLimited : .upstream, error.message, retryAfter: error.retryAfter)
        }
    }

    /// Ready when the store answers; with `deep`, also each health-checked upstream's state, and
    /// not ready when every one of them is failing.
    func readiness(deep: Bool) async -> Response {
        guard await store.isReachable() else { return Self.json(503, .object(["status": "store unreachable"])) }
        var body: [String: JSONValue] = ["status": "ready", "models": .number(Double(modelNames.count))]
        guard deep, let health else { return Self.json(200, .object(body)) }
        body["upstreams"] = health.report
        if health.allFailing { body["status"] = "every upstream is failing" }
        return Self.json(health.allFailing ? 503 : 200, .object(body))
    }

    /// The names `/v1/models` lists: all of them, or with `server.hide_unhealthy` not those
    /// whose every model is on a provider failing its health check.
    var listedModelNames: [String] {
        guard config.server.hideUnhealthy, let health else { return modelNames }
        return modelNames.filter { name in
            guard let route = routes[name] else { return true }
            return !route.models.allSatisfy(health.isFailing)
        }
    }

    static func modelObject(_ id: String) -> JSONValue {
        .object(["id": .string(id), "object": "model", "created": .number(0), "owned_by": "prellm"])
    }

    public func makeApplication() -> some ApplicationProtocol { Self.makeApplication(config.server, router: makeRouter()) }

    /// The HTTP server: the connection guard's limits, the address, the router.
    static func makeApplication(_ s: ConfigFile.Server, router: Router<BasicRequestContext>) -> some ApplicationProtocol {
        let limits = ConnectionLimits(header: s.headerTimeout, body: s.bodyTimeout, idle: s.idleTimeout, maxConnections: s.maxConnections)
        let census = ConnectionCensus(max: s.maxConnections)
        return Application(
            router: router,
            server: HTTPServerBuilder { responder in GuardedHTTP1Channel(responder: responder, limits: limits, census: census) },
            // No server name: an answer does not say what the gateway runs on.
            configuration: .init(address: .hostname(s.host, port: s.port)))
    }

    static let apiKeyHeader = HTTPField.Name("x-api-key")!

    func handleChat(_ request: Request, dialect: Dialect) async -> Response {
        let started = ContinuousClock.now
        let rid = request.headers[Self.requestID].flatMap { $0.isEmpty || $0.count > 200 ? nil : $0 } ?? UUID().uuidString.lowercased()
        var entry = RequestLog(requestID: rid, path: dialect.path)
        entry.span = tracer?.startServer(method: "POST", route: dialect.path, traceparent: request.headers[Self.traceparent])
        func finish(_ response: Response, status: Int) -> Response {
            var response = response
            response.headers[Self.requestID] = rid
            // A stream is logged and counted when it ends, with its usage.
            if !entry.stream { complete(entry, status: status, started: started) }
            return response
        }
        var clientKeyed = false
        do {
            let caller = try await caller(of: request)
            if case .client = caller { clientKeyed = true }
            let key = caller.gatewayKey
            entry.authenticated(as: key)
            var chat = try dialect.parse(try await body(of: request), maxMessages: config.server.maxMessages)
            entry.model = chat.model
            let target = try self.target(chat.model)
            var models: (any ModelAccess)?
            if case .client(let clientKey) = caller {
                let provider = try admitClient(chat.model, target)
                models = ClientKeyAccess(base: baseContext.models, directory: directory, provider: provider, key: clientKey)
                entry.keyID = "client"
                try Self.keepNoTurn(&chat)
            }
            try await continueTurn(&chat, key: key)
            if config.server.logPrompts { entry.prompt = chat.messages.map(\.text).joined(separator: "\n") }
            try authorize(key, model: chat.model)
            let reservation = try await admit(key, chat, target, requestID: rid)
            let tally = SpendTally(forwardingTo: baseContext.events)
            let cache = self.cache(for: request, caller: caller)
            let response: Response
            do {
                response = try await serve(
                    chat, target, dialect: dialect, key: key, requestID: rid, reservation: reservation, tally: tally, cache: cache,
                    models: models, entry: &entry)
            } catch {
                if let reservation { await limits.settle(reservation, tally.total, model: chat.model) }
                throw error
            }
            return finish(response, status: 200)
        } catch var e as GatewayError {
            if clientKeyed, e.code == "upstream_auth" { e = GatewayError(.unauthorized, e.message, code: "invalid_api_key") }
            entry.failed(e)
            entry.stream = false
            return finish(Self.error(e, requestID: rid, dialect: dialect), status: e.status)
        } catch {
            entry.failed("\(error)", kind: "internal")
            entry.stream = false
            return finish(Self.error(GatewayError(.upstream, "\(error)"), requestID: rid, dialect: dialect), status: 502)
        }
    }

    /// The cache a request reads and writes: its gateway key's, or the shared one. A client with
    /// its own provider key has no namespace of its own (its key must not make one), so it
    /// reads and writes only a `scope: global` cache.
    func cache(for request: Request, caller: Caller) -> ResponseCache? {
        if case .client = caller, config.cache?.scope != .global { return nil }
        let fresh = request.headers[.cacheControl].map(Self.asksForFresh) ?? false
        return GatewayAnswerCache.forRequest(answers, config: config.cache, keyID: caller.gatewayKey?.id, fresh: fresh)
    }

    /// A Responses turn with a client's own key is not kept: kept answers belong to a gateway
    /// key, and such a client has none.
    static func keepNoTurn(_ chat: inout ChatWire.Request) throws(GatewayError) {
        guard chat.turn != nil else { return }
        if chat.turn?.previousResponseID != nil {
            throw GatewayError(
                .badRequest, "responses are not kept for requests with a client's own provider key", param: "previous_response_id",
                code: "previous_response_not_found")
        }
        chat.turn?.store = false
    }

    /// `Cache-Control: no-cache` (or `no-store`, `max-age=0`): the client wants an answer from
    /// upstream, not the cache's.
    static func asksForFresh(_ value: String) -> Bool {
        value.lowercased().split(separator: ",").contains { d in
            let d = d.trimmingCharacters(in: .whitespaces)
            return d == "no-cache" || d == "no-store" || d == "max-age=0"
        }
    }

    static let traceparent = HTTPField.Name("traceparent")!

    /// Writes the request's log line, counts it and ends its span.
    func complete(_ entry: RequestLog, status: Int, started: ContinuousClock.Instant) {
        if let span = entry.span { tracer?.endServer(span, status: status, model: entry.model) }
        var entry = entry
        let elapsed = ContinuousClock.now - started
        let seconds = elapsed.seconds
        entry.status = status
        log(entry.jsonLine(latencyMS: seconds * 1000))
        metrics.request(
            model: entry.model ?? "", key: entry.keyID ?? "", status: status, seconds: seconds, tokens: entry.tokens, cost: entry.costUSD,
            error: entry.errorKind)
    }

    /// Admits a request against its key's limits, holding its bound against the key's budgets;
    /// every keyed request gets a reservation, so its spend is recorded (nil without keys).
    func admit(
        _ key: GatewayKey?, _ chat: ChatWire.Request, _ target: Target, requestID: String
    ) async throws(GatewayError)
        -> KeyLimits.Reservation?
    {
        guard let key else { return nil }
        let (usd, tokens) = bound(chat, target)
        guard let tokens else {
            guard key.tpm == nil, !key.hasBudget else {
                throw GatewayError(
                    .forbidden,
                    "'\(chat.model)' has no bound on its cost (it maps over a list with no bound on its items), so key '\(key.id)', which has limits, cannot use it; give the map max_items",
                    code: "unbounded_cost")
            }
            return try await limits.admit(key, estimateUSD: 0, estimateTokens: 0, requestID: requestID)
        }
        return try await limits.admit(key, estimateUSD: usd, estimateTokens: tokens, requestID: requestID)
    }

    /// What a served request produced.
    struct Served: Sendable {
        var response: ChatResponse
        var model: String
        var usage: Usage
        var cost: Double?
    }

    /// How the request runs: its workflow's program, or one call on its route. A request under
    /// a USD budget is held to what was reserved for it.
    func runner(
        _ chat: ChatWire.Request, _ target: Target, requestID: String, allowance: RunLedger.Limit?
    )
        -> @Sendable (RunContext) async throws(GatewayError) -> Served
    {
        switch target {
        case .workflow(let w):
            return { context throws(GatewayError) in
                let result = await Interpreter(w.program).run(inputs: w.inputs(for: chat), context: context, allowance: allowance)
                if let error = result.error { throw GatewayError.from(error) }
                let text = result.output.stringValue ?? result.output.jsonText
                let used = result.steps.compactMap(\.modelUsed).last ?? chat.model
                return Served(
                    response: ChatResponse(model: chat.model, text: text, finishReason: .stop), model: used, usage: result.usage,
                    cost: result.costUSD)
            }
        case .route(let route):
            let tracer = self.tracer
            return { context throws(GatewayError) in
                // A routed call has no run: its attempts hang under the request's span directly.
                if let tracer, let parent = context.traceParent { tracer.attach(run: requestID, to: parent) }
                defer { tracer?.detach(run: requestID) }
                var call = ModelRouter.Call(step: "chat", route: route, system: chat.system, messages: chat.messages, traceID: requestID)
                call.format = chat.format
                call.stream = context.onText != nil
                call.overrides = CallOverrides(
                    temperature: chat.temperature, maxTokens: chat.maxTokens, topP: chat.topP, stop: chat.stop,
                    tools: chat.tools, toolChoice: chat.toolChoice, parallelToolCalls: chat.parallelToolCalls)
                let ledger = RunLedger(budget: nil, allowance: allowance, started: context.clock.now)
                do {
                    let out = try await ModelRouter(context: context).call(call, ledger: ledger)
                    return Served(response: out.response, model: out.model, usage: out.usage, cost: out.cost)
                } catch let e as RunError {
                    throw GatewayError.from(e)
                } catch {
                    throw GatewayError(.upstream, "\(error)")
                }
            }
        }
    }

    /// Runs the request, streamed or whole.
    func serve(
        _ chat: ChatWire.Request, _ target: Target, dialect: Dialect, key: GatewayKey?, requestID: String,
        reservation: KeyLimits.Reservation?, tally: SpendTally, cache: ResponseCache?, models: (any ModelAccess)?,
        entry: inout RequestLog
    ) async throws -> Response {
        let id = dialect.answerID(chat, requestID: requestID)
        let created = Int(Date().timeIntervalSince1970)
        let allowance = reservation.flatMap { r in r.holdsUSD ? RunLedger.Limit(what: "the request", maxUSD: r.usd, maxTokens: nil) : nil }
        let runner = self.runner(chat, target, requestID: requestID, allowance: allowance)
        let limits = self.limits
        let timeout = config.server.requestTimeout
        var context0 = baseContext
        context0.events = tally
        context0.cache = cache
        if let models { context0.models = models }
        context0.traceParent = entry.span?.context
        if !chat.stream {
            let served = try await Self.bounded(timeout) { [context0] in try await runner(context0) }
            let (response, model, usage, cost) = (served.response, served.model, served.usage, served.cost)
            if let reservation { await limits.settle(reservation, tally.total, model: model) }
            entry.served(model: model, tokens: usage.totalTokens, cost: cost)
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            headers[Self.modelHeader] = model
            headers[Self.costHeader] = cost.map { "\($0)" } ?? "unknown"
            if config.cache != nil { headers[Self.cacheHeader] = tally.total.cached ? "hit" : "miss" }
            let body = dialect.whole(id: id, chat: chat, created: created, response: response, usage: usage)
            if let turn = chat.turn { await remember(turn, object: body, output: ResponsesWire.outputItems(response, turn: turn), key: key) }
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body.jsonText)))
        }
        // Streaming: the answer's text and tool calls go out as chunks while the run goes on.
        let (pieces, continuation) = AsyncStream<StreamPiece>.makeStream()
        var context = context0
        context.onText = { continuation.yield(.text($0)) }
        context.onToolCall = { continuation.yield(.toolCall(index: $0, id: $1, name: $2, arguments: $3)) }
        let streamContext = context
        let run = Task { () async throws -> Served in
            defer {
                continuation.finish()
                tally.ended()
            }
            return try await Self.bounded(timeout) { try await runner(streamContext) }
        }
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        headers[Self.modelHeader] = chat.model
        // A model's stream says whether the cache answers it: the router knows before any byte
        // goes upstream. A workflow's is known only at its end, so its stream does not say.
        if config.cache != nil, case .route = target, let hit = await tally.firstCall() {
            headers[Self.cacheHeader] = hit ? "hit" : "miss"
        }
        let model = chat.model, includeUsage = chat.includeUsage
        let promptTokens = TokenEstimate.promptTokens(system: chat.system, messages: chat.messages, format: chat.format, tools: chat.tools)
        entry.stream = true
        let logged = entry, streamStarted = ContinuousClock.now
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { [self] writer in
                // A client that goes away mid-stream ends the writes with an error: the run, and
                // with it the upstream request, is cancelled rather than left to finish unread.
                var sent = false
                var encoder = dialect.encoder(id: id, chat: chat, created: created)
                do {
                    try await writer.write(ByteBuffer(string: encoder.start(inputTokens: promptTokens)))
                    for await piece in pieces {
                        if !sent {
                            let d = ContinuousClock.now - streamStarted
                            metrics.firstToken(model: model, seconds: d.seconds)
                        }
                        sent = true
                        let bytes =
                            switch piece {
                            case .text(let text): encoder.text(text)
                            case .toolCall(let index, let callID, let name, let arguments):
                                encoder.toolCall(index: index, id: callID, name: name, arguments: arguments)
                            }
                        try await writer.write(ByteBuffer(string: bytes))
                    }
                } catch {
                    run.cancel()
                    _ = await run.result
                    if let reservation { await limits.settle(reservation, tally.total, model: model) }
                    var final = logged
                    final.failed("the client disconnected", kind: "client_disconnected")
                    complete(final, status: 499, started: streamStarted)
                    throw error
                }
                let outcome = await run.result
                if let reservation {
                    let used = (try? outcome.get())?.model ?? model
                    await limits.settle(reservation, tally.total, model: used)
                }
                switch outcome {
                case .success(let served):
                    let (response, usage) = (served.response, served.usage)
                    if !sent, !response.text.isEmpty {
                        // A workflow whose output is not one streamed step: send it whole.
                        try await writer.write(ByteBuffer(string: encoder.text(response.text)))
                    }
                    let end = encoder.end(response: response, usage: usage, includeUsage: includeUsage)
                    // Kept before the client reads `response.completed`: its next turn may name it at once.
                    if let turn = chat.turn, let kept = (encoder as? ResponsesStream)?.final {
                        await remember(turn, object: kept, output: kept["output"]?.arrayValue ?? [], key: key)
                    }
                    try await writer.write(ByteBuffer(string: end))
                case .failure(let error):
                    let e = error as? GatewayError ?? GatewayError(.upstream, "\(error)")
                    try await writer.write(ByteBuffer(string: encoder.failure(e)))
                }
                try await writer.finish(nil)
                var final = logged
                switch outcome {
                case .success(let served):
                    final.served(model: served.model, tokens: served.usage.totalTokens, cost: served.cost)
                case .failure(let error):
                    final.failed("\(error)", kind: (error as? GatewayError)?.code ?? "upstream_error")
                }
                complete(final, status: 200, started: streamStarted)
            })
    }

    /// Runs `operation` within the gateway's request timeout; past it, the operation (and its
    /// upstream request) is cancelled and the client gets a 504. An answer that arrives as
    /// the deadline fires is still the answer.
    static func bounded<T: Sendable>(_ limit: Duration, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        let task = Task { try await operation() }
        let deadline = Deadlines.shared.add(at: .now + limit) { task.cancel() }
        let result = await withTaskCancellationHandler {
            await task.result
        } onCancel: {
            task.cancel()
        }
        let timedOut = !Deadlines.shared.remove(deadline)
        if timedOut, case .failure = result {
            throw GatewayError(.timeout, "no answer within the gateway's request timeout (\(limit))")
        }
        return try result.get()
    }

    /// The key of a request as either dialect's clients send it: `Authorization: Bearer …`, or
    /// Anthropic's `x-api-key`.
    func authenticate(_ request: Request) async throws(GatewayError) -> GatewayKey? {
        try await authenticate(request.headers[.authorization] ?? request.headers[Self.apiKeyHeader].map { "Bearer " + $0 })
    }

    /// A request's body, refused past the configured size (413); a body that ends before its
    /// Content-Length or has a bad chunk is malformed (400).
    func body(of request: Request) async throws(GatewayError) -> [UInt8] {
        var request = request
        do { return Array(try await request.collectBody(upTo: config.server.maxBodyBytes).readableBytesView) } catch is NIOTooManyBytesError {
            throw GatewayError(.tooLarge, "the request body is larger than \(config.server.maxBodyBytes) bytes")
        } catch {
            throw GatewayError(.badRequest, "the request body is malformed or ended early: \(error)")
        }
    }

    static func json(_ status: Int, _ value: JSONValue, headers: HTTPFields = [:]) -> Response {
        var h = headers
        h[.contentType] = "application/json"
        return Response(status: .init(code: status), headers: h, body: .init(byteBuffer: ByteBuffer(string: value.jsonText)))
    }

    static func error(_ e: GatewayError, requestID: String?, dialect: Dialect = .openAI) -> Response {
        var h = HTTPFields()
        if let after = e.retryAfter { h[.retryAfter] = "\(max(1, after.components.seconds))" }
        if let requestID { h[Self.requestID] = requestID }
        return json(e.status, dialect.errorBody(e), headers: h)
    }
}

/// What a streamed run hands the response writer.
enum StreamPiece: Sendable {
    case text(String)
    case toolCall(index: Int, id: String?, name: String?, arguments: String)
}
