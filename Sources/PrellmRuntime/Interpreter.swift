import Foundation
import PrellmCompiler
import PrellmProviderKit
import PrellmSchema
import PrellmSyntax
import Synchronization

/// The Interpreter runs a program — the StepGraph the compiler built — and only that: every
/// template, expression, contract, regex, jump target and route it uses was resolved when the
/// program was built, so a run parses nothing and looks nothing up by name.
///
/// Steps run in list order; a route jumps to its chosen target, a step's `next` to its target,
/// a false `if:` skips the step. A validate step that fails sends control back to its
/// `on_fail.retry` step with the previous answer and the exact errors appended (the re-ask), at
/// most `attempts` times — the only loop, as the compiler guarantees. Model calls go through the
/// ModelRouter; usage, cost and budgets through a RunLedger shared with the calls a `map` makes
/// concurrently. The program says how often each step can run and over how many items each map
/// can go (what CostBound priced); a run that would go past either is refused as the bug it is.
let traceSequence = Atomic<UInt64>(0)

public struct Interpreter: Sendable {
    public let program: StepGraph
    let renderer = TemplateRenderer()
    /// The inputs' names in order, for the `inputs` object.
    let inputNames: [String]

    public init(_ program: StepGraph) {
        self.program = program
        inputNames = program.inputs.map(\.name)
    }

    /// An interpreter for a file that compiled without errors.
    public init(_ result: CompileResult) throws(RunError) {
        guard let program = result.graph, !result.hasErrors else {
            throw RunError(.invalidInput, "the workflow does not compile")
        }
        self.init(program)
    }

    // MARK: - Inputs

    /// Applies defaults and checks every input against its schema; returns them by position.
    public func prepareInputs(_ given: [String: JSONValue]) throws(RunError) -> [JSONValue] {
        for name in given.keys where program.inputIndex[name] == nil {
            throw RunError(.invalidInput, "unknown input '\(name)'" + (Spelling.hint(name, in: program.inputs.map(\.name)).map { " (\($0))" } ?? ""))
        }
        return try Self.prepare(program.inputs.map { given[$0.name] }, program.inputs)
    }

    static func prepare(_ given: [JSONValue?], _ inputs: [CompiledInput]) throws(RunError) -> [JSONValue] {
        var values: [JSONValue] = []
        values.reserveCapacity(inputs.count)
        for (input, value) in zip(inputs, given) {
            guard let v = value ?? input.defaultValue else { throw RunError(.invalidInput, "input '\(input.name)' is required") }
            if let e = input.validator.validate(v).first {
                throw RunError(.invalidInput, "input '\(input.name)'\(e.instanceLocation): \(e.message)")
            }
            values.append(v)
        }
        return values
    }

    // MARK: - Running

    /// Runs the program.
    /// - Parameter allowance: a limit the host holds the run to besides its own budget (the
    ///   gateway's reservation for the request).
    public func run(inputs: [String: JSONValue], context: RunContext, allowance: RunLedger.Limit? = nil) async -> RunResult {
        let started = context.clock.now
        let traceID = Self.newTraceID(context.random)
        let ledger = RunLedger(budget: program.budget, allowance: allowance, started: started)
        var output: JSONValue = .null
        var failure: RunError?
        context.events?.record(.run(RunPhaseEvent(traceID: traceID, workflow: program.name, phase: .started(parent: context.traceParent))))
        do {
            let prepared = try prepareInputs(inputs)
            // The run's time budget bounds every call, in imports too; its token and dollar
            // budgets are the ledger's own limits.
            let run = program.budget?.timeout.map {
                Enclosing(scope: nil, deadline: (started + $0, RunError(.budgetExceeded, "the run's time budget (\(Self.describe($0))) ran out")))
            }
            output = try await execute(
                inputs: prepared, ledger: ledger, context: context, traceID: traceID, prefix: "", streams: true,
                enclosing: run.map { [$0] } ?? [])
        } catch {
            failure = error
        }
        let (usage, cost, records) = ledger.snapshot()
        context.events?.record(
            .run(RunPhaseEvent(traceID: traceID, workflow: program.name, phase: .ended(error: failure, usage: usage, costUSD: cost))))
        return RunResult(
            output: output, steps: records, usage: usage, costUSD: cost, traceID: traceID, error: failure,
            elapsed: context.clock.now - started)
    }

