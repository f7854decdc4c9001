import Foundation
import PrellmCompiler
import PrellmServer

/// `prellm keys create|list|revoke|rotate --config …`: gateway keys, kept in the gateway's
/// store (SQLite or PostgreSQL) with the config file's keys, which are loaded into it first.
/// A secret is shown once, when made; the store keeps only its hash. Every running replica
/// honours a change within a second, without a restart.
public enum KeysCommand {
    /// What a new key may do; nil is unlimited.
    public struct Limits: Sendable {
        public var models: [String]?
        public var rpm: Int?
        public var tpm: Int?
        public var usdPerDay: Double?
        public var usdPerMonth: Double?

        public init(models: [String]? = nil, rpm: Int? = nil, tpm: Int? = nil, usdPerDay: Double? = nil, usdPerMonth: Double? = nil) {
            self.models = models
            self.rpm = rpm
            self.tpm = tpm
            self.usdPerDay = usdPerDay
            self.usdPerMonth = usdPerMonth
        }
    }

    /// A new key in the store, or (without a config) the hash line for a config file.
    public static func create(id: String, config path: String?, limits: Limits = Limits()) async -> CommandOutput {
        let (secret, hash) = KeySecretGenerator.make()
        guard let path else {
            var out = CommandOutput()
            out.stdout = """
                key:   \(secret)
                (shown once; prellm keeps only its hash)

                add to the config file's keys:
                  - {id: \(id), hash: "sha256:\(hash)"}

                """
            return out
        }
        return await withStore(path) { store, out throws(StoreError) in
            let key = GatewayKey(
                id: id, models: limits.models, rpm: limits.rpm, tpm: limits.tpm, usdPerDay: limits.usdPerDay, usdPerMonth: limits.usdPerMonth)
            guard try await store.createKey(key, hash: hash) else {
                out.fail("prellm keys: a key '\(id)' exists already (rotate it with prellm keys rotate \(id))")
                return
            }
            out.stdout = """
                key:   \(secret)
                (shown once; the store keeps only its hash)

                created key '\(id)'; every gateway on this store accepts it within a second

                """
        }
    }

    public static func list(config path: String) async -> CommandOutput {
        await withStore(path) { store, out throws(StoreError) in
            let keys = try await store.keys()
            guard !keys.isEmpty else {
                out.stdout = "no keys: the gateway takes requests without a key, on loopback only\n"
                return
            }
            let (day, month) = UsagePeriod.of(Date())
            for k in keys {
                let spent = try await store.spent(key: k.key.id, day: day, month: month)
                out.stdout += describe(k, spent: spent).joined(separator: "  ") + "\n"
            }
        }
    }

    static func describe(_ k: StoredKey, spent: (day: Double, month: Double)) -> [String] {
        let key = k.key
        var parts = ["\(key.id)\(k.revoked ? " (revoked)" : "")", k.fromConfig ? "config" : "store"]
        parts.append("models: " + (key.models?.joined(separator: ",") ?? "all"))
        if let r = key.rpm { parts.append("rpm \(r)") }
        if let t = key.tpm { parts.append("tpm \(t)") }
        parts.append("today $\(spent.day)\(key.usdPerDay.map { " of $\($0)" } ?? "")")
        parts.append("this month $\(spent.month)\(key.usdPerMonth.map { " of $\($0)" } ?? "")")
        let now = Date()
        let overlapping = k.secrets.compactMap(\.expires).filter { $0 > now }
        if let end = overlapping.max() { parts.append("old secret valid until \(ISO8601DateFormatter().string(from: end))") }
        return parts
    }

    public static func revoke(id: String, config path: String) async -> CommandOutput {
        await withStore(path) { store, out throws(StoreError) in
            guard try await store.revoke(key: id) else {
                out.fail("prellm keys: no key '\(id)' in the store or in \(path)")
                return
            }
            out.stdout = "revoked \(id): every gateway on this store refuses it within a second\n"
        }
    }

    /// A new secret for the key; the old ones keep working for `overlap` ("1h", "0s").
    public static func rotate(id: String, config path: String, overlap: String) async -> CommandOutput {
        guard let duration = DurationSyntax.parse(overlap) else {
            var out = CommandOutput()
            out.fail("prellm keys: --overlap must be a duration such as 1h, 30m or 0s, not '\(overlap)'")
            return out
        }
        let (secret, hash) = KeySecretGenerator.make()
        let ends = Date().addingTimeInterval(Double(duration.components.seconds))
        return await withStore(path) { store, out throws(StoreError) in
            guard try await store.rotateKey(id: id, hash: hash, overlapEnds: ends) else {
                out.fail("prellm keys: no key '\(id)' in the store or in \(path)")
                return
            }
            out.stdout = """
                key:   \(secret)
                (shown once; the store keeps only its hash)

                rotated key '\(id)': its previous secret works until \(ISO8601DateFormatter().string(from: ends))

                """
        }
    }

    /// Opens the config's store, loads the config's keys into it, and runs `body`.
    static func withStore(
        _ path: String, _ body: (any GatewayStore, inout CommandOutput) async throws(StoreError) -> Void
    ) async -> CommandOutput {
        var out = CommandOutput()
        let (loaded, rendered) = ProviderSettings.load(path)
        guard let config = loaded else {
            out.stderr = rendered
            out.exitCode = CommandOutput.Exit.usage
            return out
        }
        do {
            let store = try await Gateway.openStore(config)
            try await store.syncConfigKeys(config.keys.map(ConfigKey.init))
            try await body(store, &out)
        } catch {
            out.fail("prellm keys: \(error.message)")
        }
        return out
    }
}

extension CommandOutput {
    mutating func fail(_ message: String) {
        stderr = message + "\n"
        exitCode = Exit.usage
    }
}
