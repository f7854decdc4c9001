import PrellmProviderKit
import Synchronization

/// A ResponseCache remembers answers by (model, normalised request) for a time. In memory;
/// a hit costs nothing and the trace says so.
public final class ResponseCache: Sendable {
    struct Entry { var response: ChatResponse; var expires: ContinuousClock.Instant }
    private let entries = Mutex<[String: Entry]>([:])
    public let defaultTTL: Duration

    public init(defaultTTL: Duration = .seconds(3600)) { self.defaultTTL = defaultTTL }

    func get(_ key: String, now: ContinuousClock.Instant) -> ChatResponse? {
        entries.withLock { e in
            guard let hit = e[key] else { return nil }
            if hit.expires <= now { e[key] = nil; return nil }
            return hit.response
        }
    }

    func put(_ key: String, _ response: ChatResponse, now: ContinuousClock.Instant, ttl: Duration?) {
        entries.withLock { $0[key] = Entry(response: response, expires: now + (ttl ?? defaultTTL)) }
    }
}
