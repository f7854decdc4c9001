import CSQLite
import Foundation
import Synchronization

/// SQLiteAnswerStore keeps cached answers in one table of a SQLite file:
/// `answers(key TEXT PRIMARY KEY, response TEXT, expires REAL)`, expiry in Unix seconds.
/// One connection, serialised by a lock; WAL mode so that several processes can share the file.
public final class SQLiteAnswerStore: @unchecked Sendable {
    public struct StoreError: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    public static let now: @Sendable () -> Double = { Date().timeIntervalSince1970 }

    private let db: OpaquePointer
    private let lock = Mutex<Void>(())
    private let wallClock: @Sendable () -> Double

    public init(path: String, wallClock: @escaping @Sendable () -> Double = SQLiteAnswerStore.now) throws(StoreError) {
        var handle: OpaquePointer?
        guard sqlite3_open_v2(path, &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nil) == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close(handle)
            throw StoreError(message: "cannot open the cache file '\(path)': \(message)")
        }
        db = handle
        self.wallClock = wallClock
        sqlite3_busy_timeout(db, 2000)
        for sql in ["PRAGMA journal_mode=WAL",
                    "CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, response TEXT NOT NULL, expires REAL NOT NULL)"] {
            guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else {
                let message = String(cString: sqlite3_errmsg(db))
                sqlite3_close(db)
                throw StoreError(message: "cannot use the cache file '\(path)': \(message)")
            }
        }
    }

    deinit { sqlite3_close(db) }

    func get(_ key: String) -> String? {
        lock.withLock { _ in
            var stmt: OpaquePointer?
            guard sqlite3_prepare_v2(db, "SELECT response FROM answers WHERE key = ?1 AND expires > ?2", -1, &stmt, nil) == SQLITE_OK else { return nil }
            defer { sqlite3_finalize(stmt) }
            sqlite3_bind_text(stmt, 1, key, -1, prellm_sqlite_transient())
            sqlite3_bind_double(stmt, 2, wallClock())
            guard sqlite3_step(stmt) == SQLITE_ROW, let text = sqlite3_column_text(stmt, 0) else { return nil }
            return String(cString: text)
        }
    }

    func put(_ key: String, _ response: String, ttlSeconds: Double) {
        lock.withLock { _ in
            var stmt: OpaquePointer?
            guard sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO answers (key, response, expires) VALUES (?1, ?2, ?3)", -1, &stmt, nil) == SQLITE_OK else { return }
            defer { sqlite3_finalize(stmt) }
            sqlite3_bind_text(stmt, 1, key, -1, prellm_sqlite_transient())
            sqlite3_bind_text(stmt, 2, response, -1, prellm_sqlite_transient())
            sqlite3_bind_double(stmt, 3, wallClock() + ttlSeconds)
            _ = sqlite3_step(stmt)
            // Expired rows are removed now and then, not on every write.
            if Int.random(in: 0..<64) == 0 { sqlite3_exec(db, "DELETE FROM answers WHERE expires <= \(wallClock())", nil, nil, nil) }
        }
    }
}
