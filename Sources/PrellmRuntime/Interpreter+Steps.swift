import PrellmCompiler
import PrellmProviderKit
import PrellmRegex
import PrellmSchema

/// The execution of the steps that compute a value: classify, extract, call, transform, map
/// and use (routes and validate steps steer the main loop). Each kind's cost is in the
/// compiler's Cost/StepCost, which prices exactly the calls made here.
///
/// The async functions only await; rendering prompts, building calls and records are
/// synchronous stages, whose locals live on the thread's stack rather than in the async frames
/// that every run in flight keeps (measured: Benchmarks/interpreter, memory per concurrent run).
extension Interpreter {
    /// Runs one step. `item` is the position of a map's item when the step is a map's sub-step.
    func perform(
        _ step: CompiledStep, frame: inout Frame, item: Int? = nil, ledger: RunLedger, context: RunContext
    )
        async throws(RunError) -> (JSONValue, StepRecord)
    {
        let site = CallSite(step, frame: frame, item: item, started: context.clock.now)
        if item == nil, frame.prefix.isEmpty, let mock = context.mocks[step.index] {
            return mocked(step, mock, site, frame: &frame, context: context)
        }
        switch step.payload {
        case .transform, .pattern:
            return try compute(step, frame.scope, site, context: context)
        case .classify, .extract:
            let ask = try structuredAsk(step, frame: &frame, site)
            return try await structured(step, site, ask, frame: &frame, ledger: ledger, context: context)
        case .call(let p):
            if p.output != nil {
                let ask = try structuredAsk(step, frame: &frame, site)
                return try await structured(step, site, ask, frame: &frame, ledger: ledger, context: context)
            }
            let call = try textCall(step, p, frame: &frame, site, ledger: ledger, context: context)
            let outcome = try await ModelRouter(context: context).call(call, ledger: ledger)
            if item == nil { frame.state[step.index].answer = ModelAnswer(text: outcome.response.text, finish: outcome.response.finishReason) }
            return (.string(outcome.response.text), site.record(step, outcome, context))
        case .map:
            let results = try await mapItems(step, frame: frame, site, ledger: ledger, context: context)
            return (.array(results), site.record(step, nil, context))
        case .use:
            let out = try await use(step, frame: frame, site, ledger: ledger, context: context)
            return (out, site.record(step, nil, context))
        case .recall(let p):
            return try await recall(step, p, frame, site, ledger: ledger, context: context)
        case .remember(let p):
            return try await remember(step, p, frame, site, ledger: ledger, context: context)
        case .route, .validate:
            throw RunError(.internalError, "bug: a \(step.kind.rawValue) step reached perform(); please report it", step: site.path)
        }
    }

    /// A step answered by a test's mock: its answer as the model would have given it (a
    /// classification without a confidence has confidence 1), no call, no cost.
    func mocked(_ step: CompiledStep, _ mock: JSONValue, _ site: CallSite, frame: inout Frame, context: RunContext) -> (JSONValue, StepRecord) {
        let value = Self.mockAnswer(step.payload, mock)
        frame.state[step.index].answer = ModelAnswer(text: value.stringValue ?? value.jsonText, finish: .stop)
        var record = site.record(step, nil, context)
        record.modelUsed = "mock"
        (record.usage, record.costUSD, record.attempts) = (Usage(inputTokens: 0, outputTokens: 0), 0, 0)
        return (value, record)
    }

    static func mockAnswer(_ payload: Payload, _ mock: JSONValue) -> JSONValue {
        switch (payload, mock) {
        case (.classify, .object(var o)) where o["confidence"] == nil:
            o["confidence"] = .number(1)
            return .object(o)
        case (.map(let m), .array(let items)): return .array(items.map { mockAnswer(m.step.payload, $0) })
        default: return mock
        }
    }

    /// Where a step runs: its position, its path for events, when it started, its options
    /// (copied out of the step, which is large, once per step), and the limits it runs under —
    /// its own budget and time, and those of the parts of the run it is inside.
    struct CallSite {
        var index: Int
        var path: String
        var started: ContinuousClock.Instant
        var item: Int?
        var retry: Step.RetryPolicy?
        var cache: Step.CachePolicy?
        var scopes: [RunLedger.Scope]
        var deadlines: [(at: ContinuousClock.Instant, error: RunError)]

