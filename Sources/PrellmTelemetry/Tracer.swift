import Foundation
import PrellmProviderKit
import PrellmRuntime
import PrellmSchema
import Synchronization

/// The Tracer turns a run's events into OpenTelemetry spans: one per run (`invoke_workflow`),
/// one per step, and a CLIENT span per model attempt named and attributed by the GenAI
/// semantic conventions (`chat gpt-4o-mini`), each retry and fallback its own span. It is one
/// more RunEventSink beside the JSONL trace and the gateway's tallies, and the router asks it
/// for each attempt's context so the provider request carries `traceparent`.
///
/// Nothing secret goes into a span: no keys or headers are seen here at all, and prompts and
/// answers only with `captureContent`.
public final class Tracer: RunEventSink, AttemptTracing {
    let exporter: any SpanExporting
    let captureContent: Bool
    private let state = Mutex(State())
    /// Runs whose end never came (a host that dropped them) are forgotten past this many.
    static let maxOpenRuns = 10_000

    public init(exporter: any SpanExporting, captureContent: Bool = false) {
        self.exporter = exporter
        self.captureContent = captureContent
    }

    struct State {
        var runs: [String: RunSpans] = [:]
        var sequence: UInt64 = 0
    }

    /// The open spans of one run, by step path and by attempt.
    struct RunSpans {
        var traceHigh: UInt64
        var traceLow: UInt64
        var flags: UInt8
        /// The span the run's own spans hang under when none of its steps is open: the run span,
        /// else the parent it was attached to, else 0 (a root).
        var rootParent: UInt64
        var run: SpanData?
        var steps: [String: SpanData] = [:]
        var attempts: [String: SpanData] = [:]
        var sequence: UInt64
    }

    // MARK: - Events

    public func record(_ event: RunEvent) {
        switch event {
        case .run(let e): run(e)
        case .step(let e): step(e)
        case .call(let e): call(e)
        case .memory(let e): memory(e)
        case .repaired, .invalid: break
        }
    }

    /// A recall's or remember's embeddings request, as a CLIENT span (`embeddings {model}`)
    /// under its step, ending now and as long as the request took.
    func memory(_ e: MemoryEvent) {
        let now = Self.now()
        let started = now &- UInt64(max(0, e.latency.milliseconds)) &* 1_000_000
        let span: SpanData? = state.withLock { s in
            guard let r = s.runs[e.traceID] else { return nil }
            var span = Self.clientSpan("embeddings", model: e.model, step: e.step, in: r, start: started)
            span.set("gen_ai.usage.input_tokens", .int(Int64(e.usage.inputTokens)))
            span.set("prellm.context", .string(e.context))
            if let cost = e.costUSD { span.set("prellm.cost_usd", .double(cost)) }
            if case .recalled(let chunks) = e.kind { span.set("prellm.recall.chunks", .int(Int64(chunks.count))) }
            span.end = now
            return span
        }
        if let span { exporter.enqueue(span) }
    }

    public func context(run traceID: String, step: String, attempt: Int) -> TraceContext? {
        state.withLock { s in
            guard let r = s.runs[traceID], let span = r.attempts[Self.key(step, attempt)] else { return nil }
            return TraceContext(traceHigh: r.traceHigh, traceLow: r.traceLow, spanID: span.spanID, flags: r.flags)
        }
    }

    /// Calls made outside a run (the gateway's routed chat requests) belong under `parent`.
    public func attach(run traceID: String, to parent: TraceContext) {
        state.withLock { s in
            s.sequence += 1
            s.runs[traceID] = RunSpans(
                traceHigh: parent.traceHigh, traceLow: parent.traceLow, flags: parent.flags, rootParent: parent.spanID, sequence: s.sequence)
            Self.bound(&s)
        }
    }

    /// Ends what is still open of an attached run (an attempt cut off by a timeout, say).
    public func detach(run traceID: String) {
        let ended = state.withLock { s in s.runs.removeValue(forKey: traceID).map { Self.close($0, now: Self.now()) } ?? [] }
        for span in ended { exporter.enqueue(span) }
    }

    func run(_ e: RunPhaseEvent) {
        let now = Self.now()
        switch e.phase {
        case .started(let parent):
            var span = newSpan(
                parent: parent, name: e.workflow.map { "invoke_workflow " + $0 } ?? "invoke_workflow", kind: .internal, start: now)
            span.set("gen_ai.operation.name", .string("invoke_workflow"))
            if let w = e.workflow { span.set("gen_ai.workflow.name", .string(w)) }
            span.set("prellm.run.id", .string(e.traceID))
            state.withLock { s in
                s.sequence += 1
                s.runs[e.traceID] = RunSpans(
                    traceHigh: span.traceHigh, traceLow: span.traceLow, flags: parent?.flags ?? 1, rootParent: span.spanID, run: span,
                    sequence: s.sequence)
                Self.bound(&s)
            }
        case .ended(let error, let usage, let cost):
            guard let r = state.withLock({ $0.runs.removeValue(forKey: e.traceID) }) else { return }
            var ended = Self.close(r, now: now)
            if var span = r.run {
                span.end = now
                span.set("gen_ai.usage.input_tokens", .int(Int64(usage.inputTokens)))
                span.set("gen_ai.usage.output_tokens", .int(Int64(usage.outputTokens)))
                if let cost { span.set("prellm.cost_usd", .double(cost)) }
                if let error {
                    span.set("error.type", .string(error.kind.rawValue))
                    span.status = .error(error.message)
                }
                ended.append(span)
            }
            for span in ended { exporter.enqueue(span) }
        }
    }

