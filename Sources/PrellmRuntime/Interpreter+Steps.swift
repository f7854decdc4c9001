import PrellmCompiler
import PrellmProviderKit
import PrellmRegex
import PrellmSchema

/// The execution of the steps that compute a value: classify, extract, call, transform, map
/// and use (routes and validate steps steer the main loop). Each kind's cost is in the
/// compiler's Cost/StepCost, which prices exactly the calls made here.
extension Interpreter {
    /// Runs one step. `item` is the position of a map's item when the step is a map's sub-step.
    func perform(_ step: CompiledStep, frame: inout Frame, item: Int? = nil, ledger: RunLedger, context: RunContext)
        async throws(RunError) -> (JSONValue, StepRecord) {
        let path = frame.prefix + step.id + (item.map { "[\($0)]" } ?? "")
        let started = context.clock.now
        let scope = frame.scope
        func render(_ t: CompiledTemplate?) throws(RunError) -> String? {
            guard let t else { return nil }
            do { return try renderer.render(t, scope) } catch { throw RunError(.evaluation, error.message, step: path) }
        }
        func record(_ call: CallOutcome? = nil) -> StepRecord {
            StepRecord(id: path, kind: step.kind.rawValue, status: call?.cached == true ? .cached : .ok, modelUsed: call?.model,
                       usage: call?.usage, costUSD: call?.cost, latency: context.clock.now - started, attempts: call?.attempts ?? 1,
                       retries: call?.retries ?? 0, fallbacks: call?.fallbacks ?? 0)
        }
        let reask = item == nil ? frame.reasks[step.index].take() ?? [] : []
        let call = CallSite(step: step, path: path, started: started, item: item)

        switch step.payload {
        case .transform(let p):
            return (.string(try render(p.template) ?? ""), record())
        case .pattern(let p):
            let matches = p.regex.allMatches(in: try render(p.text) ?? "")
            let value: JSONValue = .object([
                "matches": .array(matches.map { m in .object(m.mapValues(JSONValue.string)) }),
                "count": .number(Double(matches.count)),
            ])
            return (value, record())
        case .classify(let p):
            let system = (try render(p.instructions).map { $0 + PromptText.separator } ?? "") + p.directive
            let (v, outcome) = try await structured(call, p.route, system: system, prompt: try render(p.text) ?? "", reask: reask,
                                                    contract: p.contract, frame: &frame, ledger: ledger, context: context)
            return (v, record(outcome))
        case .extract(let p):
            let system = (try render(p.instructions).map { $0 + PromptText.separator } ?? "") + p.directive
            let (v, outcome) = try await structured(call, p.route, system: system, prompt: try render(p.text) ?? "", reask: reask,
                                                    contract: p.contract, frame: &frame, ledger: ledger, context: context)
            return (v, record(outcome))
        case .call(let p):
            let prompt = try render(p.prompt) ?? ""
            if let contract = p.output, let directive = p.directive {
                let system = (try render(p.system).map { $0 + PromptText.separator } ?? "") + directive
                let (v, outcome) = try await structured(call, p.route, system: system, prompt: prompt, reask: reask, contract: contract,
                                                        frame: &frame, ledger: ledger, context: context)
                return (v, record(outcome))
            }
            let streams = item == nil && frame.streams && context.onText != nil && program.streamedStep == step.index
            var request = try self.request(call, p.route, system: try render(p.system), messages: [.user(prompt)] + reask, frame: frame,
                                           ledger: ledger, context: context)
            request.stream = streams
            let outcome = try await ModelRouter(context: context).call(request, ledger: ledger)
            if item == nil { frame.answers[step.index] = ModelAnswer(text: outcome.response.text, finish: outcome.response.finishReason) }
            return (.string(outcome.response.text), record(outcome))
        case .map(let p):
            let items: [JSONValue]
            do {
                guard case .array(let a) = try renderer.value(p.over, scope) else {
                    throw RunError(.evaluation, "'over' is not a list", step: path)
                }
                items = a
            } catch let e as Evaluator.EvaluationError {
                throw RunError(.evaluation, "'over': \(e.message)", step: path)
            } catch {
                throw error as! RunError
            }
            if let limit = p.maxItems, items.count > limit {
                // A declared max_items is the workflow's own limit. A bound from the list's schema
                // holds unless something upstream let an invalid list through: a bug, refused.
                if p.maxItemsDeclared {
                    throw RunError(.validationFailed, "the map would run over \(items.count) items, but its max_items is \(limit)", step: path)
                }
                throw RunError(.internalError, "bug: the map would run over \(items.count) items, but its program was priced for at most \(limit) (the list's maxItems); please report it", step: path)
            }
            let results = try await mapItems(items, p, frame: frame, ledger: ledger, context: context)
            return (.array(results), record())
        case .use(let p):
            var given = [JSONValue?](repeating: nil, count: p.program.inputs.count)
            for (position, value, asText) in p.with {
                do { given[position] = asText ? .string(try renderer.render(value, scope)) : try renderer.value(value, scope) } catch {
                    throw RunError(.evaluation, "the input '\(p.program.inputs[position].name)': \(error.message)", step: path)
                }
            }
            let inputs = try Self.prepare(given, p.program.inputs)
            let inner = Interpreter(p.program)
            let out = try await inner.execute(inputs: inputs, ledger: ledger, context: context, traceID: frame.traceID,
                                              prefix: frame.prefix + step.id + ".", streams: false)
            return (out, record())
        case .route, .validate:
            throw RunError(.internalError, "bug: a \(step.kind.rawValue) step reached perform(); please report it", step: path)
        }
    }

