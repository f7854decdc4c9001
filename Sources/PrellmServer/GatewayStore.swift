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

    public func isReachable() -> Bool {
        (try? db.rows("SELECT 1")) != nil
    }
}
