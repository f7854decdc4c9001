import PrellmCompiler
import PrellmProviderKit
import PrellmSchema
import Synchronization

/// The attempts on one model of a route: reserve, send under the deadlines, then settle and
/// report, or release, and retry or give up on the model.
extension ModelRouter {
    /// Returns the answer, or nil when this model failed for good (the caller falls back).
    func attempts(_ call: Call, _ t: Target, _ state: inout Attempts, ledger: RunLedger) async throws(RunError) -> CallOutcome? {
        var retry = 0
        while true {
            let reservation = try begin(call, t, retry: retry, &state, ledger: ledger)
            let request = traced(t.request, call, attempt: state.count)
            let started = context.clock.now
            let result: Result<ChatResponse, any Error>
            context.routing.started(t.model)
            do {
                // The common case awaits the provider directly: no timer task, no stream to fold.
                if call.deadline == nil, call.route.parameters.timeout == nil, !call.stream {
                    result = .success(try await t.provider.complete(request))
                } else {
                    let sent = SentCharacters()
                    result = .success(
                        try await withDeadlines(call, started: started, sent: sent) {
                            try await self.send(t.provider, request, stream: call.stream, sent: sent)
                        })
                }
            } catch {
                result = .failure(error)
            }
            context.routing.ended(t.model)
            switch try conclude(call, t, result, reservation, started: started, retry: &retry, &state, ledger: ledger) {
            case .answered(let outcome): return outcome
            case .giveUp: return nil
            case .retry(let wait):
                do { try await context.clock.sleep(for: wait) } catch { throw RunError(.cancelled, "the run was interrupted", step: call.step) }
            }
        }
    }

    /// Before an attempt: the count CostBound priced, the reservation, the `started` event.
    func begin(_ call: Call, _ t: Target, retry: Int, _ state: inout Attempts, ledger: RunLedger) throws(RunError) -> RunLedger.Reservation {
        guard state.count < state.limit else {
            // CostBound prices models × (1 + retries) attempts; one more would be unpriced.
            throw RunError(.internalError, "bug: attempt \(state.count + 1) of a call priced for \(state.limit); please report it", step: call.step)
        }
        state.count += 1
        let reservation = try ledger.reserve(
            model: t.model, promptTokens: state.estimate, maxTokens: state.maxTokens, price: t.price,
            scopes: call.scopes, stepName: call.step)
        if context.events != nil {
            emit(call, t.model, state.count, .started(retry: retry, fallback: t.position > 0, promptTokens: state.estimate, prompt: promptText(call)))
        }
        return reservation
    }

    /// The request with the attempt span's context, when a tracer opened one for it.
    func traced(_ request: ChatRequest, _ call: Call, attempt: Int) -> ChatRequest {
        guard let tracing = context.tracing else { return request }
        var r = request
        r.traceContext = tracing.context(run: call.traceID, step: call.step, attempt: attempt)
        return r
    }

    enum Conclusion {
        case answered(CallOutcome)
        case retry(after: Duration)
        case giveUp
    }

