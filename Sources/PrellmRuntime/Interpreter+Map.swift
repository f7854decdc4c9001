import PrellmCompiler
import PrellmSchema

/// The steps that run other steps: a map's sub-step over its items, an imported workflow.
extension Interpreter {
    /// Runs a map's sub-step over the items, at most `concurrency` at a time; results keep the
    /// order of the items. An item the sub-step's `if:` skips gives null. A list longer than the
    /// map was priced for is refused before any item runs.
    func mapItems(
        _ step: CompiledStep, frame: Frame, _ site: CallSite, ledger: RunLedger, context: RunContext
    )
        async throws(RunError) -> [JSONValue]
    {
        let (p, items) = try mapList(step, frame.scope, site)
        var results = [JSONValue?](repeating: nil, count: items.count)
        let sub = p.step
        // The map's own budget and time hold all its items together.
        var frame = frame
        frame.enclosing.append(
            Self.limit(of: step, key: frame.prefix + step.id, what: "map '\(frame.prefix + step.id)'", started: site.started, path: site.path))
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
                            ledger.add(
                                StepRecord(id: f.prefix + sub.id + "[\(i)]", kind: sub.kind.rawValue, status: .skipped, latency: .zero, attempts: 0))
                            return (i, .null)
                        }
                        let (v, record) = try await self.perform(sub, frame: &f, item: i, ledger: ledger, context: context)
                        ledger.add(record, output: v)
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

    /// The map's list, held to the number of items it was priced for.
    func mapList(_ step: CompiledStep, _ scope: Evaluator.Scope, _ site: CallSite) throws(RunError) -> (MapStep, [JSONValue]) {
        guard case .map(let p) = step.payload else {
            throw RunError(.internalError, "bug: mapList() given a \(step.kind.rawValue) step", step: site.path)
        }
        let over: JSONValue
        do { over = try renderer.value(p.over, scope) } catch { throw RunError(.evaluation, "'over': \(error.message)", step: site.path) }
        guard case .array(let items) = over else { throw RunError(.evaluation, "'over' is not a list", step: site.path) }
        if let limit = p.maxItems, items.count > limit {
            // A declared max_items is the workflow's own limit. A bound from the list's schema
            // holds unless something upstream let an invalid list through: a bug, refused.
            if p.maxItemsDeclared {
                throw RunError(.validationFailed, "the map would run over \(items.count) items, but its max_items is \(limit)", step: site.path)
            }
            throw RunError(
                .internalError,
                "bug: the map would run over \(items.count) items, but its program was priced for at most \(limit) (the list's maxItems); please report it",
                step: site.path)
        }
        return (p, items)
    }

    /// Runs an imported workflow's program with the inputs its `with:` gives, under the `use`
    /// step's budget and time and the imported workflow's own `budget:` (its time from its start).
    func use(_ step: CompiledStep, frame: Frame, _ site: CallSite, ledger: RunLedger, context: RunContext) async throws(RunError) -> JSONValue {
        let (program, inputs, alias) = try useInputs(step, frame.scope, site)
        let prefix = frame.prefix + step.id + "."
        var enclosing = frame.enclosing
        enclosing.append(
            Self.limit(of: step, key: frame.prefix + step.id, what: "step '\(frame.prefix + step.id)'", started: site.started, path: site.path))
        if let b = program.budget {
            let what = "workflow '\(alias)'"
            let scope = b.maxUSD != nil || b.maxTokens != nil ? RunLedger.Scope(key: prefix, what: what, budget: b) : nil
            let deadline = b.timeout.map {
                (at: site.started + $0, error: RunError(.budgetExceeded, "\(what)'s time budget (\(Self.describe($0))) ran out"))
            }
            enclosing.append(Enclosing(scope: scope, deadline: deadline))
        }
        return try await Interpreter(program).execute(
            inputs: inputs, ledger: ledger, context: context, traceID: frame.traceID, prefix: prefix, streams: false, enclosing: enclosing)
    }

    func useInputs(_ step: CompiledStep, _ scope: Evaluator.Scope, _ site: CallSite) throws(RunError) -> (StepGraph, [JSONValue], String) {
        guard case .use(let p) = step.payload else {
            throw RunError(.internalError, "bug: use() given a \(step.kind.rawValue) step", step: site.path)
        }
        var given = [JSONValue?](repeating: nil, count: p.program.inputs.count)
        for (position, value, asText) in p.with {
            do { given[position] = asText ? .string(try renderer.render(value, scope)) : try renderer.value(value, scope) } catch {
                throw RunError(.evaluation, "the input '\(p.program.inputs[position].name)': \(error.message)", step: site.path)
            }
        }
        return (p.program, try Self.prepare(given, p.program.inputs), p.alias)
    }
}

extension Optional {
    /// The value, leaving nil in its place.
    mutating func take() -> Wrapped? {
        defer { self = nil }
        return self
    }
}
