import Synchronization

/// A value computed the first time it is asked for, then kept: what a compiled program needs
/// only when it runs (a contract's validator, its JSON text), which `prellm lint` never asks for.
/// Safe to read from any task; the computation may, rarely, run twice, and the first result wins.
final class Once<Value: Sendable>: Sendable {
    private let stored = Mutex<Value?>(nil)
    private let make: @Sendable () -> Value

    init(_ make: @escaping @Sendable () -> Value) { self.make = make }

    var value: Value {
        if let v = stored.withLock({ $0 }) { return v }
        let v = make()
        return stored.withLock { s in
            if let existing = s { return existing }
            s = v
            return v
        }
    }
}