    func step(_ e: StepEvent) {
        let now = Self.now()
        var ended: [SpanData] = []
        state.withLock { s in
            guard var r = s.runs[e.traceID] else { return }
            // A step that runs again (a re-ask goes back to it) ends its previous span.
            if e.state == .running || e.state == .failed || e.state == .done, var open = r.steps.removeValue(forKey: e.step) {
                open.end = now
                if e.state == .failed {
                    open.set("error.type", .string("step_failed"))
                    open.status = .error(e.error ?? "the step failed")
                }
                ended.append(open)
            }
            if e.state == .running {
                var span = SpanData(
                    traceHigh: r.traceHigh, traceLow: r.traceLow, spanID: Self.newID(), parentSpanID: Self.parent(of: e.step, in: r),
                    name: "step " + e.step, kind: .internal, start: now)
                span.set("prellm.step.id", .string(e.step))
                if let kind = e.kind { span.set("prellm.step.kind", .string(kind)) }
                r.steps[e.step] = span
            }
            s.runs[e.traceID] = r
        }
        for span in ended { exporter.enqueue(span) }
    }

    func call(_ e: CallEvent) {
        let now = Self.now()
        var ended: SpanData?
        state.withLock { s in
            if case .started = e.kind, s.runs[e.traceID] == nil {
                // A call with no run around it (a host that traces calls only) starts a trace.
                s.sequence += 1
                s.runs[e.traceID] = RunSpans(
                    traceHigh: Self.newID(), traceLow: Self.newID(), flags: 1, rootParent: 0, sequence: s.sequence)
                Self.bound(&s)
            }
            guard var r = s.runs[e.traceID] else { return }
            let key = Self.key(e.step, e.attempt)
            switch e.kind {
            case .started(let retry, let fallback, _, let prompt):
                r.attempts[key] = attemptSpan(e, r, retry: retry, fallback: fallback, prompt: prompt, now: now)
            case .answered(let a):
                guard var span = r.attempts.removeValue(forKey: key) else { return }
                answered(&span, a)
                span.end = now
                ended = span
            case .failed(let f):
                guard var span = r.attempts.removeValue(forKey: key) else { return }
                span.set("error.type", .string(f.error.status.map(String.init) ?? f.error.kind.rawValue))
                span.set("prellm.error.kind", .string(f.error.kind.rawValue))
                if let status = f.error.status { span.set("http.response.status_code", .int(Int64(status))) }
                span.status = .error(f.error.message)
                span.end = now
                ended = span
            case .cancelled:
                guard var span = r.attempts.removeValue(forKey: key) else { return }
                span.set("error.type", .string("cancelled"))
                span.status = .error("the attempt was cancelled")
                span.end = now
                ended = span
            case .retrying, .fellBack, .skipped, .cacheHit, .charged, .overrun:
                break
            }
            s.runs[e.traceID] = r
        }
        if let ended { exporter.enqueue(ended) }
    }

    /// A GenAI CLIENT span (`chat gpt-4o`, `embeddings text-embedding-3-small`) under its step,
    /// with the operation, provider and model the conventions name.
    static func clientSpan(_ operation: String, model id: String, step: String, in r: RunSpans, start: UInt64) -> SpanData {
        let (provider, model) = split(id)
        var span = SpanData(
            traceHigh: r.traceHigh, traceLow: r.traceLow, spanID: newID(), parentSpanID: parent(of: step, in: r),
            name: operation + " " + model, kind: .client, start: start)
        span.set("gen_ai.operation.name", .string(operation))
        span.set("gen_ai.provider.name", .string(providerName(provider)))
        span.set("gen_ai.request.model", .string(model))
        return span
    }

    /// The CLIENT span of one attempt: `chat {model}` with the GenAI request attributes.
    func attemptSpan(_ e: CallEvent, _ r: RunSpans, retry: Int, fallback: Bool, prompt: String?, now: UInt64) -> SpanData {
        var span = Self.clientSpan("chat", model: e.model, step: e.step, in: r, start: now)
        span.set("prellm.model", .string(e.model))
        span.set("prellm.step.id", .string(e.step))
        span.set("prellm.attempt", .int(Int64(e.attempt)))
        span.set("prellm.retry", .int(Int64(retry)))
        span.set("prellm.fallback", .bool(fallback))
        if captureContent, let prompt {
            span.set("gen_ai.input.messages", .string(Self.messages(role: "user", text: prompt, finish: nil)))
        }
        return span
    }