    /// After an attempt: settle or release its reservation, report it, and decide what comes next.
    func conclude(
        _ call: Call, _ t: Target, _ result: Result<ChatResponse, any Error>, _ reservation: RunLedger.Reservation,
        started: ContinuousClock.Instant, retry: inout Int, _ state: inout Attempts, ledger: RunLedger
    ) throws(RunError) -> Conclusion {
        let attempt = state.count
        let breaker = call.route.parameters.circuitBreaker
        let latency = context.clock.now - started
        switch result {
        case .success(let response):
            if let report = response.usage, let problem = Usage.implausibility(of: report, promptBound: state.estimate, maxTokens: state.maxTokens) {
                chargeWorstCase(
                    call, t, reservation, Usage(inputTokens: state.estimate, outputTokens: state.maxTokens), attempt: attempt, ledger: ledger)
                let error = ProviderError(provider: t.provider.name, kind: .invalidResponse, message: problem)
                return try failed(call, t, error, latency: latency, retry: &retry, &state)
            }
            context.routing.recordLatency(t.model, ms: Double(latency.milliseconds))
            if let breaker { context.routing.recordResult(t.model, success: true, now: context.clock.now, threshold: breaker.failures) }
            // A provider that reports no usage is charged the estimate, not nothing; never more
            // output than the request allowed, which is what was reserved.
            let usage =
                response.usage
                ?? Usage(
                    inputTokens: state.estimate,
                    outputTokens: min(state.maxTokens, response.text.utf8.count / TokenEstimate.bytesPerToken + 1))
            let overran = ledger.settle(reservation, usage: usage, price: t.price)
            let cost = t.price?.cost(of: usage)
            emit(
                call, t.model, attempt,
                .answered(
                    .init(
                        text: response.text, finish: response.finishReason, usage: usage, costUSD: cost, latency: latency,
                        notes: response.notes, responseModel: response.model)))
            emit(call, t.model, attempt, .charged(usage: usage, costUSD: cost))
            if overran { emit(call, t.model, attempt, .overrun(reservedTokens: reservation.tokens, chargedTokens: usage.totalTokens)) }
            return .answered(
                CallOutcome(
                    response: response, model: t.model, usage: usage, cost: cost, attempts: state.count, retries: state.retries,
                    fallbacks: state.fallbacks, cached: false))
        case .failure(let error):
            ledger.release(reservation)
            return try failed(call, t, error, latency: latency, retry: &retry, &state)
        }
    }

    /// An answer whose usage report cannot be true was billed for something, but what, it does
    /// not say: the attempt is charged the worst case it was reserved at, never less.
    func chargeWorstCase(_ call: Call, _ t: Target, _ reservation: RunLedger.Reservation, _ worst: Usage, attempt: Int, ledger: RunLedger) {
        _ = ledger.settle(reservation, usage: worst, price: t.price)
        emit(call, t.model, attempt, .charged(usage: worst, costUSD: t.price?.cost(of: worst)))
    }

    /// A failed attempt: a deadline ends the call, a stream cut after text was shown ends it, a
    /// retryable error is retried while retries are left, anything else gives up on the model.
    func failed(
        _ call: Call, _ t: Target, _ error: any Error, latency: Duration, retry: inout Int, _ state: inout Attempts
    ) throws(RunError) -> Conclusion {
        let attempt = state.count
        let breaker = call.route.parameters.circuitBreaker
        switch error {
        case let e as RunError:
            emit(call, t.model, attempt, .cancelled(latency: latency))
            throw e
        case let partly as PartlySent:
            let e = partly.error
            if let breaker { context.routing.recordResult(t.model, success: false, now: context.clock.now, threshold: breaker.failures) }
            emit(call, t.model, attempt, .failed(.init(error: e, latency: latency, sentCharacters: partly.characters)))
            throw RunError(
                .modelsFailed,
                "\(t.model): \(e) — after \(partly.characters) characters of the answer had been sent, so it is not retried or sent to another model",
                step: call.step, causes: [e.kind])
        case let e as ProviderError:
            if Task.isCancelled {
                emit(call, t.model, attempt, .cancelled(latency: latency))
                throw RunError(.cancelled, "the run was interrupted", step: call.step)
            }
            if let breaker { context.routing.recordResult(t.model, success: false, now: context.clock.now, threshold: breaker.failures) }
            emit(call, t.model, attempt, .failed(.init(error: e, latency: latency, sentCharacters: nil)))
            if state.policy.retryable.contains(e.kind), retry < state.policy.attempts {
                retry += 1
                state.retries += 1
                let wait = state.policy.delay(retry: retry, error: e, random: context.random())
                emit(call, t.model, attempt, .retrying(delay: wait, cause: e.kind))
                context.onProgress?(
                    StepProgress(
                        step: call.step, state: .retrying, model: t.model, elapsed: .zero,
                        detail: "\(e.kind.rawValue); retry \(retry) in \(wait.milliseconds) ms"))
                return .retry(after: wait)
            }
            state.failures.append("\(t.model): \(e)")
            state.causes.append(e.kind)
            if let after = e.retryAfter { state.retryAfter = max(state.retryAfter ?? .zero, after) }
            return .giveUp
        default:
            emit(call, t.model, attempt, .cancelled(latency: latency))
            throw RunError(.cancelled, "the run was interrupted", step: call.step)
        }
    }

