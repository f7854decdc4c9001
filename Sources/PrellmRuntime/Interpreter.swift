import Foundation
import PrellmCompiler
import PrellmProviderKit
import PrellmSchema
import PrellmSyntax
import Synchronization

/// The Interpreter runs a compiled workflow.
///
/// Steps run in list order; a route jumps to its chosen target, `next:` to a later step or the
/// end, a false `if:` skips the step. A validate step that fails sends control back to its
/// `on_fail.retry` step with the previous answer and the exact errors appended (the re-ask),
/// at most `attempts` times — the only loop, as the compiler guarantees. Everything a run
/// needs from outside comes through its RunContext; usage, cost and budgets through a
/// RunLedger shared with the calls a `map` makes concurrently.
let traceSequence = Atomic<UInt64>(0)

public struct Interpreter: Sendable {
    public let workflow: Workflow
    let steps: [Step]
    let index: [String: Int]
    let contracts: [String: JSONValue]
    let models: [String: Workflow.ModelAlias]
    let imports: [String: Interpreter]
    /// Each input's schema, compiled once.
    let inputSchemas: [String: JSONSchema]
    let templates = TemplateCache()
    let renderer = TemplateRenderer()
    /// Replaces model aliases with other models (`--small`, `--large` of the one-shot form):
    /// alias → provider/model.
    public var modelOverrides: [String: String] = [:]
    /// The step whose text is the workflow's output (`output: "{{ step }}"`, or the last step),
    /// streamed to the user as it arrives.
    let streamedStep: String?

    /// Builds an interpreter for a workflow that compiled without errors.
    public init(_ result: CompileResult) throws(RunError) {
        guard let workflow = result.workflow, result.graph != nil, !result.hasErrors else {
            throw RunError(.invalidInput, "the workflow does not compile")
        }
        try self.init(workflow: workflow)
    }

    init(workflow: Workflow) throws(RunError) {
        self.workflow = workflow
        steps = workflow.steps
        index = Dictionary(workflow.steps.enumerated().map { ($1.id.value, $0) }, uniquingKeysWith: { a, _ in a })
        contracts = Dictionary(workflow.contracts.map { ($0.name.value, $0.schema) }, uniquingKeysWith: { a, _ in a })
        models = Dictionary(workflow.models.map { ($0.name.value, $0) }, uniquingKeysWith: { a, _ in a })
        var imports: [String: Interpreter] = [:]
        let base = URL(fileURLWithPath: workflow.file).absoluteURL.deletingLastPathComponent()
        for imp in workflow.imports {
            let path = imp.path.hasPrefix("/") ? imp.path : base.appendingPathComponent(imp.path).standardized.path
            let compiled = WorkflowCompiler().compile(path: path)
            guard let w = compiled.workflow, !compiled.hasErrors else {
                throw RunError(.invalidInput, "imported workflow '\(imp.path)' does not compile")
            }
            imports[imp.alias.value] = try Interpreter(workflow: w)
        }
        self.imports = imports
        inputSchemas = Dictionary(workflow.inputs.map { ($0.name.value, JSONSchema($0.schema)) }, uniquingKeysWith: { a, _ in a })
        if let output = workflow.output {
            let compact = output.value.filter { !$0.isWhitespace }
            streamedStep = workflow.steps.first { compact == "{{\($0.id.value)}}" }?.id.value
        } else {
            streamedStep = workflow.steps.last?.id.value
        }
    }

    // MARK: - Inputs

    /// Applies defaults and checks every input against its schema.
    public func prepareInputs(_ given: [String: JSONValue]) throws(RunError) -> JSONValue {
        var values: [String: JSONValue] = [:]
        for name in given.keys where !workflow.inputs.contains(where: { $0.name.value == name }) {
            throw RunError(.invalidInput, "unknown input '\(name)'" + (Spelling.hint(name, in: workflow.inputs.map(\.name.value)).map { " (\($0))" } ?? ""))
        }
        for input in workflow.inputs {
            let name = input.name.value
            guard let v = given[name] ?? input.schema["default"] else {
                throw RunError(.invalidInput, "input '\(name)' is required")
            }
            if let e = inputSchemas[name]?.validate(v).first {
                throw RunError(.invalidInput, "input '\(name)'\(e.instanceLocation): \(e.message)")
            }
            values[name] = v
        }
        return .object(values)
    }

    // MARK: - Running

    public func run(inputs: [String: JSONValue], context: RunContext) async -> RunResult {
        let started = context.clock.now
        let traceID = Self.newTraceID(context.random)
        let ledger = RunLedger(budget: workflow.budget, started: started)
        var output: JSONValue = .null
        var failure: RunError?
        do {
            let prepared = try prepareInputs(inputs)
            output = try await execute(inputs: prepared, ledger: ledger, context: context, traceID: traceID, prefix: "")
        } catch {
            failure = error
        }
        let (usage, cost, records) = ledger.snapshot()
        return RunResult(output: output, steps: records, usage: usage, costUSD: cost, traceID: traceID, error: failure,
                         elapsed: context.clock.now - started)
    }

