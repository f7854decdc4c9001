import Foundation
import PrellmSQLite
import Synchronization

/// The embedded context store: one SQLite file, each chunk's unit vector kept as 32-bit floats,
/// searched exactly (a dot product with every chunk of the context). A context's vectors are
/// loaded once into one contiguous matrix and kept while its revision stands, so a server's
/// repeated searches read no rows; any change to the context bumps the revision. Every call
/// runs on the store's own queue, never on the caller's task: a cold search of a large context
/// reads and scans for seconds, which on a thread of Swift's pool would stall a server's other
/// requests.
public final class SQLiteContextStore: ContextStore {
    let database: SQLiteDatabase
    private let loaded = Mutex<[String: Matrix]>([:])
    private let queue = DispatchQueue(label: "prellm.contexts.sqlite")

    /// A context's vectors in one array, `dimension` floats a row, with each row's chunk id.
    struct Matrix: Sendable {
        var revision: Int64
        var dimension: Int
        var ids: [Int64]
        var values: [Float]
    }

    static let schema = [
        """
        CREATE TABLE IF NOT EXISTS contexts (name TEXT PRIMARY KEY, model TEXT NOT NULL, dimension INTEGER NOT NULL,
            revision INTEGER NOT NULL DEFAULT 0, created REAL NOT NULL)
        """,
        """
        CREATE TABLE IF NOT EXISTS chunks (id INTEGER PRIMARY KEY, context TEXT NOT NULL, text TEXT NOT NULL,
            source TEXT NOT NULL, first_line INTEGER NOT NULL, last_line INTEGER NOT NULL, vector BLOB NOT NULL)
        """,
        "CREATE INDEX IF NOT EXISTS chunks_by_context ON chunks (context, id)",
    ]

    public init(path: String) throws(MemoryError) {
        do { database = try SQLiteDatabase(path: path, what: "the context store", schema: Self.schema) } catch {
            throw MemoryError(error.message)
        }
    }

    /// Runs `body` on the store's queue.
    func offPool<T: Sendable>(_ body: @escaping @Sendable () throws(MemoryError) -> T) async throws(MemoryError) -> T {
        try await queue.awaiting(body)
    }

    public func contexts() async throws(MemoryError) -> [ContextInfo] {
        try await offPool { [self] () throws(MemoryError) in try listed() }
    }

    func listed() throws(MemoryError) -> [ContextInfo] {
        let rows = try run(
            """
            SELECT c.name, c.model, c.dimension, COUNT(k.id), COALESCE(GROUP_CONCAT(DISTINCT k.source), '')
            FROM contexts c LEFT JOIN chunks k ON k.context = c.name GROUP BY c.name ORDER BY c.name
            """)
        return rows.map { r in
            ContextInfo(
                name: r[0]?.text ?? "", model: r[1]?.text ?? "", dimension: Int(r[2]?.number ?? 0), chunks: Int(r[3]?.number ?? 0),
                sources: (r[4]?.text ?? "").split(separator: ",").map(String.init).sorted())
        }
    }

    public func context(named name: String) async throws(MemoryError) -> ContextInfo? {
        try await offPool { [self] () throws(MemoryError) in try info(name) }
    }

    func info(_ name: String) throws(MemoryError) -> ContextInfo? {
        let rows = try run("SELECT model, dimension, (SELECT COUNT(*) FROM chunks WHERE context = ?1) FROM contexts WHERE name = ?1", [.text(name)])
        guard let r = rows.first else { return nil }
        return ContextInfo(name: name, model: r[0]?.text ?? "", dimension: Int(r[1]?.number ?? 0), chunks: Int(r[2]?.number ?? 0), sources: [])
    }

    public func add(_ chunks: [Chunk], vectors: [[Double]], to context: String, model: String) async throws(MemoryError) {
        try await offPool { [self] () throws(MemoryError) in try added(chunks, vectors: vectors, to: context, model: model) }
    }

