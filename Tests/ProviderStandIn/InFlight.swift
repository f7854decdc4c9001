import Synchronization

/// The most requests a stand-in had in hand at once: concurrency shown by counting at the
/// server, not by timing the clients on a loaded machine.
public final class InFlight: Sendable {
    private let state = Mutex((now: 0, most: 0))

    public init() {}

    public func enter() {
        state.withLock {
            $0.now += 1
            $0.most = max($0.most, $0.now)
        }
    }

    public func leave() { state.withLock { $0.now -= 1 } }

    public var most: Int { state.withLock { $0.most } }
}