    /// Where a model call is made from: the step, its path for events, when the step started.
    struct CallSite {
        var step: CompiledStep
        var path: String
        var started: ContinuousClock.Instant
        var item: Int?
    }

    /// The router's call for a step: its route and options, and the deadline that applies.
    func request(_ site: CallSite, _ route: ModelRoute, system: String?, messages: [ChatMessage], frame: Frame, ledger: RunLedger,
                 context: RunContext) throws(RunError) -> ModelRouter.Call {
        var call = ModelRouter.Call(step: site.path, route: route, system: system, messages: messages, traceID: frame.traceID)
        call.retry = site.step.retry
        call.cache = site.step.cache
        call.budget = site.step.budget
        call.budgetKey = frame.prefix + site.step.id
        call.deadline = try deadline(site, ledger: ledger, context: context)
        return call
    }

    /// The instant by which a call must end: the step's `timeout` (or its budget's) from the
    /// step's start, and the run budget's `timeout` from the run's start, whichever is first.
    func deadline(_ site: CallSite, ledger: RunLedger, context: RunContext) throws(RunError) -> (at: ContinuousClock.Instant, error: RunError)? {
        var best: (at: ContinuousClock.Instant, error: RunError)?
        if let t = site.step.timeout ?? site.step.budget?.timeout {
            best = (site.started + t, RunError(.timeout, "the step ran out of its time (\(Self.describe(t)))", step: site.path))
        }
        if let t = program.budget?.timeout, best.map({ ledger.started + t < $0.at }) ?? true {
            best = (ledger.started + t, RunError(.budgetExceeded, "the run's time budget (\(Self.describe(t))) ran out", step: site.path))
        }
        if let (at, error) = best, context.clock.now >= at { throw error }
        return best
    }

    /// A model call whose answer must be JSON for `contract`: schema-aligned parsing, then
    /// validation; an answer that still fails is re-asked with the errors, up to
    /// `PromptText.structuredAttempts` calls in all.
    func structured(_ site: CallSite, _ route: ModelRoute, system: String, prompt: String, reask: [ChatMessage], contract: CompiledContract,
                    frame: inout Frame, ledger: RunLedger, context: RunContext) async throws(RunError) -> (JSONValue, CallOutcome) {
        var messages: [ChatMessage] = [.user(prompt)] + reask
        var total: CallOutcome?
        let router = ModelRouter(context: context)
        for attempt in 1...PromptText.structuredAttempts {
            var call = try request(site, route, system: system, messages: messages, frame: frame, ledger: ledger, context: context)
            call.format = .jsonSchema(name: contract.name, schema: contract.schema)
            let outcome = try await router.call(call, ledger: ledger)
            total = total.map { $0.adding(outcome) } ?? outcome
            if site.item == nil { frame.answers[site.step.index] = ModelAnswer(text: outcome.response.text, finish: outcome.response.finishReason) }
            var problems: [String]
            if let parsed = SchemaAlignedParser.parse(outcome.response.text, schema: contract.schema) {
                if !parsed.repairs.isEmpty {
                    context.events?.record(.repaired(traceID: frame.traceID, step: site.path, repairs: parsed.repairs))
                }
                problems = contract.problems(parsed.value)
                if problems.isEmpty { return (parsed.value, total!) }
            } else {
                problems = ["the answer is not JSON"]
            }
            if outcome.response.finishReason == .length {
                throw RunError(.truncated, "the answer stopped at max_tokens and is not valid JSON; raise max_tokens", step: site.path)
            }
            if attempt == PromptText.structuredAttempts {
                throw RunError(.validationFailed, "the model's answer does not satisfy \(contract.name): " + problems.joined(separator: "; "),
                               step: site.path)
            }
            messages += [.assistant(outcome.response.text), .user(PromptText.structuredReask(problems))]
        }
        throw RunError(.internalError, "bug: a structured call ended without an answer or an error", step: site.path)
    }

    /// Runs a map's sub-step over the items, at most `concurrency` at a time; results keep the
    /// order of the items. An item the sub-step's `if:` skips gives null.
    func mapItems(_ items: [JSONValue], _ p: MapStep, frame: Frame, ledger: RunLedger, context: RunContext) async throws(RunError) -> [JSONValue] {
        var results = [JSONValue?](repeating: nil, count: items.count)
        let sub = p.step
        do {
            try await withThrowingTaskGroup(of: (Int, JSONValue).self) { group in
                var next = 0
                func launch() {
                    let i = next
                    next += 1
                    var f = frame
                    f.scope.locals = [items[i], .number(Double(i))]  // slots 0 and 1, as the checker bound them
                    group.addTask {
                        if let c = sub.condition, !(try self.passes(c, f.scope, step: f.prefix + sub.id, what: "the 'if' guard")) {
                            ledger.add(StepRecord(id: f.prefix + sub.id + "[\(i)]", kind: sub.kind.rawValue, status: .skipped, latency: .zero, attempts: 0))
                            return (i, .null)
                        }
                        let (v, record) = try await self.perform(sub, frame: &f, item: i, ledger: ledger, context: context)
                        ledger.add(record)
                        return (i, v)
                    }
                }
                while next < min(p.concurrency, items.count) { launch() }
                while let (i, v) = try await group.next() {
                    results[i] = v
                    if next < items.count { launch() }
                }
            }
        } catch let e as RunError {
            throw e
        } catch {
            throw RunError(.cancelled, "\(error)")
        }
        return results.map { $0 ?? .null }
    }
}

extension Optional {
    /// The value, leaving nil in its place.
    mutating func take() -> Wrapped? {
        defer { self = nil }
        return self
    }
}
