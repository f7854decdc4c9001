import Foundation
import PrellmServer
import Synchronization
import Testing

/// Keys in the store, as both stores must keep them: the config's loaded and kept in step with
/// it, keys made and rotated with an overlap, revocations; and a gateway that hears of a change
/// made by another process within a second.
enum KeyChecks {
    static func lifecycle(_ store: any GatewayStore) async throws {
        let a = ConfigKey(id: "a", hash: SHA256.hex("pk-a"), rpm: 10)
        try await store.syncConfigKeys([a])
        try await store.syncConfigKeys([a])
        var keys = try await store.keys()
        #expect(keys.map(\.key.id) == ["a"] && keys[0].fromConfig && keys[0].key.rpm == 10)
        #expect(keys[0].secrets == [KeySecret(hash: SHA256.hex("pk-a"), expires: nil)])
        // The config changed the key's limits and its hash: the new ones replace the old.
        let a2 = ConfigKey(id: "a", hash: SHA256.hex("pk-a2"), rpm: 20)
        try await store.syncConfigKeys([a2])
        keys = try await store.keys()
        #expect(keys[0].key.rpm == 20 && keys[0].secrets.map(\.hash) == [SHA256.hex("pk-a2")])
        // A key made in the store, with limits; its id cannot be taken twice, nor by the config.
        #expect(try await store.createKey(GatewayKey(id: "b", models: ["fast"], usdPerDay: 2), hash: SHA256.hex("pk-b")))
        #expect(try await !store.createKey(GatewayKey(id: "b"), hash: SHA256.hex("pk-b-again")))
        do {
            try await store.syncConfigKeys([a2, ConfigKey(id: "b", hash: SHA256.hex("pk-x"))])
            Issue.record("a config key with a created key's id is refused")
        } catch {
            #expect(error.message.contains("'b' has the id of a key made with `prellm keys create`"), "\(error.message)")
        }
        // Rotated: the old secret lasts until the overlap ends, the new one has no end.
        let ends = Date().addingTimeInterval(3600)
        #expect(try await store.rotateKey(id: "b", hash: SHA256.hex("pk-b2"), overlapEnds: ends))
        #expect(try await !store.rotateKey(id: "nobody", hash: SHA256.hex("pk-n"), overlapEnds: ends))
        let b = try #require(try await store.keys().first { $0.key.id == "b" })
        #expect(b.key == GatewayKey(id: "b", models: ["fast"], usdPerDay: 2))
        let byHash = Dictionary(uniqueKeysWithValues: b.secrets.map { ($0.hash, $0.expires) })
        #expect(byHash.count == 2 && byHash[SHA256.hex("pk-b2")]! == nil)
        #expect(abs((byHash[SHA256.hex("pk-b")]!!).timeIntervalSince(ends)) < 0.01)
        // A key taken out of the config leaves the store; one made there stays.
        try await store.syncConfigKeys([])
        #expect(try await store.keys().map(\.key.id) == ["b"])
        #expect(try await store.revoke(key: "b"))
        #expect(try await store.keys().first?.revoked == true)
    }
}

@Suite struct KeyStoreTests {
    @Test func theEmbeddedStoreKeepsKeys() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("prellm-keys-\(UUID().uuidString).sqlite").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try await KeyChecks.lifecycle(try SQLiteGatewayStore(path: path))
    }

    @Test func theSharedStoreKeepsKeys() async throws {
        guard let pg = try await PostgresServer.available() else { print(PostgresServer.missing); return }
        try await KeyChecks.lifecycle(try await PostgresGatewayStore.connect(try pg.database()))
    }

    /// A watch on one connection hears of a key made through another, within a second.
    @Test(arguments: ["sqlite", "postgres"]) func aWatchHearsOfAnotherProcesssChange(_ kind: String) async throws {
        let stores: (any GatewayStore, any GatewayStore)
        if kind == "sqlite" {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("prellm-watch-\(UUID().uuidString).sqlite").path
            stores = (try SQLiteGatewayStore(path: path), try SQLiteGatewayStore(path: path))
        } else {
            guard let pg = try await PostgresServer.available() else { print(PostgresServer.missing); return }
            let url = try pg.database()
            stores = (try await PostgresGatewayStore.connect(url), try await PostgresGatewayStore.connect(url))
        }
        let heard = Heard()
        let watcher = stores.0
        let watch = Task { await watcher.watchKeys { heard.add() } }
        defer { watch.cancel() }
        // The first call says the watch is in place (the caller reloads, in case the keys
        // changed since it loaded them). In a fresh-clone CI run it once took over 10 s to come,
        // the two cores busy with other suites: the waits here say that it comes, not how soon.
        let started = ContinuousClock.now
        while heard.count == 0, ContinuousClock.now - started < .seconds(30) { try await Task.sleep(for: .milliseconds(20)) }
        #expect(heard.count == 1)
        // Spend written by others is not a change of keys.
        let (day, month) = UsagePeriod.of(Date())
        try await stores.1.settle(nil, SpendRecord(key: "x", requestID: "r", model: "m", day: day, month: month, usd: 0.1, tokens: 1))
        try await Task.sleep(for: .milliseconds(400))
        #expect(heard.count == 1)
        let made = ContinuousClock.now
        #expect(try await stores.1.createKey(GatewayKey(id: "new"), hash: SHA256.hex("pk-new")))
        // Within a second on a quiet machine (the gateways' tests hold them to it); a loaded test
        // run may start the watch's poll late, so this waits longer and checks it is heard once.
        while heard.count == 1, ContinuousClock.now - made < .seconds(30) { try await Task.sleep(for: .milliseconds(20)) }
        try await Task.sleep(for: .milliseconds(600))
        #expect(heard.count == 2, "heard \(heard.count - 1) changes in \(ContinuousClock.now - made)")
    }
}

final class Heard: Sendable {
    private let n = Mutex(0)
    func add() { n.withLock { $0 += 1 } }
    var count: Int { n.withLock { $0 } }
}

extension ConfigKey {
    init(id: String, hash: String, rpm: Int? = nil) {
        self.init(key: GatewayKey(id: id, rpm: rpm), hash: hash)
    }
}
