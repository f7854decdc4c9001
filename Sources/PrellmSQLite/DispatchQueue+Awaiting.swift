import Dispatch

extension DispatchQueue {
    /// Runs `body` on this queue and hands its result to the awaiting task. The SQLite stores
    /// make their blocking calls this way, each on a serial queue of its own (which libdispatch
    /// gives a thread even when the cooperative pool's are all busy), never on the caller's task.
    public func awaiting<T: Sendable, E: Error>(_ body: @escaping @Sendable () throws(E) -> T) async throws(E) -> T {
        let result: Result<T, E> = await withCheckedContinuation { continuation in
            self.async { continuation.resume(returning: Result { () throws(E) -> T in try body() }) }
        }
        return try result.get()
    }
}