    /// The prompt as the trace shows it: the text, or its hash with `--redact-prompts`.
    func promptText(_ call: Call) -> String {
        let text = (call.system ?? "") + call.messages.map(\.text).joined(separator: "\n")
        return context.redactPrompts ? promptHash(text) : text
    }

    /// Runs one attempt under the call's deadline (the step's and the run's time: past it the
    /// call ends with that error) and the route's own `timeout` for one attempt (past it the
    /// attempt fails as a timeout, which may be retried). Whichever comes first cancels the
    /// attempt, and with it its HTTP request. An attempt timed out after part of its answer was
    /// shown is not retried either: `sent` says how much was.
    func withDeadlines(
        _ call: Call, started: ContinuousClock.Instant, sent: SentCharacters,
        _ operation: @escaping @Sendable () async throws -> ChatResponse
    ) async throws -> ChatResponse {
        var soonest: (at: ContinuousClock.Instant, error: any Error)?
        if let d = call.deadline { soonest = (d.at, d.error) }
        if let t = call.route.parameters.timeout, soonest.map({ started + t < $0.at }) ?? true {
            soonest = (
                started + t,
                ProviderError(
                    provider: call.route.name, kind: .timeout,
                    message: "no answer within the model's timeout (\(Interpreter.describe(t)))")
            )
        }
        guard let (at, error) = soonest else { return try await operation() }
        if context.clock.now >= at { throw error }
        let clock = context.clock
        return try await withThrowingTaskGroup(of: ChatResponse?.self) { group in
            group.addTask { try await operation() }
            group.addTask {
                try await clock.sleep(for: at - clock.now)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else {
                if let e = error as? ProviderError, sent.count > 0 { throw PartlySent(error: e, characters: sent.count) }
                throw error
            }
            return value
        }
    }

    /// A stream that failed after part of its answer had been handed on (to a terminal, to a
    /// gateway client). It is not retried nor sent to another model: what was shown cannot be
    /// taken back, and a second answer would be glued to the first half of another.
    struct PartlySent: Error {
        var error: ProviderError
        var characters: Int
    }

    /// How much of an attempt's answer has been handed on, shared by the stream that hands it on
    /// and the timer that may cut the stream short.
    final class SentCharacters: Sendable {
        private let characters = Atomic<Int>(0)
        var count: Int { characters.load(ordering: .relaxed) }
        func add(_ n: Int) { characters.add(n, ordering: .relaxed) }
    }

    func send(_ provider: any ChatProvider, _ request: ChatRequest, stream: Bool, sent: SentCharacters) async throws -> ChatResponse {
        if !stream { return try await provider.complete(request) }
        var deltas: [ChatDelta] = []
        do {
            for try await d in provider.stream(request) {
                switch d {
                case .text(let t):
                    if let onText = context.onText { onText(t); sent.add(t.count) }
                case .toolCall(let index, let id, let name, let arguments):
                    if let onToolCall = context.onToolCall { onToolCall(index, id, name, arguments); sent.add(arguments.count + (name?.count ?? 0)) }
                case .finish, .usage: break
                }
                deltas.append(d)
            }
        } catch let e as ProviderError where sent.count > 0 && !Task.isCancelled {
            throw PartlySent(error: e, characters: sent.count)
        }
        // A cancelled consumer's loop ends without an error: a short answer is not an answer.
        try Task.checkCancellation()
        return deltas.collected(model: request.model)
    }

    /// The exact-match cache key: everything in the request that can change the answer (every
    /// message part, images and tool turns included, the sampling parameters, the format, the
    /// tools). The model name as the provider knows it is covered by `model`.
    public static func cacheKey(_ model: String, _ r: ChatRequest) -> String {
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
        if let parallel = r.parallelToolCalls { o["parallel_tool_calls"] = .bool(parallel) }
        return JSONValue.object(o).jsonText
    }
}
