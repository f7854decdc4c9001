import Dispatch

/// OffPool runs CPU-heavy work on a model's answer (repairing and validating it) on a thread of
/// its own instead of Swift's cooperative pool, which has one thread per core: in a gateway,
/// two answers of megabytes being parsed on a 2-core machine would otherwise hold every pool
/// thread, and `/healthz` and every other request would wait for them.
enum OffPool {
    /// Below this many bytes the work takes microseconds and the hop would cost more than it.
    static let threshold = 16 * 1024

    /// A serial queue is overcommitting in libdispatch: it gets a thread even when the
    /// cooperative pool's are all busy. One is enough: the work is CPU-bound, and the machine's
    /// cores are shared with the requests it must not starve.
    private static let queue = DispatchQueue(label: "prellm.answers", qos: .utility)

    static func run<T: Sendable>(bytes: Int, _ work: @escaping @Sendable () -> T) async -> T {
        guard bytes >= threshold else { return work() }
        return await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: work()) }
        }
    }
}
