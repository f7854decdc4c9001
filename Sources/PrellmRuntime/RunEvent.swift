import PrellmProviderKit
import PrellmSchema
import Synchronization

/// A RunEvent is something a run did that its host wants to know, as a typed value. The JSONL
/// trace, the gateway's spend tally and its metrics are all consumers of the same events (a
/// RunEventSink each), so none of them reads another's output back.
public enum RunEvent: Sendable {
    /// Something the router did for one model call.
    case call(CallEvent)
    /// Schema-aligned parsing repaired an answer before it was validated.
    case repaired(traceID: String, step: String, repairs: [String])
    /// A validate step's value did not pass; `attempt` is the validation's number (1 for the first).
    case invalid(traceID: String, step: String, attempt: Int, errors: [String])
    /// A run of a program started or ended (the interpreter's `run`, not an imported program).
    case run(RunPhaseEvent)
    /// A step started, ended or was skipped: what a tracer needs for a span per step.
    case step(StepEvent)
    /// A recall or remember step's embeddings request and what it found or added.
    case memory(MemoryEvent)
}

/// What a `recall` or `remember` step did with a named context: its one embeddings request
/// (model, usage, cost — charged to the run like a call) and the chunks retrieved or added.
public struct MemoryEvent: Sendable {
    public var traceID: String
    public var step: String
    public var context: String
    /// The embedding model, `provider/model`.
    public var model: String
    public var usage: Usage
    /// Usage × price; nil when the model's price is unknown.
    public var costUSD: Double?
    public var latency: Duration
    public var kind: Kind

    public enum Kind: Sendable {
        /// The chunks retrieved, best first: where each is and how near the query it scored.
        case recalled([RecalledChunk])
        /// How many chunks were added, and the source they record.
        case remembered(chunks: Int, source: String)
    }
}

/// One chunk a recall retrieved: its file and lines, and its cosine similarity to the query.
public struct RecalledChunk: Sendable, Equatable {
    public var source: String
    public var lines: ClosedRange<Int>
    public var score: Double
}

/// The start or end of one run, for a span around it.
public struct RunPhaseEvent: Sendable {
    public var traceID: String
    /// The program's `name:`, when it has one.
    public var workflow: String?
    public var phase: Phase

    public enum Phase: Sendable {
        /// `parent` is the span the run belongs under (the gateway's request span), else nil.
        case started(parent: TraceContext?)
        case ended(error: RunError?, usage: Usage, costUSD: Double?)
    }
}

/// A step's progress as an event: the same points as `RunContext.onProgress`, with the run's
/// id, so a sink can tell two concurrent runs' steps apart.
public struct StepEvent: Sendable {
    public var traceID: String
    /// The step's path: `answer`, `parts[2]`, `short.inner`.
    public var step: String
    /// The step's kind (`classify`, `map`, …), on the event that starts it.
    public var kind: String?
    public var state: StepProgress.State
    /// Why a failed step failed.
    public var error: String?
}

/// A CallEvent is one thing that happened to a model call: an attempt started, answered,
/// failed or was cancelled; a retry was scheduled; the router fell back to the next model or
/// skipped one; the cache answered; what was charged.
public struct CallEvent: Sendable {
    public var traceID: String
    /// The step's path: `answer`, `parts[2]`, `short.inner`; `chat` for a gateway request.
    public var step: String
    /// The `provider/model` the event is about.
    public var model: String
    /// The attempt's number within the logical call, 1-based, across retries and fallbacks.
    public var attempt: Int
    public var kind: Kind

    public enum Kind: Sendable {
        /// An attempt is about to be sent: its retry number on this model (0 for the first try),
        /// whether the model is a fallback, its reservation, and the prompt (or its hash).
        case started(retry: Int, fallback: Bool, promptTokens: Int, prompt: String?)
        case answered(Answer)
        case failed(Failure)
        /// The attempt ended because the run was cancelled (a timeout, Ctrl-C, a client gone).
        case cancelled(latency: Duration)
        /// The next attempt on this model comes after `delay`, because of an error of this kind.
        case retrying(delay: Duration, cause: ProviderError.Kind)
        /// The router moves on to `model`, because the ones before it failed or were skipped.
        case fellBack(reasons: [String])
        /// The model is not tried: its circuit is open, it has no JSON mode, or the prompt does not fit.
        case skipped(reason: String)
        /// The cache answered; nothing was sent or charged.
        case cacheHit(text: String)
        /// What the answer cost, as charged to the run: usage × price (nil when the price is unknown).
        case charged(usage: Usage, costUSD: Double?)
        /// The provider counted more than the call had reserved (its tokenizer counts the prompt
        /// as more tokens than the estimate). The charge is the real one; this says by how much.
        case overrun(reservedTokens: Int, chargedTokens: Int)
    }

    public struct Answer: Sendable {
        public var text: String
        public var finish: FinishReason
        public var usage: Usage
        public var costUSD: Double?
        public var latency: Duration
        /// The provider's notes on how it sent the request (OpenAIStrictSchema's, say).
        public var notes: [String] = []
        /// The model the provider says answered (`gpt-4o-mini-2024-07-18`), when it says.
        public var responseModel: String? = nil
    }

    public struct Failure: Sendable {
        public var error: ProviderError
        public var latency: Duration
        /// Characters of a streamed answer already handed on when it broke (it is then neither
        /// retried nor sent to another model).
        public var sentCharacters: Int?
    }
}

/// A RunEventSink receives a run's events, from any task (a map's calls run concurrently).
public protocol RunEventSink: Sendable {
    func record(_ event: RunEvent)
}

/// Events to several sinks, in order.
public struct FanOut: RunEventSink {
    let sinks: [any RunEventSink]
    public init(_ sinks: [any RunEventSink]) { self.sinks = sinks }
    public func record(_ event: RunEvent) { for s in sinks { s.record(event) } }
}

/// Collects events in memory (tests, `--json`).
public final class MemoryTrace: RunEventSink {
    private let events = Mutex<[RunEvent]>([])
    public init() {}
    public func record(_ event: RunEvent) { events.withLock { $0.append(event) } }
    public var recorded: [RunEvent] { events.withLock { $0 } }
    /// The events as the JSONL trace writes them.
    public var all: [JSONValue] { recorded.compactMap(\.traceLine) }
}

/// A stable, short hash of a prompt, for `--redact-prompts` (FNV-1a, 64 bits).
public func promptHash(_ text: String) -> String {
    var h: UInt64 = 0xcbf29ce484222325
    for b in text.utf8 { h = (h ^ UInt64(b)) &* 0x100000001b3 }
    let hex = String(h, radix: 16)
    return "fnv1a:" + String(repeating: "0", count: 16 - hex.count) + hex
}
