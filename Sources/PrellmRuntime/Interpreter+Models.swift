import PrellmCompiler
import PrellmProviderKit
import PrellmSchema

/// What a caller that brings its own request (the gateway) sets over the model alias's parameters.
public struct CallOverrides: Sendable {
    public var temperature: Double?
    public var maxTokens: Int?
    public var topP: Double?
    /// Replaces the alias's stop sequences when not nil.
    public var stop: [String]?
    public var tools: [ToolDefinition]
    public var toolChoice: ChatRequest.ToolChoice?

    public init(temperature: Double? = nil, maxTokens: Int? = nil, topP: Double? = nil, stop: [String]? = nil,
                tools: [ToolDefinition] = [], toolChoice: ChatRequest.ToolChoice? = nil) {
        self.temperature = temperature
        self.maxTokens = maxTokens
        self.topP = topP
        self.stop = stop
        self.tools = tools
        self.toolChoice = toolChoice
    }
}

/// The result of one logical model call (after routing, retries and the cache).
struct CallOutcome: Sendable {
    var response: ChatResponse
    var model: String
    var usage: Usage?
    var cost: Double?
    var attempts: Int
    var cached: Bool

    func adding(_ other: CallOutcome) -> CallOutcome {
        var out = other
        if let a = usage, let b = other.usage {
            out.usage = Usage(inputTokens: a.inputTokens + b.inputTokens, outputTokens: a.outputTokens + b.outputTokens)
        }
        out.cost = cost.flatMap { a in other.cost.map { a + $0 } }
        out.attempts = attempts + other.attempts
        return out
    }
}

/// Model calls: routing over a model alias's choices, retries with backoff, circuit breakers,
/// the budget check before each attempt, the cache, and one trace line per attempt.
extension Interpreter {
    struct Route {
        var choices: [String]
        var policy: Workflow.RoutingPolicy
        var parameters: Workflow.ModelParameters
        var alias: String
    }

    /// A model's price: the workflow's own (`models.<alias>.price`) before what the model
    /// access knows (the catalog, a config file). A served or embedded workflow keeps its prices.
    func price(of model: String, alias: String?, models access: any ModelAccess) -> ModelPrice? {
        // An alias replaced by another model (`--large`, for one) does not lend it its price.
        if let alias, let a = models[alias], let input = a.parameters.inputPricePerMTok, let output = a.parameters.outputPricePerMTok,
           a.choices.contains(where: { $0.id == model }) {
            return ModelPrice(input: input, output: output)
        }
        return access.price(for: model)
    }

    func route(_ name: String?, step: String) throws(RunError) -> Route {
        guard let name else { throw RunError(.evaluation, "no model", step: step) }
        if let replacement = modelOverrides[name] {
            return Route(choices: [replacement], policy: .single, parameters: models[name]?.parameters ?? .init(), alias: name)
        }
        if name.utf8.contains(UInt8(ascii: "/")) { return Route(choices: [name], policy: .single, parameters: .init(), alias: name) }
        guard let alias = models[name] else { throw RunError(.evaluation, "unknown model '\(name)'", step: step) }
        return Route(choices: alias.choices.map(\.id), policy: alias.policy, parameters: alias.parameters, alias: name)
    }

    /// The order in which a policy tries the choices; the ones after the first are fallbacks.
    func order(_ r: Route, context: RunContext) -> [String] {
        guard let alias = models[r.alias], r.choices.count > 1 else { return r.choices }
        switch r.policy {
        case .single, .fallback:
            return r.choices
        case .roundRobin:
            let k = context.routing.nextIndex(r.alias, count: r.choices.count)
            return Array(r.choices[k...] + r.choices[..<k])
        case .weighted:
            let weights = alias.choices.map { $0.weight ?? 0 }
            let total = weights.reduce(0, +)
            var pick = context.random() * total
            var chosen = 0
            for (k, w) in weights.enumerated() {
                if pick < w { chosen = k; break }
                pick -= w
            }
            return [r.choices[chosen]] + r.choices.enumerated().filter { $0.offset != chosen }.map(\.element)
        case .cheapest:
            func unit(_ m: String) -> Double { price(of: m, alias: r.alias, models: context.models).map { $0.input + $0.output } ?? .infinity }
            return r.choices.enumerated().sorted { (unit($0.element), $0.offset) < (unit($1.element), $1.offset) }.map(\.element)
        case .fastest:
            func ms(_ m: String) -> Double { context.routing.latency(m) ?? 0 }  // unmeasured models get tried first
            return r.choices.enumerated().sorted { (ms($0.element), $0.offset) < (ms($1.element), $1.offset) }.map(\.element)
        }
    }