    /// 53 random bits and a process-wide sequence number: unique, and one draw per run.
    static func newTraceID(_ random: @Sendable () -> Double) -> String {
        let bits = UInt64(random() * 9_007_199_254_740_992)
        let seq = traceSequence.add(1, ordering: .relaxed).newValue
        return String(bits, radix: 16) + "-" + String(seq, radix: 16)
    }

    /// Per-run state of one program's steps (an imported program gets its own).
    struct Frame {
        var scope: Evaluator.Scope
        /// Each step's bookkeeping, by position (one array: a run allocates little).
        var state: [StepState]
        var traceID: String
        var prefix: String
        /// Whether this program's streamed step streams (the top-level program's only).
        var streams: Bool
        /// The limits of the parts of the run this frame is inside: the run's time, an enclosing
        /// map's or `use` step's budget and time, an imported workflow's own budget.
        var enclosing: [Enclosing]

        init(inputs: [JSONValue], names: [String], count: Int, traceID: String, prefix: String, streams: Bool, enclosing: [Enclosing]) {
            scope = Evaluator.Scope(inputs: inputs, names: names, steps: Array(repeating: nil, count: count))
            state = Array(repeating: StepState(), count: count)
            self.traceID = traceID
            self.prefix = prefix
            self.streams = streams
            self.enclosing = enclosing
        }
    }

    /// A limit an enclosing part of the run puts on every call inside it.
    struct Enclosing {
        var scope: RunLedger.Scope?
        var deadline: (at: ContinuousClock.Instant, error: RunError)?
    }

    struct StepState {
        /// The last raw answer of a model step, for re-asks.
        var answer: ModelAnswer?
        /// Re-ask turns to add to the step's next call: its previous answer and the errors.
        var reask: [ChatMessage]?
        /// Re-asks a validate step has used.
        var validations = 0
        var executions = 0
        /// When the step last started, for the record of a step that fails.
        var started: ContinuousClock.Instant?
    }

    struct ModelAnswer {
        var text: String
        var finish: FinishReason
    }

    func execute(
        inputs: [JSONValue], ledger: RunLedger, context: RunContext, traceID: String, prefix: String, streams: Bool,
        enclosing: [Enclosing]
    )
        async throws(RunError) -> JSONValue
    {
        var frame = Frame(
            inputs: inputs, names: inputNames, count: program.steps.count, traceID: traceID, prefix: prefix, streams: streams,
            enclosing: enclosing)
        var i = 0
        while i < program.steps.count {
            if let next = try await steer(i, &frame, ledger: ledger, context: context) {
                i = next
                continue
            }
            let (value, record): (JSONValue, StepRecord)
            do {
                (value, record) = try await perform(program.steps[i], frame: &frame, ledger: ledger, context: context)
            } catch {
                throw recordFailure(error, of: i, frame: frame, ledger: ledger, context: context)
            }
            frame.scope.steps[i] = value
            ledger.add(record, output: value)
            progress(
                context, frame.traceID, record.id, .done, started: context.clock.now - record.latency, model: record.modelUsed, usage: record.usage,
                cost: record.costUSD)
            i = position(program.steps[i].next)
        }
        return try output(frame)
    }

    /// The failed step is listed too, with why: a failed run still shows every step it ran.
    /// (Synchronous, so its locals stay out of the async frame of every run in flight.)
    func recordFailure(_ error: RunError, of i: Int, frame: Frame, ledger: RunLedger, context: RunContext) -> RunError {
        let step = program.steps[i], now = context.clock.now
        var failed = StepRecord(
            id: frame.prefix + step.id, kind: step.kind.rawValue, status: .failed, latency: now - (frame.state[i].started ?? now),
            attempts: 0)
        failed.error = error
        ledger.add(failed)
        context.events?.record(.step(StepEvent(traceID: frame.traceID, step: failed.id, state: .failed, error: error.message)))
        return error
    }

