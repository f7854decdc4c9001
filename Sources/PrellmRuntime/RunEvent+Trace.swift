import PrellmProviderKit
import PrellmSchema

/// The JSONL trace is one consumer of run events: one JSON object per line for each attempt
/// sent (`attempt`), each attempt's end (`call`), each retry scheduled (`retry`), each routing
/// decision (`routing`), each repair, failed validation and overrun (docs/running.md, "Traces").
extension RunEvent {
    /// The event as a trace line; nil for events the trace does not write (a charge is on its `call` line).
    public var traceLine: JSONValue? {
        switch self {
        case .repaired(let trace, let step, let repairs):
            return Self.line(trace, step, ["kind": "repair", "repairs": .array(repairs.map(JSONValue.string))])
        case .invalid(let trace, let step, let attempt, let errors):
            return Self.line(
                trace, step,
                [
                    "kind": "validate", "status": "invalid", "attempt": .number(Double(attempt)),
                    "errors": .array(errors.map(JSONValue.string)),
                ])
        case .call(let e):
            return e.traceFields.map { Self.line(e.traceID, e.step, $0) }
        case .memory(let e):
            return Self.line(e.traceID, e.step, e.traceFields)
        case .run, .step:
            // Run and step boundaries are for tracers; the JSONL trace has its step records.
            return nil
        }
    }

    static func line(_ trace: String, _ step: String, _ fields: [String: JSONValue]) -> JSONValue {
        var o = fields
        o["trace_id"] = .string(trace)
        o["step"] = .string(step)
        return .object(o)
    }
}

extension CallEvent {
    var traceFields: [String: JSONValue]? {
        var o: [String: JSONValue] = ["model": .string(model), "attempt": .number(Double(attempt))]
        switch kind {
        case .started(let retry, let fallback, let tokens, let prompt):
            o["kind"] = "attempt"
            o["retry"] = .number(Double(retry))
            o["fallback"] = .bool(fallback)
            o["prompt_tokens"] = .number(Double(tokens))
            o["prompt"] = prompt.map(JSONValue.string) ?? .null
        case .answered(let a):
            o["kind"] = "call"
            o["status"] = "ok"
            o["answer"] = .string(a.text)
            o["finish"] = .string(a.finish.name)
            o["usage"] = .object(["input_tokens": .number(Double(a.usage.inputTokens)), "output_tokens": .number(Double(a.usage.outputTokens))])
            o["cost_usd"] = a.costUSD.map(JSONValue.number) ?? .null
            o["latency_ms"] = .number(Double(a.latency.milliseconds))
            if !a.notes.isEmpty { o["notes"] = .array(a.notes.map(JSONValue.string)) }
        case .failed(let f):
            o["kind"] = "call"
            o["status"] = "error"
            var error: [String: JSONValue] = [
                "kind": .string(f.error.kind.rawValue), "message": .string(f.error.message),
                "status": f.error.status.map { .number(Double($0)) } ?? .null,
            ]
            if let sent = f.sentCharacters { error["sent_characters"] = .number(Double(sent)) }
            o["error"] = .object(error)
            o["latency_ms"] = .number(Double(f.latency.milliseconds))
        case .cancelled(let latency):
            o["kind"] = "call"
            o["status"] = "cancelled"
            o["latency_ms"] = .number(Double(latency.milliseconds))
        case .retrying(let delay, let cause):
            o["kind"] = "retry"
            o["delay_ms"] = .number(Double(delay.milliseconds))
            o["cause"] = .string(cause.rawValue)
        case .fellBack(let reasons):
            o["kind"] = "routing"
            o["decision"] = "fallback"
            o["reasons"] = .array(reasons.map(JSONValue.string))
        case .skipped(let reason):
            o["kind"] = "routing"
            o["decision"] = .string("skipped: " + reason)
        case .cacheHit(let text):
            o["kind"] = "call"
            o["status"] = "ok"
            o["cache"] = "hit"
            o["answer"] = .string(text)
            o["cost_usd"] = .number(0)
        case .charged:
            return nil
        case .overrun(let reserved, let charged):
            o["kind"] = "overrun"
            o["reserved_tokens"] = .number(Double(reserved))
            o["charged_tokens"] = .number(Double(charged))
        }
        return o
    }
}

extension MemoryEvent {
    /// `recall` (the chunks retrieved: source, lines, score — not their text, which the step's
    /// output holds) or `remember`, with the embeddings request's model, usage and cost.
    var traceFields: [String: JSONValue] {
        var o: [String: JSONValue] = [
            "context": .string(context), "model": .string(model),
            "usage": .object(["input_tokens": .number(Double(usage.inputTokens)), "output_tokens": .number(0)]),
            "cost_usd": costUSD.map(JSONValue.number) ?? .null, "latency_ms": .number(Double(latency.milliseconds)),
        ]
        switch kind {
        case .recalled(let chunks):
            o["kind"] = "recall"
            o["chunks"] = .array(
                chunks.map { c in
                    .object([
                        "source": .string(c.source), "lines": .array([.number(Double(c.lines.lowerBound)), .number(Double(c.lines.upperBound))]),
                        "score": .number(c.score),
                    ])
                })
        case .remembered(let n, let source):
            o["kind"] = "remember"
            o["added"] = .number(Double(n))
            o["source"] = .string(source)
        }
        return o
    }
}
