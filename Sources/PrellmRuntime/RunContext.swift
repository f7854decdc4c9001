import PrellmMemory
import PrellmProviderKit
import PrellmSchema

/// A RunContext carries everything a run needs from its host, in one explicit value (as
/// starlark-go's Thread does): how to reach models, what they cost, the clock, randomness for
/// jitter, shared routing state, the cache and where events go. Tests control time and
/// providers through it; nothing in the interpreter or the router reaches for a global.
public struct RunContext: Sendable {
    public var models: any ModelAccess
    public var clock: any RunClock
    public var random: @Sendable () -> Double
    public var routing: RoutingState
    public var cache: ResponseCache?
    /// Receives what the run does, as typed events: the JSONL trace, the gateway's spend and metrics.
    public var events: (any RunEventSink)?
    /// Receives the text of the streamed step (the step the workflow's output is) as it arrives.
    public var onText: (@Sendable (String) -> Void)?
    /// Receives the streamed step's tool calls as they arrive, a fragment at a time: the call's
    /// index, its id and name (with the first fragment) and a piece of its JSON arguments.
    public var onToolCall: (@Sendable (_ index: Int, _ id: String?, _ name: String?, _ arguments: String) -> Void)?
    /// Receives one line per step as it starts and ends, for progress display.
    public var onProgress: (@Sendable (StepProgress) -> Void)?
    public var redactPrompts = false
    /// Gives each model attempt the trace context its request carries upstream (`traceparent`);
    /// nil when nothing traces.
    public var tracing: (any AttemptTracing)?
    /// The span a run's spans are children of (the gateway's request span); nil starts a trace.
    public var traceParent: TraceContext?
    /// Answers that stand in for the top-level program's model steps, by step position (a
    /// test's `mocks`): such a step gives its answer without a call, free and offline.
    public var mocks: [Int: JSONValue] = [:]
    /// Where the named contexts that `recall` and `remember` steps reach are kept; nil when
    /// the host configured none (such a step then fails, saying so).
    public var memory: (any ContextStore)?

    public init(
        models: any ModelAccess, clock: any RunClock = SystemClock(), random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
        routing: RoutingState = RoutingState(), cache: ResponseCache? = ResponseCache(), events: (any RunEventSink)? = nil
    ) {
        self.models = models
        self.clock = clock
        self.random = random
        self.routing = routing
        self.cache = cache
        self.events = events
    }
}

/// AttemptTracing is the one thing the router asks of a tracer rather than tells it: the
/// context of the span it opened for an attempt (on that attempt's `started` event), so the
/// provider request carries it as `traceparent`.
public protocol AttemptTracing: Sendable {
    func context(run traceID: String, step: String, attempt: Int) -> TraceContext?
}

/// ModelAccess resolves `provider/model` to a provider, and knows prices and capabilities.
public protocol ModelAccess: Sendable {
    func provider(for model: String) throws(ProviderError) -> (provider: any ChatProvider, model: String)
    func price(for model: String) -> ModelPrice?
    func capabilities(for model: String) -> ModelCapabilities?
}

/// The clock a run reads and sleeps on; tests use one they advance by hand.
public protocol RunClock: Sendable {
    var now: ContinuousClock.Instant { get }
    func sleep(for duration: Duration) async throws
}

public struct SystemClock: RunClock {
    public init() {}
    public var now: ContinuousClock.Instant { .now }
    public func sleep(for duration: Duration) async throws { try await Task.sleep(for: duration) }
}

/// Progress of one step, for live display.
public struct StepProgress: Sendable {
    public enum State: String, Sendable { case running, done, skipped, failed, retrying }
    public var step: String
    public var state: State
    public var model: String?
    public var usage: Usage?
    public var costUSD: Double?
    public var elapsed: Duration
    public var detail: String?
}