    /// Everything about step `i` that calls no model: the run's limits, the guard, a route's
    /// choice, a validate step's verdict. Returns where control goes, or nil when the step is
    /// one that computes a value (`perform`).
    func steer(_ i: Int, _ frame: inout Frame, ledger: RunLedger, context: RunContext) async throws(RunError) -> Int? {
        if Task.isCancelled { throw RunError(.cancelled, "the run was interrupted") }
        let step = program.steps[i], path = frame.prefix + step.id
        for e in frame.enclosing { if let (at, error) = e.deadline, context.clock.now >= at { throw error.at(path) } }
        frame.state[i].executions += 1
        guard frame.state[i].executions <= step.maxExecutions else {
            throw RunError(
                .internalError,
                "bug: step '\(step.id)' would run \(frame.state[i].executions) times, but the program allows \(step.maxExecutions); please report it",
                step: path)
        }
        let started = context.clock.now
        if let condition = step.condition, !(try passes(condition, frame.scope, step: path, what: "the 'if' guard")) {
            frame.scope.steps[i] = nil
            ledger.add(StepRecord(id: path, kind: step.kind.rawValue, status: .skipped, latency: .zero, attempts: 0))
            progress(context, frame.traceID, path, .skipped, started: started)
            return i + 1
        }
        progress(context, frame.traceID, path, .running, started: started, kind: step.kind.rawValue)
        frame.state[i].started = started
        switch step.payload {
        case .route(let r):
            let target = try choose(r, frame.scope, step: path)
            let name = target.map { program.steps[$0].id } ?? "end"
            frame.scope.steps[i] = .object(["target": .string(name)])
            ledger.add(
                StepRecord(id: path, kind: "route", status: .ok, latency: context.clock.now - started, attempts: 1),
                output: frame.scope.steps[i] ?? .null)
            progress(context, frame.traceID, path, .done, started: started, detail: "→ \(name)")
            return target ?? program.steps.count
        case .validate(let v):
            return try await validate(step, v, &frame, ledger: ledger, context: context, started: started) ?? position(step.next)
        case .classify, .extract, .pattern, .call, .transform, .map, .use, .recall, .remember:
            return nil
        }
    }

    /// What the program returns: its `output`, else its last step's.
    func output(_ frame: Frame) throws(RunError) -> JSONValue {
        if let output = program.output {
            do { return try renderer.value(output, frame.scope) } catch {
                throw RunError(.evaluation, "the output: \(error.message)")
            }
        }
        return frame.scope.steps.last.flatMap { $0 } ?? .null
    }

    func position(_ t: Target) -> Int {
        switch t {
        case .step(let k): k
        case .end: program.steps.count
        }
    }

    /// The first branch whose condition holds, else the route's `else`; nil for the end.
    func choose(_ r: RouteStep, _ scope: Evaluator.Scope, step: String) throws(RunError) -> Int? {
        var target = r.otherwise
        for b in r.branches where try passes(b.condition, scope, step: step, what: "route condition '\(b.condition.text)'") {
            target = b.target
            break
        }
        if case .step(let k) = target { return k }
        return nil
    }

    func passes(_ c: Condition, _ scope: Evaluator.Scope, step: String, what: String) throws(RunError) -> Bool {
        do { return Evaluator.truthy(try renderer.evaluator.evaluate(c.expr, scope)) } catch {
            throw RunError(.evaluation, "\(what): \(error.message)", step: step)
        }
    }

    /// Reports a step's progress to the display and, as a typed event, to the run's sinks (a
    /// tracer's step spans start and end here).
    func progress(
        _ context: RunContext, _ trace: String, _ step: String, _ state: StepProgress.State, started: ContinuousClock.Instant,
        kind: String? = nil, model: String? = nil, usage: Usage? = nil, cost: Double? = nil, detail: String? = nil
    ) {
        context.events?.record(.step(StepEvent(traceID: trace, step: step, kind: kind, state: state, error: state == .failed ? detail : nil)))
        context.onProgress?(
            StepProgress(
                step: step, state: state, model: model, usage: usage, costUSD: cost,
                elapsed: context.clock.now - started, detail: detail))
    }

    static func describe(_ d: Duration) -> String {
        let ms = d.milliseconds
        return ms % 1000 == 0 ? "\(ms / 1000)s" : "\(ms)ms"
    }
}
