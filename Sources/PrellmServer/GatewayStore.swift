import CSQLite
import Foundation
import Synchronization

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

/// The embedded store: one SQLite file, WAL mode, survives restarts.
public final class SQLiteGatewayStore: GatewayStore, @unchecked Sendable {
    public struct StoreError: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    private let db: OpaquePointer
    private let lock = Mutex<Void>(())

    public init(path: String) throws(StoreError) {
        var handle: OpaquePointer?
        guard sqlite3_open_v2(path, &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nil) == SQLITE_OK, let handle else {
            sqlite3_close(handle)
            throw StoreError(message: "cannot open the store '\(path)'")
        }
        db = handle
        sqlite3_busy_timeout(db, 2000)
        for sql in ["PRAGMA journal_mode=WAL",
                    "CREATE TABLE IF NOT EXISTS usage (key_id TEXT NOT NULL, day TEXT NOT NULL, month TEXT NOT NULL, usd REAL NOT NULL, tokens INTEGER NOT NULL, at REAL NOT NULL)",
                    "CREATE INDEX IF NOT EXISTS usage_key_day ON usage (key_id, day)",
                    "CREATE INDEX IF NOT EXISTS usage_key_month ON usage (key_id, month)",
                    "CREATE TABLE IF NOT EXISTS revoked (key_id TEXT PRIMARY KEY, at REAL NOT NULL)"] {
            guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else {
                let message = String(cString: sqlite3_errmsg(db))
                sqlite3_close(db)
                throw StoreError(message: "cannot use the store '\(path)': \(message)")
            }
        }
    }

    deinit { sqlite3_close(db) }

    public func spent(key: String, day: String, month: String) throws -> (day: Double, month: Double) {
        try lock.withLock { _ in (try sum(key, "day", day), try sum(key, "month", month)) }
    }

    private func sum(_ key: String, _ column: String, _ value: String) throws -> Double {
        var stmt: OpaquePointer?
        guard sqlite3_prepare_v2(db, "SELECT COALESCE(SUM(usd), 0) FROM usage WHERE key_id = ?1 AND \(column) = ?2", -1, &stmt, nil) == SQLITE_OK else {
            throw StoreError(message: String(cString: sqlite3_errmsg(db)))
        }
        defer { sqlite3_finalize(stmt) }
        sqlite3_bind_text(stmt, 1, key, -1, prellm_sqlite_transient())
        sqlite3_bind_text(stmt, 2, value, -1, prellm_sqlite_transient())
        guard sqlite3_step(stmt) == SQLITE_ROW else { throw StoreError(message: String(cString: sqlite3_errmsg(db))) }
        return sqlite3_column_double(stmt, 0)
    }

    public func record(key: String, day: String, month: String, usd: Double, tokens: Int) throws {
        try lock.withLock { _ in
            var stmt: OpaquePointer?
            guard sqlite3_prepare_v2(db, "INSERT INTO usage (key_id, day, month, usd, tokens, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)", -1, &stmt, nil) == SQLITE_OK else {
                throw StoreError(message: String(cString: sqlite3_errmsg(db)))
            }
            defer { sqlite3_finalize(stmt) }
            sqlite3_bind_text(stmt, 1, key, -1, prellm_sqlite_transient())
            sqlite3_bind_text(stmt, 2, day, -1, prellm_sqlite_transient())
            sqlite3_bind_text(stmt, 3, month, -1, prellm_sqlite_transient())
            sqlite3_bind_double(stmt, 4, usd)
            sqlite3_bind_int64(stmt, 5, Int64(tokens))
            sqlite3_bind_double(stmt, 6, Date().timeIntervalSince1970)
            guard sqlite3_step(stmt) == SQLITE_DONE else { throw StoreError(message: String(cString: sqlite3_errmsg(db))) }
        }
    }

    public func revoked() throws -> Set<String> {
        try lock.withLock { _ in
            var stmt: OpaquePointer?
            guard sqlite3_prepare_v2(db, "SELECT key_id FROM revoked", -1, &stmt, nil) == SQLITE_OK else {
                throw StoreError(message: String(cString: sqlite3_errmsg(db)))
            }
            defer { sqlite3_finalize(stmt) }
            var out: Set<String> = []
            while sqlite3_step(stmt) == SQLITE_ROW, let t = sqlite3_column_text(stmt, 0) { out.insert(String(cString: t)) }
            return out
        }
    }

    public func revoke(key: String) throws {
        try lock.withLock { _ in
            var stmt: OpaquePointer?
            guard sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO revoked (key_id, at) VALUES (?1, ?2)", -1, &stmt, nil) == SQLITE_OK else {
                throw StoreError(message: String(cString: sqlite3_errmsg(db)))
            }
            defer { sqlite3_finalize(stmt) }
            sqlite3_bind_text(stmt, 1, key, -1, prellm_sqlite_transient())
            sqlite3_bind_double(stmt, 2, Date().timeIntervalSince1970)
            guard sqlite3_step(stmt) == SQLITE_DONE else { throw StoreError(message: String(cString: sqlite3_errmsg(db))) }
        }
    }

    public func isReachable() -> Bool {
        lock.withLock { _ in sqlite3_exec(db, "SELECT 1", nil, nil, nil) == SQLITE_OK }
    }
}
