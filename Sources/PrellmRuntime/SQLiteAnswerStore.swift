import Foundation
import PrellmSQLite

/// SQLiteAnswerStore keeps cached answers in one table of a SQLite file:
/// `answers(key TEXT PRIMARY KEY, response TEXT, expires REAL)`, expiry in Unix seconds.
public final class SQLiteAnswerStore: AnswerStore {
    public typealias StoreError = SQLiteDatabase.Failure

    public static let now: @Sendable () -> Double = { Date().timeIntervalSince1970 }

    private let db: SQLiteDatabase
    private let wallClock: @Sendable () -> Double

    public init(path: String, wallClock: @escaping @Sendable () -> Double = SQLiteAnswerStore.now) throws(StoreError) {
        db = try SQLiteDatabase(
            path: path, what: "the cache file",
            schema: [
                "CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, response TEXT NOT NULL, expires REAL NOT NULL)"
            ])
        self.wallClock = wallClock
    }

    public func answer(for key: String) async -> String? { get(key) }

    public func keep(_ answer: String, for key: String, ttl: Duration) async { put(key, answer, ttlSeconds: ttl.seconds) }

    /// The answer stored under `key`, unless it has expired. A store that cannot be read is a miss.
    func get(_ key: String) -> String? {
        (try? db.rows("SELECT response FROM answers WHERE key = ?1 AND expires > ?2", [.text(key), .real(wallClock())]))?.first?[0]?.text
    }

    /// Stores an answer; a store that cannot be written loses it (the run goes on uncached).
    func put(_ key: String, _ response: String, ttlSeconds: Double) {
        let now = wallClock()
        _ = try? db.rows(
            "INSERT OR REPLACE INTO answers (key, response, expires) VALUES (?1, ?2, ?3)",
            [.text(key), .text(response), .real(now + ttlSeconds)])
        // Expired rows are removed now and then, not on every write.
        if Int.random(in: 0..<64) == 0 { _ = try? db.rows("DELETE FROM answers WHERE expires <= ?1", [.real(now)]) }
    }
}
