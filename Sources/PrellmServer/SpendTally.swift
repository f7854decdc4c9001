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
        /// Calls the cache answered, and attempts sent upstream.
        var hits = 0
        var sent = 0
        /// The cache answered every call the request made.
        var cached: Bool { hits > 0 && sent == 0 }
    }

    /// Whether the request's first call was answered from the cache, once it is known, and who
    /// waits to know it (a stream's headers say it).
    struct FirstCall {
        var hit: Bool?
        var over = false
        var waiting: [CheckedContinuation<Bool?, Never>] = []
    }

    private let inner: (any RunEventSink)?
    private let spent = Mutex(Spent())
    private let first = Mutex(FirstCall())

    init(forwardingTo inner: (any RunEventSink)?) { self.inner = inner }

    func record(_ event: RunEvent) {
        if case .memory(let m) = event {
            // A recall's or remember's embeddings request, billed like a call.
            spent.withLock { s in
                s.tokens += m.usage.totalTokens
                s.usd = s.usd.flatMap { total in m.costUSD.map { total + $0 } }
                s.sent += 1
            }
            decide(false)
        }
        if case .call(let e) = event {
            switch e.kind {
            case .charged(let usage, let cost):
                spent.withLock { s in
                    s.tokens += usage.totalTokens
                    s.usd = s.usd.flatMap { total in cost.map { total + $0 } }
                }
            case .cacheHit:
                spent.withLock { $0.hits += 1 }
                decide(true)
            case .started:
                spent.withLock { $0.sent += 1 }
                decide(false)
            default: break
            }
        }
        inner?.record(event)
    }

    var total: Spent { spent.withLock { $0 } }

    /// Whether the first call was a cache hit; nil when the run ended without one.
    func firstCall() async -> Bool? {
        await withCheckedContinuation { (c: CheckedContinuation<Bool?, Never>) in
            let known: Bool?? = first.withLock { f in
                if f.hit != nil || f.over { return .some(f.hit) }
                f.waiting.append(c)
                return .none
            }
            if let known { c.resume(returning: known) }
        }
    }

    /// The run is over: whoever still waits for a first call learns there was none.
    func ended() { resolve { $0.over = true } }

    private func decide(_ hit: Bool) { resolve { if $0.hit == nil { $0.hit = hit } } }

    private func resolve(_ change: (inout FirstCall) -> Void) {
        let (waiting, value) = first.withLock { f -> ([CheckedContinuation<Bool?, Never>], Bool?) in
            change(&f)
            guard f.hit != nil || f.over else { return ([], nil) }
            defer { f.waiting = [] }
            return (f.waiting, f.hit)
        }
        for c in waiting { c.resume(returning: value) }
    }
}