    func callModel(step id: String, model name: String?, system: String?, messages: [ChatMessage], format: ChatRequest.ResponseFormat,
                   stream: Bool, options: Step.Options, started stepStarted: ContinuousClock.Instant, ledger: RunLedger,
                   context: RunContext, traceID: String, prefix: String, overrides: CallOverrides = CallOverrides())
        async throws(RunError) -> CallOutcome {
        let cache = options.cache, retry = options.retry
        let r = try route(name, step: id)
        let ordered = order(r, context: context)
        let retryable = retry?.on.map { Set($0.compactMap(ProviderError.Kind.init(rawValue:))) } ?? RetryPolicy.transient
        let policy = RetryPolicy(attempts: retry?.attempts ?? 2, base: retry?.backoff ?? .seconds(1), cap: retry?.maxBackoff ?? .seconds(30),
                                 retryable: retryable)
        let breaker = r.parameters.circuitBreaker
        var failures: [String] = []
        var causes: [ProviderError.Kind] = []
        var attempts = 0
        let needsJSON = format != .text
        let estimate = Self.estimatedPromptTokens(system: system, messages: messages)
        let promptText = (system ?? "") + messages.map(\.text).joined(separator: "\n")
        for (position, modelID) in ordered.enumerated() {
            let caps = context.models.capabilities(for: modelID)
            if let caps, needsJSON, !caps.jsonMode, !caps.structuredOutput {
                failures.append("\(modelID): skipped, it has no JSON mode")
                continue
            }
            if let window = caps?.contextWindow, estimate + (r.parameters.maxTokens ?? 0) > window {
                failures.append("\(modelID): skipped, the prompt (about \(estimate) tokens) does not fit its context window (\(window))")
                continue
            }
            if let breaker, !context.routing.allows(modelID, now: context.clock.now, cooldown: breaker.cooldown) {
                failures.append("\(modelID): circuit open")
                trace(context, traceID, prefix + id, ["kind": "routing", "model": .string(modelID), "decision": "skipped: circuit open"])
                continue
            }
            let resolved: (provider: any ChatProvider, model: String)
            do { resolved = try context.models.provider(for: modelID) } catch {
                failures.append("\(modelID): \(error.message)")
                continue
            }
            let p = r.parameters
            let request = ChatRequest(model: resolved.model, system: system, messages: messages, temperature: overrides.temperature ?? p.temperature,
                                      maxTokens: overrides.maxTokens ?? p.maxTokens, topP: overrides.topP ?? p.topP,
                                      stop: overrides.stop ?? p.stop ?? [], responseFormat: format,
                                      tools: overrides.tools, toolChoice: overrides.toolChoice)
            let price = self.price(of: modelID, alias: r.alias, models: context.models)
            let caching = cache?.enabled != false && context.cache != nil
            let key = caching ? cacheKey(modelID, request) : ""
            if caching, let hit = context.cache?.get(key, now: context.clock.now) {
                trace(context, traceID, prefix + id, ["kind": "call", "model": .string(modelID), "cache": "hit", "status": "ok",
                                                       "answer": .string(hit.text), "cost_usd": .number(0)])
                return CallOutcome(response: hit, model: modelID, usage: Usage(inputTokens: 0, outputTokens: 0), cost: 0, attempts: 0, cached: true)
            }
            var retryNumber = 0
            while true {
                attempts += 1
                try ledger.admit(step: id, model: modelID, promptTokens: promptText.utf8.count / 4 + 1,
                                 maxTokens: p.maxTokens ?? Self.assumedMaxTokens, price: price, stepBudget: options.budget)
                let started = context.clock.now
                let deadline = try self.deadline(step: id, options: options, stepStarted: stepStarted, ledger: ledger, context: context)
                do {
                    let response = try await withDeadline(deadline, context: context, step: id) {
                        try await self.send(resolved.provider, request, stream: stream, context: context)
                    }
                    let latency = context.clock.now - started
                    context.routing.recordLatency(modelID, ms: Double(latency.milliseconds))
                    if let breaker { context.routing.recordResult(modelID, success: true, now: context.clock.now, threshold: breaker.failures) }
                    let usage = response.usage ?? Usage(inputTokens: 0, outputTokens: 0)
                    ledger.charge(usage, price: price, step: id)
                    let cost = price?.cost(of: usage)
                    if caching { context.cache?.put(key, response, now: context.clock.now, ttl: cache?.ttl) }
                    if context.trace != nil {
                    var event: [String: JSONValue] = [
                        "kind": "call", "model": .string(modelID), "attempt": .number(Double(attempts)), "status": "ok",
                        "prompt": .string(context.redactPrompts ? promptHash(promptText) : promptText),
                        "answer": .string(response.text), "finish": .string("\(response.finishReason)"),
                        "usage": .object(["input_tokens": .number(Double(usage.inputTokens)), "output_tokens": .number(Double(usage.outputTokens))]),
                        "cost_usd": cost.map(JSONValue.number) ?? .null, "latency_ms": .number(Double(latency.milliseconds)),
                    ]
                    if position > 0 { event["routing"] = .string("fallback to \(modelID) after: " + failures.joined(separator: "; ")) }
                    trace(context, traceID, prefix + id, event)
                    }
                    return CallOutcome(response: response, model: modelID, usage: usage, cost: cost, attempts: attempts, cached: false)
                } catch let e as RunError {
                    trace(context, traceID, prefix + id, ["kind": "call", "model": .string(modelID), "attempt": .number(Double(attempts)),
                                                           "status": .string(e.kind.rawValue), "error": .object(["message": .string(e.message)])])
                    throw e
                } catch let partly as PartlySent {
                    let e = partly.error
                    if let breaker { context.routing.recordResult(modelID, success: false, now: context.clock.now, threshold: breaker.failures) }
                    trace(context, traceID, prefix + id, ["kind": "call", "model": .string(modelID), "attempt": .number(Double(attempts)),
                                                           "status": "error", "error": .object(["kind": .string(e.kind.rawValue), "message": .string(e.message),
                                                                                                 "sent_characters": .number(Double(partly.characters))])])
                    throw RunError(.modelsFailed, "\(modelID): \(e) — after \(partly.characters) characters of the answer had been sent, so it is not retried or sent to another model",
                                   step: id, causes: [e.kind])
                } catch let e as ProviderError {
                    if Task.isCancelled {
                        trace(context, traceID, prefix + id, ["kind": "call", "model": .string(modelID), "attempt": .number(Double(attempts)),
                                                               "status": "cancelled", "latency_ms": .number(Double((context.clock.now - started).milliseconds))])
                        throw RunError(.cancelled, "the run was interrupted", step: id)
                    }
                    if let breaker { context.routing.recordResult(modelID, success: false, now: context.clock.now, threshold: breaker.failures) }
                    trace(context, traceID, prefix + id, ["kind": "call", "model": .string(modelID), "attempt": .number(Double(attempts)),
                                                           "status": "error", "error": .object(["kind": .string(e.kind.rawValue), "status": e.status.map { .number(Double($0)) } ?? .null,
                                                                                                 "message": .string(e.message)])])
                    if policy.retryable.contains(e.kind), retryNumber < policy.attempts {
                        retryNumber += 1
                        let wait = policy.delay(retry: retryNumber, error: e, random: context.random())
                        context.onProgress?(StepProgress(step: id, state: .retrying, model: modelID, elapsed: .zero,
                                                         detail: "\(e.kind.rawValue); retry \(retryNumber) in \(wait.milliseconds) ms"))
                        do { try await context.clock.sleep(for: wait) } catch { throw RunError(.cancelled, "the run was interrupted", step: id) }
                        continue
                    }
                    failures.append("\(modelID): \(e)")
                    causes.append(e.kind)
                    break
                } catch {
                    trace(context, traceID, prefix + id, ["kind": "call", "model": .string(modelID), "attempt": .number(Double(attempts)),
                                                           "status": "cancelled", "latency_ms": .number(Double((context.clock.now - started).milliseconds))])
                    throw RunError(.cancelled, "the run was interrupted", step: id)
                }
            }
        }
        var message = "every model failed: " + failures.joined(separator: "; ")
        if failures.contains(where: { $0.contains("ollama: connection") }) {
            message += " — is Ollama running? Start it with `ollama serve` (and `ollama pull` the model), or set OLLAMA_HOST"
        }
        throw RunError(.modelsFailed, message, step: id, causes: causes)
    }