        init(_ step: CompiledStep, frame: Frame, item: Int?, started: ContinuousClock.Instant) {
            index = step.index
            path = frame.prefix + step.id + (item.map { "[\($0)]" } ?? "")
            self.started = started
            self.item = item
            retry = step.retry
            cache = step.cache
            scopes = frame.enclosing.compactMap(\.scope)
            deadlines = frame.enclosing.compactMap(\.deadline)
            guard step.budget != nil || step.timeout != nil else { return }
            // A map's sub-step keeps its budget apart from its map's (they share an id).
            let key = frame.prefix + step.id + (item == nil ? "" : "[]")
            let own = Interpreter.limit(of: step, key: key, what: "step '\(frame.prefix + step.id)'", started: started, path: path)
            if let s = own.scope { scopes.append(s) }
            if let d = own.deadline { deadlines.append(d) }
        }

        func record(_ step: CompiledStep, _ call: CallOutcome?, _ context: RunContext) -> StepRecord {
            StepRecord(
                id: path, kind: step.kind.rawValue, status: call?.cached == true ? .cached : .ok, modelUsed: call?.model,
                usage: call?.usage, costUSD: call?.cost, latency: context.clock.now - started, attempts: call?.attempts ?? 1,
                retries: call?.retries ?? 0, fallbacks: call?.fallbacks ?? 0)
        }
    }

    func render(_ t: CompiledTemplate?, _ scope: Evaluator.Scope, _ site: CallSite) throws(RunError) -> String? {
        guard let t else { return nil }
        do { return try renderer.render(t, scope) } catch { throw RunError(.evaluation, error.message, step: site.path) }
    }

    /// The steps that call no model: a transform's text, a pattern's matches.
    func compute(_ step: CompiledStep, _ scope: Evaluator.Scope, _ site: CallSite, context: RunContext) throws(RunError) -> (JSONValue, StepRecord) {
        switch step.payload {
        case .transform(let p):
            return (.string(try render(p.template, scope, site) ?? ""), site.record(step, nil, context))
        case .pattern(let p):
            let matches = p.regex.allMatches(in: try render(p.text, scope, site) ?? "")
            let value: JSONValue = .object([
                "matches": .array(matches.map { m in .object(m.mapValues(JSONValue.string)) }),
                "count": .number(Double(matches.count)),
            ])
            return (value, site.record(step, nil, context))
        case .classify, .extract, .call, .map, .use, .route, .validate, .recall, .remember:
            throw RunError(.internalError, "bug: compute() given a \(step.kind.rawValue) step", step: site.path)
        }
    }

    /// What a structured step asks: its route, its system prompt (instructions, then the
    /// directive), its prompt, the contract the answer must satisfy, and any re-ask turns.
    struct Ask {
        var route: ModelRoute
        var system: String
        var prompt: String
        var contract: CompiledContract
        var reask: [ChatMessage]
    }

    func structuredAsk(_ step: CompiledStep, frame: inout Frame, _ site: CallSite) throws(RunError) -> Ask {
        let scope = frame.scope
        let reask = site.item == nil ? frame.state[step.index].reask.take() ?? [] : []
        func instructed(_ t: CompiledTemplate?, _ directive: String) throws(RunError) -> String {
            (try render(t, scope, site).map { $0 + PromptText.separator } ?? "") + directive
        }
        switch step.payload {
        case .classify(let p):
            return Ask(
                route: p.route, system: try instructed(p.instructions, p.directive), prompt: try render(p.text, scope, site) ?? "",
                contract: p.contract, reask: reask)
        case .extract(let p):
            return Ask(
                route: p.route, system: try instructed(p.instructions, p.directive.value), prompt: try render(p.text, scope, site) ?? "",
                contract: p.contract, reask: reask)
        case .call(let p):
            guard let contract = p.output, let directive = p.directive?.value else { break }
            return Ask(
                route: p.route, system: try instructed(p.system, directive), prompt: try render(p.prompt, scope, site) ?? "",
                contract: contract, reask: reask)
        case .pattern, .route, .validate, .transform, .map, .use, .recall, .remember: break
        }
        throw RunError(.internalError, "bug: a \(step.kind.rawValue) step has no structured call", step: site.path)
    }

    /// A call step without a contract: its prompt and the previous answer's re-ask, streamed when
    /// it is the step the workflow's output is.
    func textCall(
        _ step: CompiledStep, _ p: CallStep, frame: inout Frame, _ site: CallSite, ledger: RunLedger,
        context: RunContext
    ) throws(RunError) -> ModelRouter.Call {
        let reask = site.item == nil ? frame.state[step.index].reask.take() ?? [] : []
        var call = try request(
            site, p.route, system: try render(p.system, frame.scope, site),
            messages: [.user(try render(p.prompt, frame.scope, site) ?? "")] + reask, frame: frame, ledger: ledger,
            context: context)
        call.stream = site.item == nil && frame.streams && context.onText != nil && program.streamedSteps.contains(step.index)
        return call
    }

