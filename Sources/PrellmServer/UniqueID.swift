import Synchronization

/// Ids that no other request, process or replica takes: a random 128-bit prefix drawn when the
/// process starts and a counter. A hold and a settlement each need one per keyed request, and
/// drawing a random UUID for each cost more than the rest of their bookkeeping.
enum UniqueID {
    private static let prefix: String = {
        var g = SystemRandomNumberGenerator()
        return String(g.next() as UInt64, radix: 36) + String(g.next() as UInt64, radix: 36)
    }()
    private static let counter = Atomic<UInt64>(0)

    static func next() -> String {
        prefix + "-" + String(counter.add(1, ordering: .relaxed).newValue, radix: 36)
    }
}
