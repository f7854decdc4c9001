import PrellmCompiler
import PrellmProviderKit
import PrellmSchema

/// A ModelRouter makes one logical model call on a route: it orders the route's models by its
/// policy, skips those that cannot take the call (open circuit, no JSON mode, a prompt that
/// does not fit), answers from the cache where it may, reserves each attempt's worst case in the
/// run's ledger before sending it, retries what a retry may cure with backoff, falls back to
/// the next model, and holds each attempt to its deadlines. A workflow step and a gateway
/// request both call it; what it does is reported as CallEvents, which the trace, the spend
/// tally and the metrics consume.
///
/// Its attempts never exceed the route's models × (1 + retries): the count CostBound prices.
public struct ModelRouter: Sendable {
    public let context: RunContext

    public init(context: RunContext) { self.context = context }

    /// One logical call: what to send, on which route, under which options.
    public struct Call: Sendable {
        /// The step's path, for events and errors (`answer`, `parts[2]`, `chat`).
        public var step: String
        public var route: ModelRoute
        public var system: String?
        public var messages: [ChatMessage]
        public var format: ChatRequest.ResponseFormat = .text
        public var stream = false
        public var retry: Step.RetryPolicy?
        public var cache: Step.CachePolicy?
        /// The limits on the part of the run the call is in: its step's budget, an enclosing
        /// map's or import's (RunLedger.Scope).
        public var scopes: [RunLedger.Scope] = []
        /// When the call must end, and the error to end it with.
        public var deadline: (at: ContinuousClock.Instant, error: RunError)?
        public var overrides = CallOverrides()
        public var traceID: String

        public init(step: String, route: ModelRoute, system: String?, messages: [ChatMessage], traceID: String) {
            self.step = step
            self.route = route
            self.system = system
            self.messages = messages
            self.traceID = traceID
        }
    }

    /// The route's policy order; the models after the first are fallbacks.
    func order(_ r: ModelRoute) -> [Workflow.ModelChoice] {
        guard r.choices.count > 1 else { return r.choices }
        switch r.policy {
        case .single, .fallback:
            return r.choices
        case .roundRobin:
            let k = context.routing.nextIndex(r.name, count: r.choices.count)
            return Array(r.choices[k...] + r.choices[..<k])
        case .weighted:
            let weights = r.choices.map { $0.weight ?? 0 }
            var pick = context.random() * weights.reduce(0, +)
            var chosen = 0
            for (k, w) in weights.enumerated() {
                if pick < w { chosen = k; break }
                pick -= w
            }
            return [r.choices[chosen]] + r.choices.enumerated().filter { $0.offset != chosen }.map(\.element)
        case .cheapest:
            func unit(_ m: Workflow.ModelChoice) -> Double { price(m.id, r).map { $0.input + $0.output } ?? .infinity }
            return r.choices.enumerated().sorted { (unit($0.element), $0.offset) < (unit($1.element), $1.offset) }.map(\.element)
        case .fastest:
            func ms(_ m: Workflow.ModelChoice) -> Double { context.routing.latency(m.id) ?? 0 }  // unmeasured models go first
            return r.choices.enumerated().sorted { (ms($0.element), $0.offset) < (ms($1.element), $1.offset) }.map(\.element)
        case .leastBusy:
            // Fewest attempts in flight; ties by the latency average (unmeasured first), then order.
            let busy = r.choices.map { (context.routing.inFlight($0.id), context.routing.latency($0.id) ?? 0) }
            return r.choices.indices.sorted { (busy[$0].0, busy[$0].1, $0) < (busy[$1].0, busy[$1].1, $1) }.map { r.choices[$0] }
        }
    }

    func price(_ model: String, _ r: ModelRoute) -> ModelPrice? { r.price(of: model, lookup: context.models.price(for:)) }

    func emit(_ call: Call, _ model: String, _ attempt: Int, _ kind: CallEvent.Kind) {
        context.events?.record(.call(CallEvent(traceID: call.traceID, step: call.step, model: model, attempt: attempt, kind: kind)))
    }

    /// Makes the call: the first answer wins; every model failing is `modelsFailed`, with the
    /// last error kind of each.
    ///
    /// The async functions here only await; what happens between awaits is in synchronous
    /// stages (`prepare`, `begin`, `conclude`), whose locals live on the thread's stack rather
    /// than in the task's async frames — which every run in flight holds.
    public func call(_ call: Call, ledger: RunLedger) async throws(RunError) -> CallOutcome {
        var state = Attempts(call)
        for (position, choice) in order(call.route).enumerated() {
            guard let target = prepare(call, choice, position: position, &state) else { continue }
            let hit = await lookup(target)
            switch admit(call, target, hit: hit, &state) {
            case .skip: continue
            case .cached(let outcome):
                replay(call, outcome.response)
                return outcome
            case .send:
                if let outcome = try await attempts(call, target, &state, ledger: ledger) {
                    if let key = target.cacheKey {
                        await context.cache?.put(key, outcome.response, now: context.clock.now, ttl: call.cache?.ttl)
                    }
                    return outcome
                }
            }
        }
        throw state.failure(call)
    }

