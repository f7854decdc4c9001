import PrellmCompiler
import PrellmProviderKit
import PrellmSchema

/// Validate steps: the value against the contract, then the assertions; on failure a re-ask
/// of the `on_fail` step with the errors, or the run fails.
extension Interpreter {
    /// Returns the position to go back to for a re-ask, or nil when the value passed.
    func validate(
        _ step: CompiledStep, _ v: ValidateStep, _ frame: inout Frame, ledger: RunLedger, context: RunContext,
        started: ContinuousClock.Instant
    ) async throws(RunError) -> Int? {
        let i = step.index, path = frame.prefix + step.id
        let problems = try await check(step, v, &frame)
        let used = frame.state[i].validations
        if problems.isEmpty {
            ledger.add(
                StepRecord(id: path, kind: "validate", status: .ok, latency: context.clock.now - started, attempts: used + 1),
                output: frame.scope.steps[i] ?? .null)
            progress(context, frame.traceID, path, .done, started: started)
            return nil
        }
        context.events?.record(.invalid(traceID: frame.traceID, step: path, attempt: used + 1, errors: problems))
        guard let onFail = v.onFail, used < onFail.attempts else {
            let after = used > 0 ? " after \(used) re-ask\(used == 1 ? "" : "s")" : ""
            let error = RunError(.validationFailed, "the value does not pass validation\(after): " + problems.joined(separator: "; "), step: step.id)
            var record = StepRecord(id: path, kind: "validate", status: .failed, latency: context.clock.now - started, attempts: used + 1)
            record.error = error
            ledger.add(record)
            progress(context, frame.traceID, path, .failed, started: started, detail: problems.first)
            throw error
        }
        let retry = onFail.retry, retried = program.steps[retry].id
        if let previous = frame.state[retry].answer, previous.finish == .length {
            throw RunError(
                .truncated, "step '\(retried)' stopped at max_tokens, so its answer is cut off; raise max_tokens rather than re-asking",
                step: step.id)
        }
        frame.state[i].validations = used + 1
        let previous = frame.state[retry].answer?.text ?? TemplateRenderer.text(frame.scope.steps[retry] ?? .null)
        // The pass that was rejected leaves nothing behind: a step the next pass does not reach
        // (a route may choose differently) has not run, for has() and reads alike.
        for k in retry...i {
            frame.scope.steps[k] = nil
            frame.state[k].answer = nil
        }
        frame.state[retry].reask = [.assistant(previous), .user(PromptText.validationReask(problems))]
        progress(
            context, frame.traceID, path, .retrying, started: started,
            detail: "re-asking \(retried): \(problems.count) error\(problems.count == 1 ? "" : "s")")
        return retry
    }

    /// The problems with a validate step's value: contract errors with their JSON pointers,
    /// then failed assertions. A text value is parsed toward the contract first. On success the
    /// value becomes the step's output.
    func check(_ step: CompiledStep, _ v: ValidateStep, _ frame: inout Frame) async throws(RunError) -> [String] {
        var value: JSONValue
        do { value = try renderer.value(v.value, frame.scope) } catch {
            throw RunError(.evaluation, "'value': \(error.message)", step: step.id)
        }
        var problems: [String] = []
        if let contract = v.contract {
            let given = value
            (value, problems) = await OffPool.run(bytes: Self.size(of: given)) { () -> (JSONValue, [String]) in
                var value = given
                if case .string(let text) = value, !contract.wantsText, let parsed = SchemaAlignedParser.parse(text, schema: contract.schema) {
                    value = parsed.value
                }
                return (value, contract.problems(value))
            }
        }
        if problems.isEmpty, !v.asserts.isEmpty {
            var scope = frame.scope
            scope.locals = [value]  // slot 0, as the checker bound `value`
            for a in v.asserts {
                do {
                    if try renderer.evaluator.evaluate(a.expr, scope) != .bool(true) { problems.append("assertion failed: \(a.text)") }
                } catch {
                    problems.append("assertion \(a.text) could not be evaluated: \(error.message)")
                }
            }
        }
        if problems.isEmpty { frame.scope.steps[step.index] = value }
        return problems
    }

    /// A cheap upper-bound-ish measure of a value's size, to decide whether checking it is worth
    /// moving off the cooperative pool: strings by their bytes, containers by their elements.
    static func size(of value: JSONValue) -> Int {
        switch value {
        case .string(let s): s.utf8.count
        case .array(let a): a.count * 8
        case .object(let o): o.count * 16
        default: 8
        }
    }
}
