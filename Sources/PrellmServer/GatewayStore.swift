import Foundation
import PrellmRuntime

/// A GatewayStore keeps the usage ledger: what each key spent, by UTC day and month. It is a
/// protocol so that a store shared by several gateway replicas (PostgreSQL) can replace the
/// embedded SQLite one without touching the handlers.
public protocol GatewayStore: Sendable {
    func spent(key: String, day: String, month: String) throws -> (day: Double, month: Double)
    func record(key: String, day: String, month: String, usd: Double, tokens: Int) throws
    /// Whether the store answers (`/readyz`).
    func isReachable() -> Bool
    /// Key ids revoked with `prellm keys revoke`: they stop working without a config change.
    func revoked() throws -> Set<String>
    func revoke(key: String) throws
    /// Keeps a Responses answer until `response.expires`; expired ones are dropped here too.
    func save(_ response: StoredResponse) throws
    /// A kept answer by id, if it is the key's own and has not expired.
    func storedResponse(id: String, keyID: String, now: Date) throws -> StoredResponse?
    /// Whether an answer of the key's was there to delete.
    func deleteResponse(id: String, keyID: String) throws -> Bool
}

/// A Responses answer the gateway keeps for `previous_response_id` and
/// `GET /v1/responses/{id}`: the Response object as sent, and the conversation up to and
/// including it as input items, so that a later turn reads it as it reads its own input.
public struct StoredResponse: Sendable, Equatable {
    public var id: String
    /// The gateway key that made it ("" on a gateway without keys): only it may read it.
    public var keyID: String
    public var object: String
    public var conversation: String
    public var expires: Date

    public init(id: String, keyID: String, object: String, conversation: String, expires: Date) {
        self.id = id
        self.keyID = keyID
        self.object = object
        self.conversation = conversation
        self.expires = expires
    }
}

/// The ledger's periods: a UTC day ("2026-11-24") and its month ("2026-11").
public enum UsagePeriod {
    public static func of(_ date: Date) -> (day: String, month: String) {
        let c = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC")!, from: date)
        let day = String(format: "%04d-%02d-%02d", c.year!, c.month!, c.day!)
        return (day, String(day.prefix(7)))
    }
}

/// The embedded store: one SQLite file, WAL mode, survives restarts.
public final class SQLiteGatewayStore: GatewayStore {
    public typealias StoreError = SQLiteDatabase.Failure

    private let db: SQLiteDatabase

    public init(path: String) throws(StoreError) {
        db = try SQLiteDatabase(
            path: path, what: "the store",
            schema: [
                "CREATE TABLE IF NOT EXISTS usage (key_id TEXT NOT NULL, day TEXT NOT NULL, month TEXT NOT NULL, usd REAL NOT NULL, tokens INTEGER NOT NULL, at REAL NOT NULL)",
                "CREATE INDEX IF NOT EXISTS usage_key_day ON usage (key_id, day)",
                "CREATE INDEX IF NOT EXISTS usage_key_month ON usage (key_id, month)",
                "CREATE TABLE IF NOT EXISTS revoked (key_id TEXT PRIMARY KEY, at REAL NOT NULL)",
                "CREATE TABLE IF NOT EXISTS responses (id TEXT PRIMARY KEY, key_id TEXT NOT NULL, object TEXT NOT NULL, conversation TEXT NOT NULL, expires REAL NOT NULL)",
                "CREATE INDEX IF NOT EXISTS responses_expires ON responses (expires)",
            ])
    }

    /// The day's and the month's spend, in one statement so that they agree with each other.
    public func spent(key: String, day: String, month: String) throws -> (day: Double, month: Double) {
        let row = try db.rows(
            "SELECT COALESCE(SUM(CASE WHEN day = ?2 THEN usd END), 0), COALESCE(SUM(usd), 0) FROM usage WHERE key_id = ?1 AND month = ?3",
            [.text(key), .text(day), .text(month)]
        ).first
        return (row?[0]?.number ?? 0, row?[1]?.number ?? 0)
    }

    public func record(key: String, day: String, month: String, usd: Double, tokens: Int) throws {
        try db.rows(
            "INSERT INTO usage (key_id, day, month, usd, tokens, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            [.text(key), .text(day), .text(month), .real(usd), .integer(Int64(tokens)), .real(Date().timeIntervalSince1970)])
    }

    public func revoked() throws -> Set<String> {
        Set(try db.rows("SELECT key_id FROM revoked").compactMap { $0[0]?.text })
    }

    public func revoke(key: String) throws {
        try db.rows("INSERT OR REPLACE INTO revoked (key_id, at) VALUES (?1, ?2)", [.text(key), .real(Date().timeIntervalSince1970)])
    }

    public func save(_ r: StoredResponse) throws {
        let now = Date().timeIntervalSince1970
        try db.rows("DELETE FROM responses WHERE expires <= ?1", [.real(now)])
        try db.rows(
            "INSERT INTO responses (id, key_id, object, conversation, expires) VALUES (?1, ?2, ?3, ?4, ?5)",
            [.text(r.id), .text(r.keyID), .text(r.object), .text(r.conversation), .real(r.expires.timeIntervalSince1970)])
    }

    public func storedResponse(id: String, keyID: String, now: Date) throws -> StoredResponse? {
        let row = try db.rows(
            "SELECT object, conversation, expires FROM responses WHERE id = ?1 AND key_id = ?2 AND expires > ?3",
            [.text(id), .text(keyID), .real(now.timeIntervalSince1970)]
        ).first
        guard let row, let object = row[0]?.text, let conversation = row[1]?.text, let expires = row[2]?.number else { return nil }
        return StoredResponse(id: id, keyID: keyID, object: object, conversation: conversation, expires: Date(timeIntervalSince1970: expires))
    }

    public func deleteResponse(id: String, keyID: String) throws -> Bool {
        // A read, then the delete: RETURNING needs SQLite 3.35, which some supported systems lack.
        let found = try db.rows("SELECT 1 FROM responses WHERE id = ?1 AND key_id = ?2", [.text(id), .text(keyID)])
        try db.rows("DELETE FROM responses WHERE id = ?1 AND key_id = ?2", [.text(id), .text(keyID)])
        return !found.isEmpty
    }

    public func isReachable() -> Bool {
        (try? db.rows("SELECT 1")) != nil
    }
}