    func added(_ chunks: [Chunk], vectors: [[Double]], to context: String, model: String) throws(MemoryError) {
        guard chunks.count == vectors.count else { throw MemoryError("\(chunks.count) chunks but \(vectors.count) vectors") }
        guard let dimension = vectors.first?.count else { return }
        var units: [[Float]] = []
        for (chunk, v) in zip(chunks, vectors) {
            guard v.count == dimension else { throw MemoryError("the vectors differ in length (\(dimension) and \(v.count))") }
            guard let u = Vectors.unit(v) else { throw MemoryError("the vector of \(chunk.source):\(chunk.lines.lowerBound) is zero") }
            units.append(u)
        }
        // The model is checked inside the transaction that adds: another process adding to the
        // same new context with another model cannot slip in between.
        var kept: ContextInfo?
        do {
            try database.transaction { tx throws(SQLiteDatabase.Failure) in
                try tx.rows(
                    "INSERT INTO contexts (name, model, dimension, created) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (name) DO NOTHING",
                    [.text(context), .text(model), .integer(Int64(dimension)), .real(Date().timeIntervalSince1970)])
                let row = try tx.rows("SELECT model, dimension FROM contexts WHERE name = ?1", [.text(context)]).first
                let existing = ContextInfo(
                    name: context, model: row?[0]?.text ?? "", dimension: Int(row?[1]?.number ?? 0), chunks: 0, sources: [])
                guard existing.model == model, existing.dimension == dimension else {
                    kept = existing
                    throw SQLiteDatabase.Failure(message: "mixed models")  // rolls back; reported below
                }
                for (chunk, u) in zip(chunks, units) {
                    try tx.rows(
                        "INSERT INTO chunks (context, text, source, first_line, last_line, vector) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                        [
                            .text(context), .text(chunk.text), .text(chunk.source), .integer(Int64(chunk.lines.lowerBound)),
                            .integer(Int64(chunk.lines.upperBound)), .blob(Vectors.bytes(u)),
                        ])
                }
                try tx.rows("UPDATE contexts SET revision = revision + 1 WHERE name = ?1", [.text(context)])
            }
        } catch {
            if let kept { try MemoryError.unlessSameModel(kept, model: model, dimension: dimension) }
            throw MemoryError("cannot add to context '\(context)': \(error.message)")
        }
    }

    public func search(
        _ context: String, vector: [Double], model: String, topK: Int, minScore: Double
    ) async throws(MemoryError)
        -> [ContextHit]
    {
        try await offPool { [self] () throws(MemoryError) in
            try searched(context, vector: vector, model: model, topK: topK, minScore: minScore)
        }
    }

    func searched(_ context: String, vector: [Double], model: String, topK: Int, minScore: Double) throws(MemoryError) -> [ContextHit] {
        guard let info = try info(context) else { throw .missing(context, among: try names()) }
        try MemoryError.unlessSameModel(info, model: model, dimension: vector.count)
        guard let query = Vectors.unit(vector) else { throw MemoryError("the query's vector is zero") }
        let matrix = try matrix(of: context)
        var best = TopK(topK)
        query.withUnsafeBufferPointer { q in
            matrix.values.withUnsafeBufferPointer { all in
                for row in matrix.ids.indices {
                    let v = UnsafeBufferPointer(rebasing: all[(row * matrix.dimension)..<((row + 1) * matrix.dimension)])
                    let score = Vectors.dot(q, v)
                    if Double(score) >= minScore { best.offer(score, row) }
                }
            }
        }
        return try best.items.map { item throws(MemoryError) in
            let id = matrix.ids[item.id]
            guard let r = try run("SELECT text, source, first_line, last_line FROM chunks WHERE id = ?1", [.integer(id)]).first else {
                throw MemoryError("context '\(context)' changed during the search; search again")
            }
            return ContextHit(chunk: Self.chunk(r), score: Double(item.score))
        }
    }

    /// The context's vectors, from memory while its revision stands.
    func matrix(of context: String) throws(MemoryError) -> Matrix {
        let revision = Int64(try run("SELECT revision FROM contexts WHERE name = ?1", [.text(context)]).first?[0]?.number ?? -1)
        if let kept = loaded.withLock({ $0[context] }), kept.revision == revision { return kept }
        let rows = Int(try run("SELECT COUNT(*) FROM chunks WHERE context = ?1", [.text(context)]).first?[0]?.number ?? 0)
        var m = Matrix(revision: revision, dimension: 0, ids: [], values: [])
        m.ids.reserveCapacity(rows)
        // Read in place, each blob copied once into the matrix: building a value per row cost
        // most of a cold search.
        do {
            try database.forEachRow("SELECT id, vector FROM chunks WHERE context = ?1 ORDER BY id", [.text(context)]) { row in
                row.withBlob(1) { raw in
                    let n = raw.count / MemoryLayout<Float>.size
                    if m.dimension == 0 {
                        m.dimension = n
                        m.values.reserveCapacity(n * rows)
                    }
                    guard n == m.dimension, n > 0, let source = raw.baseAddress else { return }
                    m.ids.append(row.integer(0))
                    let start = m.values.count
                    m.values.append(contentsOf: repeatElement(0, count: n))
                    m.values.withUnsafeMutableBytes { $0.baseAddress!.advanced(by: start * 4).copyMemory(from: source, byteCount: n * 4) }
                }
            }
        } catch {
            throw MemoryError("the context store: \(error.message)")
        }
        let built = m
        loaded.withLock { $0[context] = built }
        return built
    }

    public func chunks(of context: String) async throws(MemoryError) -> [Chunk] {
        try await offPool { [self] () throws(MemoryError) in try listedChunks(of: context) }
    }

    func listedChunks(of context: String) throws(MemoryError) -> [Chunk] {
        guard try info(context) != nil else { throw .missing(context, among: try names()) }
        return try run("SELECT text, source, first_line, last_line FROM chunks WHERE context = ?1 ORDER BY id", [.text(context)]).map(Self.chunk)
    }

    public func remove(_ context: String) async throws(MemoryError) -> Bool {
        try await offPool { [self] () throws(MemoryError) in try removed(context) }
    }

    func removed(_ context: String) throws(MemoryError) -> Bool {
        let existed = try info(context) != nil
        do {
            try database.transaction { tx throws(SQLiteDatabase.Failure) in
                try tx.rows("DELETE FROM chunks WHERE context = ?1", [.text(context)])
                try tx.rows("DELETE FROM contexts WHERE name = ?1", [.text(context)])
            }
        } catch {
            throw MemoryError("cannot remove context '\(context)': \(error.message)")
        }
        loaded.withLock { _ = $0.removeValue(forKey: context) }
        return existed
    }

    func names() throws(MemoryError) -> [String] {
        try run("SELECT name FROM contexts ORDER BY name").compactMap { $0[0]?.text }
    }

    static func chunk(_ r: [SQLiteDatabase.Value?]) -> Chunk {
        let first = Int(r[2]?.number ?? 1), last = Int(r[3]?.number ?? 1)
        return Chunk(text: r[0]?.text ?? "", source: r[1]?.text ?? "", lines: first...max(first, last))
    }

    private func run(_ sql: String, _ bindings: [SQLiteDatabase.Value] = []) throws(MemoryError) -> [[SQLiteDatabase.Value?]] {
        do { return try database.rows(sql, bindings) } catch { throw MemoryError("the context store: \(error.message)") }
    }
}
