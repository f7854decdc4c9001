import PrellmCompiler
import PrellmProviderKit
import PrellmRegex
import PrellmSchema
import PrellmSyntax

/// The steps that compute a value: classify, extract, call, transform, map and use.
extension Interpreter {
    func perform(_ step: Step, frame: inout Frame, locals: [String: JSONValue], ledger: RunLedger, context: RunContext)
        async throws(RunError) -> (JSONValue, StepRecord)
    {
        let id = step.id.value
        let started = context.clock.now
        var scope = frame.scope
        scope.locals.merge(locals) { _, b in b }
        func render(_ t: EmbeddedText?) throws(RunError) -> String? {
            guard let t else { return nil }
            do { return try renderer.render(try template(t, step: id), scope) } catch let e as Evaluator.EvaluationError {
                throw RunError(.evaluation, e.message, step: id)
            } catch { throw error as! RunError }
        }
        func value(_ t: EmbeddedText) throws(RunError) -> JSONValue {
            do { return try renderer.value(try template(t, step: id), scope) } catch let e as Evaluator.EvaluationError {
                throw RunError(.evaluation, e.message, step: id)
            } catch { throw error as! RunError }
        }
        func record(_ status: StepRecord.Status = .ok, _ call: CallOutcome? = nil) -> StepRecord {
            StepRecord(id: frame.prefix + id, kind: step.kind.rawValue, status: call?.cached == true ? .cached : status,
                       modelUsed: call?.model, usage: call?.usage, costUSD: call?.cost, latency: context.clock.now - started,
                       attempts: call?.attempts ?? 1)
        }
        let reask = frame.reasks.removeValue(forKey: id) ?? []

        switch step.body {
        case .transform(let t):
            return (.string(try render(t) ?? ""), record())

        case .extractPattern(let pattern, let text, _):
            let re: PCRERegex
            do { re = try PCRERegex(pattern.value) } catch { throw RunError(.evaluation, "pattern: \(error.message)", step: id) }
            let matches = re.allMatches(in: try render(text) ?? "")
            let value: JSONValue = .object([
                "matches": .array(matches.map { m in .object(m.mapValues(JSONValue.string)) }),
                "count": .number(Double(matches.count)),
            ])
            return (value, record())

        case .classify(let model, let text, let labels, let instructions):
            let names = labels.map(\.value)
            let schema: JSONValue = .object([
                "type": "object", "required": .array(["label", "confidence"]), "additionalProperties": false,
                "properties": .object(["label": .object(["enum": .array(names.map(JSONValue.string))]),
                                       "confidence": .object(["type": "number", "minimum": .number(0), "maximum": .number(1)])]),
            ])
            let system = (try render(instructions).map { $0 + "\n\n" } ?? "")
                + "Classify the text into exactly one of these labels: \(names.joined(separator: ", ")). "
                + "Reply with only a JSON object: {\"label\": one of the labels, \"confidence\": a number from 0 to 1}."
            let (v, call) = try await structured(step: id, model: model?.value, system: system, prompt: try render(text) ?? "",
                                                 reask: reask, schema: schema, name: "Classification", options: step.options, frame: &frame, ledger: ledger, context: context)
            return (v, record(.ok, call))

        case .extractModel(let model, let text, let into, let instructions):
            let schema = into.flatMap { contracts[$0.value] } ?? .object([:])
            let system = (try render(instructions).map { $0 + "\n\n" } ?? "")
                + "Extract the information from the text. Reply with only a JSON value that satisfies this JSON Schema:\n"
                + schema.jsonText
            let (v, call) = try await structured(step: id, model: model?.value, system: system, prompt: try render(text) ?? "",
                                                 reask: reask, schema: schema, name: into?.value ?? "Extraction", options: step.options, frame: &frame,
                                                 ledger: ledger, context: context)
            return (v, record(.ok, call))

        case .call(let model, let system, let prompt, let output):
            let prompt = try render(prompt) ?? ""
            if let output, let schema = contracts[output.value] {
                let sys = (try render(system).map { $0 + "\n\n" } ?? "")
                    + "Reply with only a JSON value that satisfies this JSON Schema:\n" + schema.jsonText
                let (v, call) = try await structured(step: id, model: model?.value, system: sys, prompt: prompt, reask: reask, schema: schema,
                                                     name: output.value, options: step.options, frame: &frame, ledger: ledger, context: context)
                return (v, record(.ok, call))
            }
            let streams = context.onText != nil && isStreamedStep(id)
            let call = try await callModel(step: id, model: model?.value, system: try render(system),
                                           messages: [.user(prompt)] + reask, format: .text, stream: streams,
                                           options: step.options, started: started, ledger: ledger, context: context,
                                           traceID: frame.traceID, prefix: frame.prefix)
            frame.answers[id] = ModelAnswer(text: call.response.text, finish: call.response.finishReason)
            return (.string(call.response.text), record(.ok, call))

        case .map(let over, let variable, let concurrency, let sub):
            guard let over, let sub else { return (.array([]), record()) }
            guard case .array(let items) = try value(over) else {
                throw RunError(.evaluation, "'over' is not a list", step: id)
            }
            let results = try await mapItems(items, variable: variable.value, concurrency: concurrency, sub: sub, frame: frame,
                                             locals: locals, ledger: ledger, context: context)
            return (.array(results), record())

        case .use(let alias, let with):
            guard let alias, let inner = imports[alias.value] else { throw RunError(.evaluation, "unknown import", step: id) }
            var given: [String: JSONValue] = [:]
            for (name, v) in with { given[name.value] = try value(v) }
            let inputs = try inner.prepareInputs(given)
            let out = try await inner.execute(inputs: inputs, ledger: ledger, context: context, traceID: frame.traceID,
                                              prefix: frame.prefix + id + ".")
            return (out, record())

        case .route, .validate:
            throw RunError(.evaluation, "\(step.kind.rawValue) steps are run by the main loop", step: id)
        }
    }

