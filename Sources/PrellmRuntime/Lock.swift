import Synchronization

/// A small lock for state shared across tasks (caches, breakers, counters).
final class NSLockLike: Sendable {
    private let mutex = Mutex<Void>(())
    func locked<T>(_ body: () throws -> T) rethrows -> T {
        try mutex.withLock { _ in try body() }
    }
}