    enum Admission {
        case skip
        case cached(CallOutcome)
        case send
    }

    /// The cache's answer for the target, if it may answer.
    func lookup(_ target: Target) async -> ChatResponse? {
        guard let key = target.cacheKey, let cache = context.cache else { return nil }
        return await cache.get(key, now: context.clock.now)
    }

    /// A cached answer to a streamed call goes out as the stream it once was: its text, then
    /// its tool calls, through the same callbacks an upstream's stream would use.
    func replay(_ call: Call, _ response: ChatResponse) {
        guard call.stream else { return }
        if !response.text.isEmpty { context.onText?(response.text) }
        for (i, t) in response.toolCalls.enumerated() { context.onToolCall?(i, t.id, t.name, t.arguments) }
    }

    /// What one model of the route would be sent, or nil when it is skipped (a failing health
    /// check, no JSON mode, no vision, a prompt that does not fit, no provider).
    func prepare(_ call: Call, _ choice: Workflow.ModelChoice, position: Int, _ state: inout Attempts) -> Target? {
        let model = choice.id
        if let slash = model.firstIndex(of: "/"), let failure = context.routing.probeFailure(String(model[..<slash])) {
            skip(call, model, "its endpoint is failing its health check (\(failure))", &state)
            return nil
        }
        let caps = context.models.capabilities(for: model)
        if let reason = skipReason(
            caps, needsJSON: call.format != .text, images: state.hasImages, estimate: state.likely, maxTokens: state.maxTokens)
        {
            skip(call, model, reason, &state)
            return nil
        }
        let resolved: (provider: any ChatProvider, model: String)
        do { resolved = try context.models.provider(for: model) } catch {
            state.failures.append("\(model): \(error.message)")
            return nil
        }
        let p = call.route.parameters, o = call.overrides
        var request = ChatRequest(
            model: resolved.model, system: call.system, messages: call.messages, temperature: o.temperature ?? p.temperature,
            maxTokens: state.maxTokens, topP: o.topP ?? p.topP, stop: o.stop ?? p.stop ?? [], responseFormat: call.format,
            tools: o.tools, toolChoice: o.toolChoice)
        request.reasoning = caps?.reasoning
        request.parallelToolCalls = o.parallelToolCalls
        let key = context.cache?.covers(call.cache) == true ? Self.cacheKey(model, request) : nil
        return Target(
            provider: resolved.provider, request: request, model: model, price: price(model, call.route), position: position, cacheKey: key)
    }

    /// Whether the target is sent to, answered from the cache, or skipped for its breaker.
    func admit(_ call: Call, _ target: Target, hit: ChatResponse?, _ state: inout Attempts) -> Admission {
        let model = target.model
        // Asked last, and only when the model is to be sent to: a half-open breaker lets one
        // call through, and that call must reach the model to probe it.
        if hit == nil, let breaker = call.route.parameters.circuitBreaker,
            !context.routing.allows(model, now: context.clock.now, cooldown: breaker.cooldown)
        {
            skip(call, model, "its circuit is open", &state)
            return .skip
        }
        if target.position > 0 {
            state.fallbacks += 1
            emit(call, model, state.count + 1, .fellBack(reasons: state.failures))
        }
        guard let hit else { return .send }
        emit(call, model, state.count, .cacheHit(text: hit.text))
        return .cached(
            CallOutcome(
                response: hit, model: model, usage: Usage(inputTokens: 0, outputTokens: 0), cost: 0, attempts: state.count,
                retries: state.retries, fallbacks: state.fallbacks, cached: true))
    }

    /// Why a model cannot take this call, if it cannot.
    func skipReason(_ caps: ModelCapabilities?, needsJSON: Bool, images: Bool, estimate: Int, maxTokens: Int) -> String? {
        if let caps, needsJSON, !caps.jsonMode, !caps.structuredOutput { return "it has no JSON mode" }
        // Only a model the catalog lists without vision is known to be blind.
        if let caps, images, caps.isKnown, !caps.vision { return "it cannot read images (the catalog lists it without vision)" }
        if let window = caps?.contextWindow, estimate + maxTokens > window {
            return "the prompt (about \(estimate) tokens) and max_tokens (\(maxTokens)) do not fit its context window (\(window))"
        }
        return nil
    }