    /// The instant by which this call must end: the step's `timeout` (or its budget's) from the
    /// step's start, and the run budget's `timeout` from the run's start, whichever is first.
    func deadline(step id: String, options: Step.Options, stepStarted: ContinuousClock.Instant, ledger: RunLedger,
                  context: RunContext) throws(RunError) -> (ContinuousClock.Instant, RunError)? {
        var best: (ContinuousClock.Instant, RunError)?
        if let t = options.timeout ?? options.budget?.timeout {
            best = (stepStarted + t, RunError(.timeout, "the step ran out of its time (\(Self.describe(t)))", step: id))
        }
        if let t = workflow.budget?.timeout, best == nil || ledger.started + t < best!.0 {
            best = (ledger.started + t, RunError(.budgetExceeded, "the run's time budget (\(Self.describe(t))) ran out", step: id))
        }
        if let (at, error) = best, context.clock.now >= at { throw error }
        return best
    }

    static func describe(_ d: Duration) -> String {
        let ms = d.milliseconds
        return ms % 1000 == 0 ? "\(ms / 1000)s" : "\(ms)ms"
    }

    /// Runs `operation`, or throws the deadline's error when the clock reaches it first (the
    /// operation is cancelled, and with it its HTTP request).
    func withDeadline<T: Sendable>(_ deadline: (ContinuousClock.Instant, RunError)?, context: RunContext, step: String,
                                   _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        guard let (at, error) = deadline else { return try await operation() }
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await operation() }
            group.addTask {
                try await context.clock.sleep(for: at - context.clock.now)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else { throw error }
            return value
        }
    }

    /// A prompt's size in tokens, estimated before it is sent (UTF-8 bytes / 4), for context
    /// windows and the gateway's reservations.
    public static func estimatedPromptTokens(system: String?, messages: [ChatMessage]) -> Int {
        ((system ?? "").utf8.count + messages.reduce(0) { $0 + $1.text.utf8.count }) / 4 + 1
    }

    /// The output size assumed when a call sets no max_tokens, for budget checks and `--dry-run`.
    public static let assumedMaxTokens = 1024

    /// A stream that failed after part of its answer had been handed on (to a terminal, to a
    /// gateway client). It is not retried nor sent to another model: what was shown cannot be
    /// taken back, and a second answer would be glued to the first half of another.
    struct PartlySent: Error {
        var error: ProviderError
        var characters: Int
    }

    func send(_ provider: any ChatProvider, _ request: ChatRequest, stream: Bool, context: RunContext) async throws -> ChatResponse {
        if !stream { return try await provider.complete(request) }
        var deltas: [ChatDelta] = []
        var sent = 0
        do {
            for try await d in provider.stream(request) {
                switch d {
                case .text(let t):
                    if let onText = context.onText { onText(t); sent += t.count }
                case .toolCall(let index, let id, let name, let arguments):
                    if let onToolCall = context.onToolCall { onToolCall(index, id, name, arguments); sent += arguments.count + (name?.count ?? 0) }
                default: break
                }
                deltas.append(d)
            }
        } catch let e as ProviderError where sent > 0 && !Task.isCancelled {
            throw PartlySent(error: e, characters: sent)
        }
        // A cancelled consumer's loop ends without an error: a short answer is not an answer.
        try Task.checkCancellation()
        return deltas.collected(model: request.model)
    }

    /// The exact-match cache key: everything in the request that can change the answer (every
    /// message part, images and tool turns included, the sampling parameters, the format, the
    /// tools). The model name as the provider knows it is covered by `model`.
    func cacheKey(_ model: String, _ r: ChatRequest) -> String {
        func part(_ p: ContentPart) -> JSONValue {
            switch p {
            case .text(let t): .string(t)
            case .imageURL(let u): .object(["image_url": .string(u)])
            case .imageData(let data, let type): .object(["image": .string(data), "type": .string(type)])
            }
        }
        func message(_ m: ChatMessage) -> JSONValue {
            var o: [String: JSONValue] = ["role": .string(m.role.rawValue), "content": .array(m.content.map(part))]
            if !m.toolCalls.isEmpty {
                o["tool_calls"] = .array(m.toolCalls.map { .array([.string($0.id), .string($0.name), .string($0.arguments)]) })
            }
            if let id = m.toolCallID { o["tool_call_id"] = .string(id) }
            return .object(o)
        }
        var o: [String: JSONValue] = [
            "model": .string(model), "system": r.system.map(JSONValue.string) ?? .null,
            "messages": .array(r.messages.map(message)),
            "temperature": r.temperature.map(JSONValue.number) ?? .null, "max_tokens": r.maxTokens.map { .number(Double($0)) } ?? .null,
            "top_p": r.topP.map(JSONValue.number) ?? .null, "stop": .array(r.stop.map(JSONValue.string)),
        ]
        if case .jsonSchema(let n, let s) = r.responseFormat { o["format"] = .array([.string(n), s]) }
        if case .json = r.responseFormat { o["format"] = "json" }
        if !r.tools.isEmpty {
            o["tools"] = .array(r.tools.map { .array([.string($0.name), $0.description.map(JSONValue.string) ?? .null, $0.parameters]) })
        }
        if let choice = r.toolChoice { o["tool_choice"] = .string("\(choice)") }
        return JSONValue.object(o).jsonText
    }

    func trace(_ context: RunContext, _ traceID: String, _ step: String, _ fields: [String: JSONValue]) {
        guard let sink = context.trace else { return }
        var o = fields
        o["trace_id"] = .string(traceID)
        o["step"] = .string(step)
        sink.record(.object(o))
    }
}
