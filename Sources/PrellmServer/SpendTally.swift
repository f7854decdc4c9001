import PrellmRuntime
import PrellmSchema
import Synchronization

/// A SpendTally adds up what one gateway request really spent upstream, from the runtime's
/// trace of each provider call, and passes every event on. A key's budget is settled from it
/// whatever the request's end: an answer, a workflow that failed after three paid calls, a
/// timeout or a client that went away mid-stream all cost what their calls cost.
final class SpendTally: TraceSink {
    struct Spent: Sendable {
        var tokens = 0
        /// Nil once a call's cost was unknown.
        var usd: Double? = 0
    }

    private let inner: (any TraceSink)?
    private let spent = Mutex(Spent())

    init(forwardingTo inner: (any TraceSink)?) { self.inner = inner }

    func record(_ event: JSONValue) {
        if event["kind"] == "call", event["status"] == "ok", event["cache"] != "hit" {
            let tokens = (event["usage"]?["input_tokens"]?.int ?? 0) + (event["usage"]?["output_tokens"]?.int ?? 0)
            let cost = event["cost_usd"]?.numberValue
            spent.withLock { s in
                s.tokens += tokens
                s.usd = s.usd.flatMap { total in cost.map { total + $0 } }
            }
        }
        inner?.record(event)
    }

    var total: Spent { spent.withLock { $0 } }
}