    /// The router's call for a step: its route and options, and the deadline that applies.
    func request(
        _ site: CallSite, _ route: ModelRoute, system: String?, messages: [ChatMessage], frame: Frame, ledger: RunLedger,
        context: RunContext
    ) throws(RunError) -> ModelRouter.Call {
        var call = ModelRouter.Call(step: site.path, route: route, system: system, messages: messages, traceID: frame.traceID)
        call.retry = site.retry
        call.cache = site.cache
        call.scopes = site.scopes
        call.deadline = try deadline(site, context: context)
        return call
    }

    /// The limits a step puts on what runs inside it: its budget, kept under `key`, and its time.
    static func limit(of step: CompiledStep, key: String, what: String, started: ContinuousClock.Instant, path: String) -> Enclosing {
        let scope = step.budget.flatMap { b in b.maxUSD != nil || b.maxTokens != nil ? RunLedger.Scope(key: key, what: what, budget: b) : nil }
        let deadline = (step.timeout ?? step.budget?.timeout).map { t in
            (at: started + t, error: RunError(.timeout, "the step ran out of its time (\(describe(t)))", step: path))
        }
        return Enclosing(scope: scope, deadline: deadline)
    }

    /// The instant by which a call must end: the soonest of the step's time, the enclosing map's,
    /// import's or run's; past it, the call ends with that limit's error.
    func deadline(_ site: CallSite, context: RunContext) throws(RunError) -> (at: ContinuousClock.Instant, error: RunError)? {
        guard var best = site.deadlines.first else { return nil }
        for d in site.deadlines.dropFirst() where d.at < best.at { best = d }
        if context.clock.now >= best.at { throw best.error.at(site.path) }
        return (best.at, best.error.at(site.path))
    }

    /// A model call whose answer must be JSON for its contract: schema-aligned parsing, then
    /// validation; an answer that still fails is re-asked with the errors, up to
    /// `PromptText.structuredAttempts` calls in all.
    func structured(
        _ step: CompiledStep, _ site: CallSite, _ ask: Ask, frame: inout Frame, ledger: RunLedger, context: RunContext
    )
        async throws(RunError) -> (JSONValue, StepRecord)
    {
        var messages: [ChatMessage] = [.user(ask.prompt)] + ask.reask
        var total: CallOutcome?
        let router = ModelRouter(context: context)
        for attempt in 1...PromptText.structuredAttempts {
            var call = try request(site, ask.route, system: ask.system, messages: messages, frame: frame, ledger: ledger, context: context)
            call.format = .jsonSchema(name: ask.contract.name, schema: ask.contract.schema)
            let outcome = try await router.call(call, ledger: ledger)
            total = total.map { $0.adding(outcome) } ?? outcome
            if site.item == nil { frame.state[site.index].answer = ModelAnswer(text: outcome.response.text, finish: outcome.response.finishReason) }
            switch try await judge(outcome, ask.contract, attempt: attempt, site, frame: frame, context: context) {
            case .valid(let value): return (value, site.record(step, total, context))
            case .invalid(let problems): messages += [.assistant(outcome.response.text), .user(PromptText.structuredReask(problems))]
            }
        }
        throw RunError(.internalError, "bug: a structured call ended without an answer or an error", step: site.path)
    }

    enum Judgement {
        case valid(JSONValue)
        case invalid([String])
    }

    /// A structured answer, parsed toward its contract and checked (off the cooperative pool when
    /// it is large); the last attempt's failure, or a truncated answer, ends the step.
    func judge(
        _ outcome: CallOutcome, _ contract: CompiledContract, attempt: Int, _ site: CallSite, frame: Frame,
        context: RunContext
    ) async throws(RunError) -> Judgement {
        let text = outcome.response.text
        let (parsed, checked) = await OffPool.run(bytes: text.utf8.count) { () -> (SchemaAlignedParser.Result?, [String]) in
            guard let parsed = SchemaAlignedParser.parse(text, schema: contract.schema) else { return (nil, []) }
            return (parsed, contract.problems(parsed.value))
        }
        var problems: [String]
        if let parsed {
            if !parsed.repairs.isEmpty {
                context.events?.record(.repaired(traceID: frame.traceID, step: site.path, repairs: parsed.repairs))
            }
            problems = checked
            if problems.isEmpty { return .valid(parsed.value) }
        } else {
            problems = ["the answer is not JSON"]
        }
        if outcome.response.finishReason == .length {
            throw RunError(.truncated, "the answer stopped at max_tokens and is not valid JSON; raise max_tokens", step: site.path)
        }
        if attempt == PromptText.structuredAttempts {
            throw RunError(
                .validationFailed, "the model's answer does not satisfy \(contract.name): " + problems.joined(separator: "; "),
                step: site.path)
        }
        return .invalid(problems)
    }
}
