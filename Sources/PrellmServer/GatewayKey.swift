import Foundation
import PrellmCompiler
import PrellmSchema

/// A gateway key as the gateway enforces it: its id and limits. Its secrets are kept apart
/// (only their SHA-256 hashes, in `KeySecret`), since a rotated key has two for a while.
public struct GatewayKey: Sendable, Equatable {
    public var id: String
    /// Model names the key may use; nil allows every served name.
    public var models: [String]?
    /// Requests and tokens per minute; nil is unlimited.
    public var rpm: Int?
    public var tpm: Int?
    /// US dollars per UTC day and per UTC month; nil is unlimited.
    public var usdPerDay: Double?
    public var usdPerMonth: Double?

    public init(id: String, models: [String]? = nil, rpm: Int? = nil, tpm: Int? = nil, usdPerDay: Double? = nil, usdPerMonth: Double? = nil) {
        self.id = id
        self.models = models
        self.rpm = rpm
        self.tpm = tpm
        self.usdPerDay = usdPerDay
        self.usdPerMonth = usdPerMonth
    }

    public init(_ k: ConfigFile.Key) {
        self.init(id: k.id.value, models: k.models, rpm: k.rpm, tpm: k.tpm, usdPerDay: k.usdPerDay, usdPerMonth: k.usdPerMonth)
    }

    var hasBudget: Bool { usdPerDay != nil || usdPerMonth != nil }

    /// The limits as the store keeps them: one JSON object, so that both stores keep a key in
    /// one column that later limits extend without a migration.
    var definition: String {
        var o: [String: JSONValue] = [:]
        if let models { o["models"] = .array(models.map { .string($0) }) }
        if let rpm { o["rpm"] = .number(Double(rpm)) }
        if let tpm { o["tpm"] = .number(Double(tpm)) }
        if let usdPerDay { o["usd_per_day"] = .number(usdPerDay) }
        if let usdPerMonth { o["usd_per_month"] = .number(usdPerMonth) }
        return JSONValue.object(o).jsonText
    }

    init(id: String, definition: String) throws(StoreError) {
        guard case .object(let o)? = try? JSONParser.parse(definition) else {
            throw StoreError("the store's definition of key '\(id)' is not a JSON object")
        }
        self.init(id: id)
        if case .array(let list)? = o["models"] { models = list.compactMap(\.stringValue) }
        rpm = o["rpm"]?.int
        tpm = o["tpm"]?.int
        usdPerDay = o["usd_per_day"]?.numberValue
        usdPerMonth = o["usd_per_month"]?.numberValue
    }
}

/// One secret of a key, by its hash; a rotated key's old secret lasts until `expires`.
public struct KeySecret: Sendable, Equatable {
    public var hash: String
    public var expires: Date?

    public init(hash: String, expires: Date?) {
        self.hash = hash
        self.expires = expires
    }
}

/// A key as the store keeps it, with its secrets and whether it is revoked.
public struct StoredKey: Sendable, Equatable {
    public var key: GatewayKey
    public var secrets: [KeySecret]
    public var revoked: Bool
    /// It comes from the config file (which defines its limits), not `prellm keys create`.
    public var fromConfig: Bool
}

/// A config file's key as it is loaded into the store at start: its limits and its hash.
public struct ConfigKey: Sendable, Equatable {
    public var key: GatewayKey
    public var hash: String

    public init(_ k: ConfigFile.Key) {
        self.init(key: GatewayKey(k), hash: k.hash)
    }

    public init(key: GatewayKey, hash: String) {
        self.key = key
        self.hash = hash
    }
}

/// A new secret for a key: `pk-` and 40 random letters and digits, and its hash.
public enum KeySecretGenerator {
    public static func make() -> (secret: String, hash: String) {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        var rng = SystemRandomNumberGenerator()
        let secret = "pk-" + String((0..<40).map { _ in alphabet[Int(rng.next(upperBound: UInt32(alphabet.count)))] })
        return (secret, SHA256.hex(secret))
    }
}
