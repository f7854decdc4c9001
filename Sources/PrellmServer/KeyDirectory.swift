import Foundation
import Synchronization

/// KeyDirectory is the gateway's copy of the store's keys, by secret hash: a request is
/// authenticated from memory, never by a store read. The copy is reloaded when the store says
/// its keys changed (PostgreSQL's LISTEN/NOTIFY, SQLite's data_version), so a key created,
/// rotated or revoked through any replica or `prellm keys` is honoured everywhere within a
/// second, without a restart.
final class KeyDirectory: Sendable {
    struct Entry: Sendable {
        var key: GatewayKey
        var expires: Date?
        var revoked: Bool
    }

    struct Snapshot: Sendable {
        var byHash: [String: Entry] = [:]
        /// How many keys there are, revoked ones included: with none, requests need no key.
        var count = 0

        init(_ keys: [StoredKey]) {
            count = keys.count
            for k in keys {
                for s in k.secrets { byHash[s.hash] = Entry(key: k.key, expires: s.expires, revoked: k.revoked) }
            }
        }
    }

    let store: any GatewayStore
    /// The config file's keys, loaded into the store before the first read.
    let configKeys: [ConfigKey]
    private let current = Mutex<Snapshot?>(nil)
    /// The watch started with the first load; it ends with the directory.
    private let watcher = Mutex<Task<Void, Never>?>(nil)
    /// Told when a reload fails (the last copy stays in use).
    let onFailure: @Sendable (String) -> Void

    init(store: any GatewayStore, configKeys: [ConfigKey], onFailure: @escaping @Sendable (String) -> Void = { _ in }) {
        self.store = store
        self.configKeys = configKeys
        self.onFailure = onFailure
    }

    deinit { watcher.withLock { $0?.cancel() } }

    /// The keys, loaded on first use (which starts watching the store for changes).
    func snapshot() async throws(StoreError) -> Snapshot {
        if let s = current.withLock({ $0 }) { return s }
        try await reload(syncingConfig: true)
        startWatching()
        return current.withLock { $0 } ?? Snapshot([])
    }

    /// Reads the store's keys (first loading the config's into it) and swaps the copy.
    func reload(syncingConfig: Bool = false) async throws(StoreError) {
        if syncingConfig { try await store.syncConfigKeys(configKeys) }
        let keys = try await store.keys()
        current.withLock { $0 = Snapshot(keys) }
    }

    /// The key whose secret `presented` is (nil: the gateway has no keys, requests need none).
    func authenticate(_ presented: String?, now: Date = Date()) async throws(GatewayError) -> GatewayKey? {
        let keys: Snapshot
        do { keys = try await snapshot() } catch { throw GatewayError(.unavailable, "the key store cannot be read: \(error.message)") }
        guard keys.count > 0 else { return nil }
        guard let presented, !presented.isEmpty else {
            throw GatewayError(.unauthorized, "a gateway key is required: send Authorization: Bearer <key>", code: "invalid_api_key")
        }
        // A lookup by the secret's hash: its timing tells nothing about any key's secret.
        guard let entry = keys.byHash[SHA256.hex(presented)] else {
            throw Self.notValid
        }
        if entry.revoked {
            throw GatewayError(.unauthorized, "the gateway key '\(entry.key.id)' has been revoked", code: "invalid_api_key")
        }
        if let expires = entry.expires, expires <= now {
            throw GatewayError(
                .unauthorized, "this secret of gateway key '\(entry.key.id)' was rotated and its overlap has ended; use the new one",
                code: "invalid_api_key")
        }
        return entry.key
    }

    /// A key that is no secret of any gateway key's.
    static var notValid: GatewayError { GatewayError(.unauthorized, "the gateway key is not valid", code: "invalid_api_key") }

    /// Whether `presented` is a secret of one of the gateway's keys (revoked or rotated ones
    /// too): under `auth: hybrid` anything else is taken for a client's provider key.
    func knows(_ presented: String) async -> Bool {
        guard let keys = try? await snapshot() else { return true }
        return keys.byHash[SHA256.hex(presented)] != nil
    }

    /// Reloads whenever the store's keys change, until the directory goes away. The watch holds
    /// the directory weakly, so that it can go.
    private func startWatching() {
        let store = self.store
        watcher.withLock { task in
            guard task == nil else { return }
            task = Task {
                await store.watchKeys { [weak self] in
                    guard let self else { return }
                    do throws(StoreError) { try await self.reload() } catch {
                        self.onFailure("the gateway's keys could not be reloaded: \(error.message)")
                    }
                }
            }
        }
    }
}
