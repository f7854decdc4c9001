import Foundation
import PrellmCompiler
import PrellmRuntime
import PrellmSchema

/// The gateway's answer cache kept in its store (SQLite, or PostgreSQL that replicas share):
/// the runtime's ResponseCache reads and writes through it. Keys are stored as the SHA-256 of
/// the namespace and the normalised request, so the store holds no prompt in its keys; an
/// answer past `maxAnswerBytes` is not kept. A store that fails is a miss (logged), never a
/// failed request. Hits are counted from the router's events; misses and bytes kept here.
final class GatewayAnswerCache: AnswerStore {
    let store: any GatewayStore
    let metrics: GatewayMetrics
    let maxAnswerBytes: Int
    let log: @Sendable (String) -> Void

    init(store: any GatewayStore, metrics: GatewayMetrics, maxAnswerBytes: Int, log: @escaping @Sendable (String) -> Void) {
        self.store = store
        self.metrics = metrics
        self.maxAnswerBytes = maxAnswerBytes
        self.log = log
    }

    func answer(for key: String) async -> String? {
        do {
            let found = try await store.cachedAnswer(key: SHA256.hex(key), now: Date())
            if found == nil { metrics.add("prellm_cache_misses_total", .init()) }
            return found
        } catch {
            metrics.add("prellm_cache_misses_total", .init())
            failed("read", error)
            return nil
        }
    }

    func keep(_ answer: String, for key: String, ttl: Duration) async {
        let bytes = answer.utf8.count
        guard bytes <= maxAnswerBytes else { return }
        do {
            try await store.keepAnswer(key: SHA256.hex(key), answer: answer, expires: Date().addingTimeInterval(ttl.seconds))
            metrics.add("prellm_cache_stored_bytes_total", .init(), Double(bytes))
        } catch {
            failed("write", error)
        }
    }

    func failed(_ what: String, _ error: StoreError) {
        let line = JSONValue.object([
            "level": "error", "error": .string("the answer cache could not \(what): \(error.message)"), "error_kind": "store",
        ])
        log(line.jsonText)
    }

    /// The cache one request reads and writes: its key's namespace (or the shared one), the
    /// config's time to live, and whether the client asked for a fresh answer.
    static func forRequest(
        _ store: GatewayAnswerCache, config: ConfigFile.AnswerCache?, keyID: String?, fresh: Bool
    ) -> ResponseCache {
        let namespace = config?.scope == .global ? "global|" : "key:\(keyID ?? "")|"
        return ResponseCache(
            store: store, namespace: namespace, defaultTTL: config?.ttl ?? ResponseCache.standardTTL, reads: !fresh, onlyMarked: config == nil)
    }
}