    func isStreamedStep(_ id: String) -> Bool { streamedStep == id }

    /// A model call whose answer must be JSON for `schema`: schema-aligned parsing, then
    /// validation; an answer that still fails is re-asked once with the errors.
    func structured(step id: String, model: String?, system: String, prompt: String, reask: [ChatMessage], schema: JSONValue,
                    name: String, options: Step.Options, frame: inout Frame, ledger: RunLedger, context: RunContext) async throws(RunError) -> (JSONValue, CallOutcome) {
        let started = context.clock.now
        var messages: [ChatMessage] = [.user(prompt)] + reask
        var total: CallOutcome?
        for attempt in 1...2 {
            let call = try await callModel(step: id, model: model, system: system, messages: messages,
                                           format: .jsonSchema(name: name, schema: schema), stream: false, options: options,
                                           started: started, ledger: ledger, context: context, traceID: frame.traceID, prefix: frame.prefix)
            total = total.map { $0.adding(call) } ?? call
            frame.answers[id] = ModelAnswer(text: call.response.text, finish: call.response.finishReason)
            var problems: [String]
            if let parsed = SchemaAlignedParser.parse(call.response.text, schema: schema) {
                if !parsed.repairs.isEmpty {
                    context.trace?.record(.object(["trace_id": .string(frame.traceID), "step": .string(frame.prefix + id), "kind": "repair",
                                                   "repairs": .array(parsed.repairs.map(JSONValue.string))]))
                }
                problems = JSONSchema(schema).validate(parsed.value).map { "\($0.instanceLocation.isEmpty ? "/" : $0.instanceLocation): \($0.message)" }
                if problems.isEmpty { return (parsed.value, total!) }
            } else {
                problems = ["the answer is not JSON"]
            }
            if call.response.finishReason == .length {
                throw RunError(.truncated, "the answer stopped at max_tokens and is not valid JSON; raise max_tokens", step: id)
            }
            if attempt == 2 {
                throw RunError(.validationFailed, "the model's answer does not satisfy \(name): " + problems.joined(separator: "; "), step: id)
            }
            messages += [.assistant(call.response.text),
                         .user("That answer is not valid:\n" + problems.map { "- \($0)" }.joined(separator: "\n") + "\nReply again with only the corrected JSON.")]
        }
        throw RunError(.validationFailed, "unreachable", step: id)
    }

    /// Runs a map's sub-step over the items, at most `concurrency` at a time; results keep the
    /// order of the items.
    func mapItems(_ items: [JSONValue], variable: String, concurrency: Int, sub: Step, frame: Frame, locals: [String: JSONValue],
                  ledger: RunLedger, context: RunContext) async throws(RunError) -> [JSONValue] {
        var results = [JSONValue?](repeating: nil, count: items.count)
        do {
            try await withThrowingTaskGroup(of: (Int, JSONValue).self) { group in
                var next = 0
                func launch() {
                    let i = next
                    next += 1
                    let item = items[i]
                    group.addTask {
                        var f = frame
                        var l = locals
                        l[variable] = item
                        l["index"] = .number(Double(i))
                        let (v, record) = try await self.perform(sub, frame: &f, locals: l, ledger: ledger, context: context)
                        var r = record
                        r.id += "[\(i)]"
                        ledger.add(r)
                        return (i, v)
                    }
                }
                while next < min(concurrency, items.count) { launch() }
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
