import Foundation
import PrellmSchema
import Synchronization

/// Admissions and settlements that reach one replica while its earlier ones are still with
/// the database share one call of `prellm_batch`: PostgreSQL's counterpart of the SQLite
/// store's group commit. A key's writes serialise on its lock, and a transaction keeps that
/// lock through its commit's WAL flush, so with one call per write a hot key could not pass
/// about a thousand requests a second on one replica; a batch takes each key's lock and waits
/// for the flush once for all of them. A write that finds a call slot free and nothing waiting
/// is sent at once, from its own task, so a quiet gateway waits for nothing.
final class PostgresWriteBatcher: Sendable {
    enum Write: Sendable {
        case admit(RateAsk?, BudgetAsk?)
        case settle(BudgetHold?, SpendRecord)
    }

    enum Answer: Sendable, Equatable {
        case admission(Admission)
        case settled
    }

    typealias Send = @Sendable ([Write]) async -> [Result<Answer, StoreError>]

    private struct Waiting {
        var write: Write
        var continuation: CheckedContinuation<Result<Answer, StoreError>, Never>
    }

    private struct State {
        var waiting: [Waiting] = []
        var inFlight = 0
        var calls = 0
        var writes = 0
    }

    private let state = Mutex(State())
    /// Calls in flight at once: two, so that one batch is being gathered while the other
    /// commits, yet a hot key's writes are not spread thin over calls that queue for its lock.
    let slots: Int
    private let send: Send
    /// The most writes one call carries: after a stall, a backlog goes in several calls rather
    /// than one transaction holding every key's lock under one statement deadline.
    static let largestBatch = 256

    /// `send` answers each of the writes it is given, in their order.
    init(slots: Int = 2, send: @escaping Send) {
        self.slots = slots
        self.send = send
    }

    func submit(_ write: Write) async -> Result<Answer, StoreError> {
        let alone = state.withLock { s in
            guard s.inFlight < slots, s.waiting.isEmpty else { return false }
            s.inFlight += 1
            return true
        }
        if alone {
            let answer = await sendCounted([write])[0]
            handOver()
            return answer
        }
        return await withCheckedContinuation { continuation in
            let start = state.withLock { s in
                s.waiting.append(Waiting(write: write, continuation: continuation))
                guard s.inFlight < slots else { return false }
                s.inFlight += 1
                return true
            }
            if start { Task { await self.drain() } }
        }
    }

    /// `send`, counted in `sent`.
    private func sendCounted(_ writes: [Write]) async -> [Result<Answer, StoreError>] {
        let answers = await send(writes)
        state.withLock { s in
            s.calls += 1
            s.writes += writes.count
        }
        return answers
    }

    /// The calls sent and the writes they carried, so far.
    var sent: (calls: Int, writes: Int) { state.withLock { ($0.calls, $0.writes) } }

    /// A call finished: its slot goes to what waits, if anything does.
    private func handOver() {
        let more = state.withLock { s in
            if s.waiting.isEmpty { s.inFlight -= 1 }
            return !s.waiting.isEmpty
        }
        if more { Task { await self.drain() } }
    }

    /// Sends everything waiting, batch after batch, until nothing is left; then frees the slot.
    private func drain() async {
        while true {
            let batch = state.withLock { s in
                if s.waiting.isEmpty { s.inFlight -= 1 }
                let taken = Array(s.waiting.prefix(Self.largestBatch))
                s.waiting.removeFirst(taken.count)
                return taken
            }
            guard !batch.isEmpty else { return }
            let answers = await sendCounted(batch.map(\.write))
            for (i, w) in batch.enumerated() {
                w.continuation.resume(returning: i < answers.count ? answers[i] : .failure(StoreError("the store did not answer this write")))
            }
        }
    }
}

extension PostgresWriteBatcher.Write {
    /// The write as `prellm_batch` reads it (one element of its JSON array).
    var json: JSONValue {
        var o: [String: JSONValue] = [:]
        func put(_ name: String, _ s: String?) { if let s { o[name] = .string(s) } }
        func put(_ name: String, _ d: Double?) { if let d { o[name] = .number(d) } }
        func put(_ name: String, _ n: Int?) { if let n { o[name] = .number(Double(n)) } }
        switch self {
        case .admit(let rate, let budget):
            put("kind", "admit")
            put("key", rate?.key ?? budget?.key)
            put("window", rate?.window)
            put("rpm", rate?.rpm)
            put("tpm", rate?.tpm)
            put("tokens", rate?.tokens ?? 0)
            put("hold", budget?.id)
            put("usd", budget?.usd)
            put("day", budget?.day)
            put("month", budget?.month)
            put("day_limit", budget?.dayLimit.map(Budgets.withSlack))
            put("month_limit", budget?.monthLimit.map(Budgets.withSlack))
            put("expires", budget?.expires.timeIntervalSince1970)
        case .settle(let hold, let s):
            put("kind", "settle")
            put("settlement", s.settlement)
            put("hold", hold?.id)
            put("key", s.key)
            put("request", s.requestID)
            put("model", s.model)
            put("day", s.day)
            put("month", s.month)
            put("usd", s.usd)
            put("tokens", s.tokens)
            put("window", s.rateWindow)
            put("unused", s.unusedTokens)
        }
        return .object(o)
    }
}
