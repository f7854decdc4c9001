import Dispatch
import Foundation
import Synchronization

/// Deadlines cancels tasks whose time is up, from one thread for the whole gateway: a request
/// under the gateway's timeout registers its task here instead of starting a timer task of its
/// own (a task group, a sleeping child and a dispatch timer per request were a tenth of a plain
/// request's cost). The thread sleeps until the soonest deadline; requests share one timeout,
/// so a new deadline is almost never sooner than those already waiting and wakes nothing.
final class Deadlines: Sendable {
    private struct Entry {
        var at: ContinuousClock.Instant
        var cancel: @Sendable () -> Void
    }

    private struct State {
        var entries: [Int: Entry] = [:]
        var next = 0
        /// The soonest deadline the thread is sleeping towards (nil: it sleeps until woken).
        var sleepingUntil: ContinuousClock.Instant?
    }

    private let state = Mutex(State())
    private let wake = DispatchSemaphore(value: 0)

    static let shared = Deadlines()

    private init() {
        let thread = Thread { [self] in self.run() }
        thread.name = "prellm-deadlines"
        thread.start()
    }

    /// Calls `cancel` at `at` unless `remove` comes first; returns the registration.
    func add(at: ContinuousClock.Instant, cancel: @escaping @Sendable () -> Void) -> Int {
        let (id, signal) = state.withLock { s in
            s.next += 1
            s.entries[s.next] = Entry(at: at, cancel: cancel)
            let sooner = s.sleepingUntil.map { at < $0 } ?? true
            if sooner { s.sleepingUntil = at }
            return (s.next, sooner)
        }
        if signal { wake.signal() }
        return id
    }

    /// Forgets a registration; false if its deadline already fired.
    @discardableResult
    func remove(_ id: Int) -> Bool {
        state.withLock { $0.entries.removeValue(forKey: id) != nil }
    }

    private func run() {
        while true {
            let now = ContinuousClock.now
            let (due, soonest) = state.withLock { s in
                var due: [@Sendable () -> Void] = []
                var soonest: ContinuousClock.Instant?
                for (id, e) in s.entries {
                    if e.at <= now {
                        due.append(e.cancel)
                        s.entries[id] = nil
                    } else if soonest.map({ e.at < $0 }) ?? true {
                        soonest = e.at
                    }
                }
                s.sleepingUntil = soonest
                return (due, soonest)
            }
            for cancel in due { cancel() }
            if let soonest {
                let wait = soonest - now
                let nanoseconds = wait.components.seconds * 1_000_000_000 + wait.components.attoseconds / 1_000_000_000
                _ = wake.wait(timeout: .now() + .nanoseconds(Int(max(1_000_000, nanoseconds))))
            } else {
                wake.wait()
            }
        }
    }
}
