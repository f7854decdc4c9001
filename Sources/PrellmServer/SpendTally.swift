import PrellmRuntime
import Synchronization

/// A SpendTally adds up what one gateway request really spent upstream, from the router's
/// `charged` events, and passes every event on. A key's budget is settled from it whatever the
/// request's end: an answer, a workflow that failed after three paid calls, a timeout or a
/// client that went away mid-stream all cost what their calls were charged.
final class SpendTally: RunEventSink {
    struct Spent: Sendable {
        var tokens = 0
        /// Nil once a call's cost was unknown.
        var usd: Double? = 0
    }

    private let inner: (any RunEventSink)?
    private let spent = Mutex(Spent())

    init(forwardingTo inner: (any RunEventSink)?) { self.inner = inner }

    func record(_ event: RunEvent) {
        if case .call(let e) = event, case .charged(let usage, let cost) = e.kind {
            spent.withLock { s in
                s.tokens += usage.totalTokens
                s.usd = s.usd.flatMap { total in cost.map { total + $0 } }
            }
        }
        inner?.record(event)
    }

    var total: Spent { spent.withLock { $0 } }
}