    func answered(_ span: inout SpanData, _ a: CallEvent.Answer) {
        if let m = a.responseModel, !m.isEmpty { span.set("gen_ai.response.model", .string(m)) }
        span.set("gen_ai.usage.input_tokens", .int(Int64(a.usage.inputTokens)))
        span.set("gen_ai.usage.output_tokens", .int(Int64(a.usage.outputTokens)))
        span.set("gen_ai.response.finish_reasons", .strings([a.finish.name]))
        if let cost = a.costUSD { span.set("prellm.cost_usd", .double(cost)) }
        if captureContent { span.set("gen_ai.output.messages", .string(Self.messages(role: "assistant", text: a.text, finish: a.finish.name))) }
    }

    // MARK: - Server spans

    /// A request's SERVER span while it is handled; its context is what the request's own
    /// spans hang under.
    public struct ServerSpan: Sendable {
        public var context: TraceContext
        var span: SpanData
    }

    /// Starts the span of one request: a child of the client's `traceparent` when it sent a
    /// valid one, else the root of a new trace (a malformed header is ignored, as W3C says).
    public func startServer(method: String, route: String, traceparent: String?) -> ServerSpan {
        let parent = traceparent.flatMap(TraceContext.init(traceparent:))
        var span = newSpan(parent: parent, name: method + " " + route, kind: .server, start: Self.now())
        span.set("http.request.method", .string(method))
        span.set("http.route", .string(route))
        let context = TraceContext(traceHigh: span.traceHigh, traceLow: span.traceLow, spanID: span.spanID, flags: parent?.flags ?? 1)
        return ServerSpan(context: context, span: span)
    }

    /// Ends a request's span with its status; a 5xx is an error (a 4xx is the client's).
    public func endServer(_ server: ServerSpan, status: Int, model: String? = nil) {
        var span = server.span
        span.end = Self.now()
        span.set("http.response.status_code", .int(Int64(status)))
        if let model { span.set("gen_ai.request.model", .string(model)) }
        if status >= 500 {
            span.set("error.type", .string(String(status)))
            span.status = .error("HTTP \(status)")
        }
        exporter.enqueue(span)
    }

    // MARK: - Helpers

    func newSpan(parent: TraceContext?, name: String, kind: SpanData.Kind, start: UInt64) -> SpanData {
        SpanData(
            traceHigh: parent?.traceHigh ?? Self.newID(), traceLow: parent?.traceLow ?? Self.newID(), spanID: Self.newID(),
            parentSpanID: parent?.spanID ?? 0, name: name, kind: kind, start: start)
    }

    /// The span a step's (or an attempt's) span hangs under: the innermost open step whose
    /// path encloses it (`parts` for `parts[2]`, `short` for `short.inner`), else the run's.
    static func parent(of path: String, in r: RunSpans) -> UInt64 {
        var p = Substring(path)
        while true {
            if let open = r.steps[String(p)] { return open.spanID }
            guard let cut = p.lastIndex(where: { $0 == "." || $0 == "[" }) else { return r.rootParent }
            p = p[..<cut]
        }
    }

    /// Everything still open of a run but its run span (which its caller ends), ended now.
    static func close(_ r: RunSpans, now: UInt64) -> [SpanData] {
        (Array(r.attempts.values) + Array(r.steps.values)).map { s in
            var s = s
            s.end = now
            return s
        }
    }

    /// Forgets the oldest run when too many are open: a host that never ends its runs must not
    /// grow the tracer without bound.
    static func bound(_ s: inout State) {
        guard s.runs.count > maxOpenRuns, let oldest = s.runs.min(by: { $0.value.sequence < $1.value.sequence })?.key else { return }
        s.runs[oldest] = nil
    }

    static func key(_ step: String, _ attempt: Int) -> String { step + "#" + String(attempt) }

    static func split(_ model: String) -> (provider: String, model: String) {
        guard let slash = model.firstIndex(of: "/") else { return ("", model) }
        return (String(model[..<slash]), String(model[model.index(after: slash)...]))
    }

    /// `gen_ai.provider.name`: the conventions' well-known names where prellm's provider is one
    /// of them (`gemini` is `gcp.gemini`), else prellm's own name (`ollama`, a named endpoint).
    static func providerName(_ provider: String) -> String {
        switch provider {
        case "gemini", "google": "gcp.gemini"
        case "mistral": "mistral_ai"
        case "xai": "x_ai"
        case "": "_OTHER"
        default: provider
        }
    }

    /// A message list in the conventions' JSON form, as a string attribute.
    static func messages(role: String, text: String, finish: String?) -> String {
        var message: [String: JSONValue] = ["role": .string(role), "parts": .array([.object(["type": "text", "content": .string(text)])])]
        if let finish { message["finish_reason"] = .string(finish) }
        return JSONValue.array([.object(message)]).jsonText
    }

    static func newID() -> UInt64 { UInt64.random(in: 1...UInt64.max) }

    static func now() -> UInt64 { UInt64(max(0, Date().timeIntervalSince1970) * 1_000_000_000) }
}