    /// 53 random bits and a process-wide sequence number: unique, and one draw per run.
    static func newTraceID(_ random: @Sendable () -> Double) -> String {
        let bits = UInt64(random() * 9_007_199_254_740_992)
        let seq = traceSequence.add(1, ordering: .relaxed).newValue
        return String(bits, radix: 16) + "-" + String(seq, radix: 16)
    }

    /// Per-run state of the main sequence.
    struct Frame {
        var inputs: JSONValue
        var outputs: [String: JSONValue] = [:]
        /// The last raw answer of each model step, for re-asks.
        var answers: [String: ModelAnswer] = [:]
        /// Re-ask messages to add to a step's next call: its previous answer and the errors.
        var reasks: [String: [ChatMessage]] = [:]
        var validations: [String: Int] = [:]
        var traceID: String
        var prefix: String
        var scope: Evaluator.Scope { Evaluator.Scope(inputs: inputs, steps: outputs) }
    }

    struct ModelAnswer {
        var text: String
        var finish: FinishReason
    }

    func execute(inputs: JSONValue, ledger: RunLedger, context: RunContext, traceID: String, prefix: String) async throws(RunError) -> JSONValue {
        var frame = Frame(inputs: inputs, traceID: traceID, prefix: prefix)
        var i = 0
        while i < steps.count {
            if Task.isCancelled { throw RunError(.cancelled, "the run was interrupted") }
            if let timeout = workflow.budget?.timeout, context.clock.now - ledger.started > timeout {
                throw RunError(.budgetExceeded, "the run's time budget (\(timeout)) ran out", step: steps[i].id.value)
            }
            let step = steps[i]
            let id = step.id.value
            let started = context.clock.now
            if let condition = step.options.condition {
                let expr = try parse(condition, step: id)
                let run: Bool
                do { run = Evaluator.truthy(try Evaluator().evaluate(expr, frame.scope)) } catch {
                    throw RunError(.evaluation, "the 'if' guard: \(error.message)", step: id)
                }
                if !run {
                    frame.outputs[id] = nil
                    ledger.add(StepRecord(id: prefix + id, kind: step.kind.rawValue, status: .skipped, latency: .zero, attempts: 0))
                    progress(context, id, .skipped, started: started)
                    i += 1
                    continue
                }
            }
            progress(context, id, .running, started: started)
            switch step.body {
            case .route(let branches, let otherwise):
                var target = otherwise?.value
                for b in branches {
                    do {
                        if Evaluator.truthy(try Evaluator().evaluate(try parse(b.condition, step: id), frame.scope)) { target = b.target.value; break }
                    } catch let e as Evaluator.EvaluationError {
                        throw RunError(.evaluation, "route condition '\(b.condition.value)': \(e.message)", step: id)
                    } catch { throw error as! RunError }
                }
                frame.outputs[id] = .object(["target": .string(target ?? "end")])
                ledger.add(StepRecord(id: prefix + id, kind: "route", status: .ok, latency: context.clock.now - started, attempts: 1))
                progress(context, id, .done, started: started, detail: "→ \(target ?? "end")")
                i = target.flatMap { index[$0] } ?? steps.count
                continue
            case .validate(let value, let contract, let asserts, let onFail):
                let problems = try validate(step, value, contract, asserts, &frame)
                if problems.isEmpty {
                    ledger.add(StepRecord(id: prefix + id, kind: "validate", status: .ok, latency: context.clock.now - started,
                                                attempts: (frame.validations[id] ?? 0) + 1))
                    progress(context, id, .done, started: started)
                    break
                }
                let used = frame.validations[id, default: 0]
                context.trace?.record(.object(["trace_id": .string(traceID), "step": .string(prefix + id), "kind": "validate",
                                               "status": "invalid", "attempt": .number(Double(used + 1)),
                                               "errors": .array(problems.map(JSONValue.string))]))
                guard let onFail, let retry = onFail.retry?.value, let j = index[retry], used < (onFail.attempts ?? 0) else {
                    ledger.add(StepRecord(id: prefix + id, kind: "validate", status: .failed, latency: context.clock.now - started, attempts: used + 1))
                    progress(context, id, .failed, started: started, detail: problems.first)
                    throw RunError(.validationFailed, "the value does not pass validation\(used > 0 ? " after \(used) re-ask\(used == 1 ? "" : "s")" : ""): " + problems.joined(separator: "; "), step: id)
                }
                if let previous = frame.answers[retry], previous.finish == .length {
                    throw RunError(.truncated, "step '\(retry)' stopped at max_tokens, so its answer is cut off; raise max_tokens rather than re-asking", step: id)
                }
                frame.validations[id] = used + 1
                let previous = frame.answers[retry]?.text ?? TemplateRenderer.text(frame.outputs[retry] ?? .null)
                frame.reasks[retry] = [
                    .assistant(previous),
                    .user("Your answer did not pass validation:\n" + problems.map { "- \($0)" }.joined(separator: "\n")
                          + "\nAnswer again in full, fixing every error."),
                ]
                progress(context, id, .retrying, started: started, detail: "re-asking \(retry): \(problems.count) error\(problems.count == 1 ? "" : "s")")
                i = j
                continue
            default:
                let (value, record) = try await perform(step, frame: &frame, locals: [:], ledger: ledger, context: context)
                frame.outputs[id] = value
                ledger.add(record)
                progress(context, id, .done, started: started, model: record.modelUsed, usage: record.usage, cost: record.costUSD)
            }
            if let next = step.options.next?.value {
                i = next == "end" ? steps.count : (index[next] ?? steps.count)
            } else {
                i += 1
            }
        }
        if let output = workflow.output {
            do { return try renderer.value(try template(output, step: "output"), frame.scope) } catch let e as Evaluator.EvaluationError {
                throw RunError(.evaluation, "the output: \(e.message)")
            } catch { throw error as! RunError }
        }
        return steps.last.flatMap { frame.outputs[$0.id.value] } ?? .null
    }