    func skip(_ call: Call, _ model: String, _ reason: String, _ state: inout Attempts) {
        state.failures.append("\(model): \(reason)")
        emit(call, model, state.count, .skipped(reason: reason))
    }

    /// What one model of the route is sent. A class: async frames hold a reference, not a copy.
    final class Target: Sendable {
        let provider: any ChatProvider
        let request: ChatRequest
        let model: String
        let price: ModelPrice?
        let position: Int
        let cacheKey: String?

        init(provider: any ChatProvider, request: ChatRequest, model: String, price: ModelPrice?, position: Int, cacheKey: String?) {
            self.provider = provider
            self.request = request
            self.model = model
            self.price = price
            self.position = position
            self.cacheKey = cacheKey
        }
    }

    /// The bookkeeping of one logical call across its models.
    struct Attempts {
        let policy: RetryPolicy
        /// Models × (1 + retries): what CostBound prices.
        let limit: Int
        let maxTokens: Int
        /// The prompt's bound in tokens: what is reserved and priced.
        let estimate: Int
        /// The prompt's likely count: what is checked against a context window.
        let likely: Int
        var count = 0
        var retries = 0
        var fallbacks = 0
        var failures: [String] = []
        var causes: [ProviderError.Kind] = []
        var retryAfter: Duration?
        /// The call sends an image (a model the catalog lists without vision is skipped).
        let hasImages: Bool

        init(_ call: Call) {
            let retries = call.retry?.attempts ?? Step.RetryPolicy.defaultAttempts
            let retryable = call.retry?.on.map { Set($0.compactMap(ProviderError.Kind.init(rawValue:))) } ?? RetryPolicy.transient
            policy = RetryPolicy(
                attempts: retries, base: call.retry?.backoff ?? .seconds(1), cap: call.retry?.maxBackoff ?? .seconds(30),
                retryable: retryable)
            limit = call.route.choices.count * (1 + retries)
            maxTokens = call.overrides.maxTokens ?? call.route.maxTokens
            estimate = TokenEstimate.promptTokens(system: call.system, messages: call.messages, format: call.format, tools: call.overrides.tools)
            likely = TokenEstimate.likelyPromptTokens(
                system: call.system, messages: call.messages, format: call.format, tools: call.overrides.tools)
            hasImages = call.messages.contains { m in m.content.contains { if case .text = $0 { false } else { true } } }
        }

        func failure(_ call: Call) -> RunError {
            var message = "every model failed: " + failures.joined(separator: "; ")
            if failures.contains(where: { $0.contains("ollama: connection") }) {
                message += " — is Ollama running? Start it with `ollama serve` (and `ollama pull` the model), or set OLLAMA_HOST"
            }
            var error = RunError(.modelsFailed, message, step: call.step, causes: causes)
            error.retryAfter = retryAfter
            return error
        }
    }
}

/// What a caller that brings its own request (the gateway) sets over the route's parameters.
public struct CallOverrides: Sendable {
    public var temperature: Double?
    public var maxTokens: Int?
    public var topP: Double?
    /// Replaces the route's stop sequences when not nil.
    public var stop: [String]?
    public var tools: [ToolDefinition]
    public var toolChoice: ChatRequest.ToolChoice?
    /// `parallel_tool_calls` as the client sent it (nil: the provider's default).
    public var parallelToolCalls: Bool?

    public init(
        temperature: Double? = nil, maxTokens: Int? = nil, topP: Double? = nil, stop: [String]? = nil,
        tools: [ToolDefinition] = [], toolChoice: ChatRequest.ToolChoice? = nil, parallelToolCalls: Bool? = nil
    ) {
        self.parallelToolCalls = parallelToolCalls
        self.temperature = temperature
        self.maxTokens = maxTokens
        self.topP = topP
        self.stop = stop
        self.tools = tools
        self.toolChoice = toolChoice
    }
}

/// The result of one logical model call.
public struct CallOutcome: Sendable {
    public var response: ChatResponse
    /// The `provider/model` that answered.
    public var model: String
    public var usage: Usage
    /// Nil when the model's price is unknown.
    public var cost: Double?
    /// Attempts sent, and of them the retries and the fallbacks to another model.
    public var attempts: Int
    public var retries: Int
    public var fallbacks: Int
    public var cached: Bool

    func adding(_ other: CallOutcome) -> CallOutcome {
        var out = other
        out.usage = Usage(inputTokens: usage.inputTokens + other.usage.inputTokens, outputTokens: usage.outputTokens + other.usage.outputTokens)
        out.cost = cost.flatMap { a in other.cost.map { a + $0 } }
        out.attempts = attempts + other.attempts
        out.retries = retries + other.retries
        out.fallbacks = fallbacks + other.fallbacks
        out.cached = cached && other.cached
        return out
    }
}
