import CSQLite
import Foundation
import Synchronization

/// A SQLiteDatabase is one connection to a SQLite file, serialised by a lock, in WAL mode so that
/// several processes can share the file. The answer cache and the gateway's usage ledger are
/// both built on it: they say what their tables are and what they ask, not how to bind a value.
public final class SQLiteDatabase: @unchecked Sendable {
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
        /// For a transaction's body that must roll back for a reason of its own.
        public init(message: String) { self.message = message }
    }

    /// A value bound to a statement's `?N`, or read from a result column.
    public enum Value: Sendable, Equatable {
        case text(String), real(Double), integer(Int64)
        /// Bytes as they are: a context's vectors, packed as 32-bit floats.
        case blob([UInt8])

        public var text: String? { if case .text(let t) = self { t } else { nil } }
        /// A number, whichever way SQLite stored it (`SUM` of nothing is the integer 0).
        public var number: Double? {
            switch self {
            case .real(let d): d
            case .integer(let i): Double(i)
            case .text, .blob: nil
            }
        }
    }

    private let db: OpaquePointer
    private let lock = Mutex<Void>(())
    /// Prepared statements by their SQL, kept for the connection's life: preparing was most of
    /// what a small statement cost (the gateway runs a handful per request). Touched only with
    /// `lock` held; past `cachedLimit` a statement is prepared for its one use.
    private var statements: [String: OpaquePointer] = [:]
    private static let cachedLimit = 128

    /// Opens (creating if need be) the file and runs `schema`, statements that must be idempotent
    /// (`CREATE … IF NOT EXISTS`). `what` names the file in errors ("the cache file").
    public init(path: String, what: String, schema: [String]) throws(Failure) {
        var handle: OpaquePointer?
        guard sqlite3_open_v2(path, &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nil) == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close(handle)
            throw Failure(message: "cannot open \(what) '\(path)': \(message)")
        }
        db = handle
        sqlite3_busy_timeout(db, 2000)
        for sql in ["PRAGMA journal_mode=WAL"] + schema {
            guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else {
                let message = String(cString: sqlite3_errmsg(db))
                sqlite3_close(db)
                throw Failure(message: "cannot use \(what) '\(path)': \(message)")
            }
        }
    }

    deinit {
        for stmt in statements.values { sqlite3_finalize(stmt) }
        sqlite3_close(db)
    }

    /// Runs one statement with `bindings` as `?1`, `?2`, … and returns its rows (a NULL column
    /// is nil).
    @discardableResult
    public func rows(_ sql: String, _ bindings: [Value] = []) throws(Failure) -> [[Value?]] {
        let result: Result<[[Value?]], Failure> = lock.withLock { _ in run(sql, bindings) }
        return try result.get()
    }

    /// Runs `body` as one transaction (`BEGIN IMMEDIATE`: the write lock is taken at once, so
    /// a read inside it cannot go stale before the write), with the connection to itself;
    /// a failure rolls it back.
    public func transaction<T>(_ body: (Transaction) throws(Failure) -> T) throws(Failure) -> T {
        let result: Result<T, Failure> = lock.withLock { _ in
            if case .failure(let e) = run("BEGIN IMMEDIATE", []) { return .failure(e) }
            do throws(Failure) {
                let value = try body(Transaction(database: self))
                if case .failure(let e) = run("COMMIT", []) {
                    _ = run("ROLLBACK", [])
                    return .failure(e)
                }
                return .success(value)
            } catch {
                _ = run("ROLLBACK", [])
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// The connection inside a transaction: statements run without taking the lock again.
    public struct Transaction {
        let database: SQLiteDatabase
        @discardableResult
        public func rows(_ sql: String, _ bindings: [Value] = []) throws(Failure) -> [[Value?]] {
            try database.run(sql, bindings).get()
        }
    }

    /// One statement, with the lock held by the caller.
    private func run(_ sql: String, _ bindings: [Value]) -> Result<[[Value?]], Failure> {
        var rows: [[Value?]] = []
        return step(sql, bindings) { stmt in rows.append((0..<sqlite3_column_count(stmt)).map { column(stmt, $0) }) }.map { rows }
    }

    /// Prepares (or reuses) a statement, binds it and hands each result row to `row`, with the
    /// lock held by the caller.
    private func step(_ sql: String, _ bindings: [Value], _ row: (OpaquePointer) -> Void) -> Result<Void, Failure> {
        let stmt: OpaquePointer
        let cached: Bool
        if let kept = statements[sql] {
            (stmt, cached) = (kept, true)
        } else {
            var prepared: OpaquePointer?
            guard sqlite3_prepare_v2(db, sql, -1, &prepared, nil) == SQLITE_OK, let prepared else { return .failure(lastError()) }
            cached = statements.count < Self.cachedLimit
            if cached { statements[sql] = prepared }
            stmt = prepared
        }
        defer {
            if cached {
                sqlite3_reset(stmt)
                sqlite3_clear_bindings(stmt)
            } else {
                sqlite3_finalize(stmt)
            }
        }
        for (i, value) in bindings.enumerated() {
            let index = Int32(i + 1)
            switch value {
            case .text(let t): sqlite3_bind_text(stmt, index, t, -1, prellm_sqlite_transient())
            case .real(let d): sqlite3_bind_double(stmt, index, d)
            case .integer(let n): sqlite3_bind_int64(stmt, index, n)
            case .blob(let bytes):
                bytes.withUnsafeBytes { raw in
                    // An empty blob still binds a zero-length value, not NULL.
                    _ = sqlite3_bind_blob(
                        stmt, index, raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(bytes.count), prellm_sqlite_transient())
                }
            }
        }
        while true {
            switch sqlite3_step(stmt) {
            case SQLITE_ROW: row(stmt)
            case SQLITE_DONE: return .success(())
            default: return .failure(lastError())
            }
        }
    }

    /// A result row read in place, for queries over many rows: an integer column, or a blob's
    /// bytes, valid only inside the `forEachRow` callback.
    public struct Row {
        let stmt: OpaquePointer

        public func integer(_ column: Int32) -> Int64 { sqlite3_column_int64(stmt, column) }

        public func withBlob<T>(_ column: Int32, _ body: (UnsafeRawBufferPointer) -> T) -> T {
            let count = Int(sqlite3_column_bytes(stmt, column))
            return body(UnsafeRawBufferPointer(start: sqlite3_column_blob(stmt, column), count: count))
        }
    }

    /// Runs a query and hands each row to `body` without building a value per column: a
    /// context's vectors are read straight into one matrix this way.
    public func forEachRow(_ sql: String, _ bindings: [Value] = [], _ body: (Row) -> Void) throws(Failure) {
        let result: Result<Void, Failure> = lock.withLock { _ in step(sql, bindings) { stmt in body(Row(stmt: stmt)) } }
        try result.get()
    }

    private func column(_ stmt: OpaquePointer?, _ i: Int32) -> Value? {
        switch sqlite3_column_type(stmt, i) {
        case SQLITE_INTEGER: .integer(sqlite3_column_int64(stmt, i))
        case SQLITE_FLOAT: .real(sqlite3_column_double(stmt, i))
        case SQLITE_NULL: nil
        case SQLITE_BLOB:
            .blob(
                sqlite3_column_blob(stmt, i).map { Array(UnsafeRawBufferPointer(start: $0, count: Int(sqlite3_column_bytes(stmt, i)))) } ?? [])
        default: sqlite3_column_text(stmt, i).map { .text(String(cString: $0)) }
        }
    }

    private func lastError() -> Failure { Failure(message: String(cString: sqlite3_errmsg(db))) }
}