    func progress(_ context: RunContext, _ step: String, _ state: StepProgress.State, started: ContinuousClock.Instant,
                  model: String? = nil, usage: Usage? = nil, cost: Double? = nil, detail: String? = nil) {
        context.onProgress?(StepProgress(step: step, state: state, model: model, usage: usage, costUSD: cost,
                                         elapsed: context.clock.now - started, detail: detail))
    }

    // MARK: - Validation

    /// The problems with a validate step's value: contract errors with their JSON pointers,
    /// then failed assertions. The value is parsed toward the contract first if it is text.
    func validate(_ step: Step, _ value: EmbeddedText?, _ contract: Workflow.Name?, _ asserts: [EmbeddedText],
                  _ frame: inout Frame) throws(RunError) -> [String] {
        let id = step.id.value
        var v: JSONValue = .null
        if let value {
            do { v = try renderer.value(try template(value, step: id), frame.scope) } catch let e as Evaluator.EvaluationError {
                throw RunError(.evaluation, "'value': \(e.message)", step: id)
            } catch { throw error as! RunError }
        }
        var problems: [String] = []
        let schema = contract.flatMap { contracts[$0.value] }
        if let schema {
            if case .string(let text) = v, schema["type"]?.stringValue != "string", let parsed = SchemaAlignedParser.parse(text, schema: schema) {
                v = parsed.value
            }
            problems += JSONSchema(schema).validate(v).map { "\($0.instanceLocation.isEmpty ? "/" : $0.instanceLocation): \($0.message)" }
        }
        if problems.isEmpty {
            var scope = frame.scope
            scope.locals["value"] = v
            for a in asserts {
                do {
                    if try Evaluator().evaluate(try parse(a, step: id), scope) != .bool(true) { problems.append("assertion failed: \(a.value)") }
                } catch let e as Evaluator.EvaluationError {
                    problems.append("assertion \(a.value) could not be evaluated: \(e.message)")
                } catch { throw error as! RunError }
            }
        }
        if problems.isEmpty { frame.outputs[id] = v }
        return problems
    }

    // MARK: - Parsing once

    func template(_ t: EmbeddedText, step: String) throws(RunError) -> Template {
        do { return try templates.template(t.value) } catch {
            throw RunError(.evaluation, "template: \(error.message)", step: step)
        }
    }

    func parse(_ t: EmbeddedText, step: String) throws(RunError) -> Expr {
        do { return try templates.expression(t.value) } catch {
            throw RunError(.evaluation, "expression: \(error.message)", step: step)
        }
    }
}

/// Templates and expressions parsed once per run of the same interpreter (plan once, run many).
final class TemplateCache: @unchecked Sendable {
    private var templates: [String: Template] = [:]
    private var expressions: [String: Expr] = [:]
    private let lock = NSLockLike()

    func template(_ text: String) throws(ExprError) -> Template {
        if let hit = lock.locked({ templates[text] }) { return hit }
        let t = try TemplateParser.parse(text)
        lock.locked { templates[text] = t }
        return t
    }

    func expression(_ text: String) throws(ExprError) -> Expr {
        if let hit = lock.locked({ expressions[text] }) { return hit }
        let e = try ExprParser.parse(text)
        lock.locked { expressions[text] = e }
        return e
    }
}
