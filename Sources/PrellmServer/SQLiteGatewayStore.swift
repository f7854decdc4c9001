import Foundation
import PrellmRuntime
import PrellmSQLite
import Synchronization

/// The embedded store: one SQLite file, WAL mode, survives restarts. Admissions and
/// settlements run in `BEGIN IMMEDIATE` transactions, so processes sharing the file take them
/// one at a time; those that arrive together in one process share one transaction (a group
/// commit), each still answered only once it is committed.
public final class SQLiteGatewayStore: GatewayStore {
    private let db: SQLiteDatabase
    private let queue = DispatchQueue(label: "prellm.store.sqlite")
    /// Admissions and settlements waiting for the store's thread.
    private let waiting = Mutex<[Pending]>([])

    /// One admission or settlement and the task that waits for it.
    enum Pending {
        case admit(RateAsk?, BudgetAsk?, CheckedContinuation<Result<Admission, StoreError>, Never>)
        case settle(BudgetHold?, SpendRecord, CheckedContinuation<Result<Void, StoreError>, Never>)
    }

    /// The schema's versions, each a list of statements; a file records the last one applied.
    static let migrations: [[String]] = [
        [
            "CREATE TABLE IF NOT EXISTS usage (key_id TEXT NOT NULL, day TEXT NOT NULL, month TEXT NOT NULL, usd REAL NOT NULL, tokens INTEGER NOT NULL, at REAL NOT NULL)",
            "CREATE INDEX IF NOT EXISTS usage_key_day ON usage (key_id, day)",
            "CREATE INDEX IF NOT EXISTS usage_key_month ON usage (key_id, month)",
            "CREATE TABLE IF NOT EXISTS revoked (key_id TEXT PRIMARY KEY, at REAL NOT NULL)",
            "CREATE TABLE IF NOT EXISTS responses (id TEXT PRIMARY KEY, key_id TEXT NOT NULL, object TEXT NOT NULL, conversation TEXT NOT NULL, expires REAL NOT NULL)",
            "CREATE INDEX IF NOT EXISTS responses_expires ON responses (expires)",
        ],
        [
            // Every request's spend, with what it was for; holds of requests in flight.
            "ALTER TABLE usage ADD COLUMN request_id TEXT NOT NULL DEFAULT ''",
            "ALTER TABLE usage ADD COLUMN model TEXT NOT NULL DEFAULT ''",
            "CREATE TABLE holds (id TEXT PRIMARY KEY, key_id TEXT NOT NULL, usd REAL NOT NULL, expires REAL NOT NULL)",
            "CREATE INDEX holds_key ON holds (key_id, expires)",
        ],
        [
            // Requests per key and minute, for rpm limits shared by every process on the file.
            "CREATE TABLE rate (key_id TEXT NOT NULL, window TEXT NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (key_id, window))"
        ],
        [
            // Tokens per key and minute, beside the requests, for tpm limits shared the same way.
            "ALTER TABLE rate ADD COLUMN tokens INTEGER NOT NULL DEFAULT 0"
        ],
        [
            // Keys live in the store: their limits, their secrets' hashes (two while a rotation
            // overlaps), and a version that every change bumps, for other processes to notice.
            "CREATE TABLE keys (id TEXT PRIMARY KEY, definition TEXT NOT NULL, config_hash TEXT NOT NULL, created REAL NOT NULL)",
            "CREATE TABLE key_secrets (hash TEXT PRIMARY KEY, key_id TEXT NOT NULL, expires REAL)",
            "CREATE INDEX key_secrets_key ON key_secrets (key_id)",
            "CREATE TABLE keys_version (version INTEGER NOT NULL)",
            "INSERT INTO keys_version (version) VALUES (0)",
        ],
        [
            // Each request's settlement once, however often it is retried.
            "ALTER TABLE usage ADD COLUMN settlement TEXT",
            "CREATE UNIQUE INDEX usage_settlement ON usage (settlement)",
        ],
        [
            // Each key's spend per day, kept by every settlement, so that a hold reads at most 31
            // rows however many requests the month has had (summing the ledger grew with it).
            "CREATE TABLE spend_daily (key_id TEXT NOT NULL, day TEXT NOT NULL, month TEXT NOT NULL, usd REAL NOT NULL, PRIMARY KEY (key_id, day))",
            "CREATE INDEX spend_daily_month ON spend_daily (key_id, month)",
            "INSERT INTO spend_daily (key_id, day, month, usd) SELECT key_id, day, month, SUM(usd) FROM usage GROUP BY key_id, day, month",
        ],
        [
            // The answer cache (`cache:` in the config), by the SHA-256 of each answer's key; and
            // in each spend record, whether the cache answered the request.
            "CREATE TABLE answer_cache (key TEXT PRIMARY KEY, answer TEXT NOT NULL, expires REAL NOT NULL)",
            "CREATE INDEX answer_cache_expires ON answer_cache (expires)",
            "ALTER TABLE usage ADD COLUMN cached INTEGER NOT NULL DEFAULT 0",
        ],
    ]

    /// A key's spend in a day (`?2`) and its month (`?3`), in one statement so they agree.
    static let spentSQL =
        "SELECT COALESCE(SUM(CASE WHEN day = ?2 THEN usd END), 0), COALESCE(SUM(usd), 0) FROM spend_daily WHERE key_id = ?1 AND month = ?3"

    public init(path: String) throws(StoreError) {
        do {
            // synchronous=NORMAL in WAL mode: a commit is not flushed to disk on its own (the WAL
            // is, at each checkpoint), so it survives the gateway's crash but not the machine's
            // power loss; flushing each of a request's three commits held one process under
            // 250 requests a second.
            db = try SQLiteDatabase(
                path: path, what: "the store",
                schema: [
                    "PRAGMA synchronous=NORMAL",
                    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
                ])
        } catch {
            throw StoreError(error.message)
        }
        try Self.migrate(db, path: path)
    }

    /// Applies the migrations the file lacks, each in one transaction; refuses a file that a
    /// newer prellm has migrated further.
    static func migrate(_ db: SQLiteDatabase, path: String) throws(StoreError) {
        do {
            try db.transaction { t throws(SQLiteDatabase.Failure) -> Void in
                guard try t.rows("SELECT version FROM schema_version").isEmpty else { return }
                // A file from before versioning has the first version's tables already.
                let old = try t.rows("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'usage'")
                try t.rows("INSERT INTO schema_version (version) VALUES (?1)", [.integer(old.isEmpty ? 0 : 1)])
            }
            let version = Int(try db.rows("SELECT version FROM schema_version").first?[0]?.number ?? 0)
            guard version <= migrations.count else {
                throw StoreError(
                    "the store '\(path)' has schema version \(version), newer than this prellm knows (\(migrations.count)); run the newer prellm, or use another store"
                )
            }
            for (i, statements) in migrations.enumerated() where i >= version {
                try db.transaction { t throws(SQLiteDatabase.Failure) -> Void in
                    for sql in statements { try t.rows(sql) }
                    try t.rows("UPDATE schema_version SET version = ?1", [.integer(Int64(i + 1))])
                }
            }
        } catch let e as SQLiteDatabase.Failure {
            throw StoreError("cannot migrate the store '\(path)': \(e.message)")
        } catch let e as StoreError {
            throw e
        } catch {
            throw StoreError("\(error)")
        }
    }

    public func admit(rate: RateAsk?, budget: BudgetAsk?) async throws(StoreError) -> Admission {
        try await withCheckedContinuation { enqueue(.admit(rate, budget, $0)) }.get()
    }

    public func settle(_ hold: BudgetHold?, _ spend: SpendRecord) async throws(StoreError) {
        try await withCheckedContinuation { enqueue(.settle(hold, spend, $0)) }.get()
    }

    /// The hot path's transactions run on the store's own thread: a SQLite call blocks, and a
    /// blocked thread of the cooperative pool (two of them on a two-core machine) stalls every
    /// request in the process, not just this one. What arrives while a batch is being written
    /// waits for the next, so under load each commit carries many requests.
    private func enqueue(_ p: Pending) {
        let first = waiting.withLock { w in
            w.append(p)
            return w.count == 1
        }
        if first { queue.async { self.drain() } }
    }

    /// Writes everything waiting in one transaction and answers each. Should the batch fail,
    /// each is written alone, so that one bad write does not fail the others.
    private func drain() {
        let batch = waiting.withLock { w in
            defer { w = [] }
            return w
        }
        guard !batch.isEmpty else { return }
        if batch.count > 1,
            let answers = try? db.transaction({ t throws(SQLiteDatabase.Failure) -> [Answer] in
                var answers: [Answer] = []
                for p in batch { answers.append(try Self.write(p, t)) }
                return answers
            })
        {
            for (p, a) in zip(batch, answers) { p.resume(.success(a)) }
            return
        }
        for p in batch {
            do {
                p.resume(.success(try db.transaction { t throws(SQLiteDatabase.Failure) -> Answer in try Self.write(p, t) }))
            } catch {
                p.resume(.failure(StoreError(error.message)))
            }
        }
    }

    enum Answer {
        case admission(Admission)
        case settled
    }

    static func write(_ p: Pending, _ t: SQLiteDatabase.Transaction) throws(SQLiteDatabase.Failure) -> Answer {
        switch p {
        case .admit(let rate, let budget, _): .admission(try admit(rate: rate, budget: budget, t))
        case .settle(let hold, let spend, _): try settle(hold, spend, t)
        }
    }

    /// Runs a synchronous store call on the store's thread.
    func offPool<T: Sendable>(_ body: @escaping @Sendable () throws(StoreError) -> T) async throws(StoreError) -> T {
        try await queue.awaiting(body)
    }

    static func admit(rate: RateAsk?, budget: BudgetAsk?, _ t: SQLiteDatabase.Transaction) throws(SQLiteDatabase.Failure) -> Admission {
        if let budget {
            let (day, month, held) = try Self.budgetState(t, budget)
            guard Budgets.fit(budget, daySpent: day, monthSpent: month, held: held) else {
                return .overBudget(daySpent: day, monthSpent: month, held: held)
            }
        }
        if let rate {
            let row = try t.rows("SELECT count, tokens FROM rate WHERE key_id = ?1 AND window = ?2", [.text(rate.key), .text(rate.window)]).first
            let count = Int(row?[0]?.number ?? 0), counted = Int(row?[1]?.number ?? 0)
            guard rate.fits(count: count, counted: counted) else { return .overRate(requests: count, tokens: counted) }
            try Self.count(t, rate)
        }
        guard let budget else { return .admitted(nil) }
        try Self.insertHold(t, budget)
        return .admitted(BudgetHold(id: budget.id, key: budget.key, usd: budget.usd))
    }

    /// A key's spend in the ask's day and month, and what its live holds hold.
    static func budgetState(_ t: SQLiteDatabase.Transaction, _ ask: BudgetAsk) throws(SQLiteDatabase.Failure) -> (Double, Double, Double) {
        let spent = try t.rows(Self.spentSQL, [.text(ask.key), .text(ask.day), .text(ask.month)]).first
        let held =
            try t.rows(
                "SELECT COALESCE(SUM(usd), 0) FROM holds WHERE key_id = ?1 AND expires > ?2", [.text(ask.key), .real(Date().timeIntervalSince1970)]
            ).first?[0]?.number ?? 0
        return (spent?[0]?.number ?? 0, spent?[1]?.number ?? 0, held)
    }

    static func insertHold(_ t: SQLiteDatabase.Transaction, _ ask: BudgetAsk) throws(SQLiteDatabase.Failure) {
        try t.rows(
            "INSERT INTO holds (id, key_id, usd, expires) VALUES (?1, ?2, ?3, ?4)",
            [.text(ask.id), .text(ask.key), .real(ask.usd), .real(ask.expires.timeIntervalSince1970)])
    }

    static func count(_ t: SQLiteDatabase.Transaction, _ ask: RateAsk) throws(SQLiteDatabase.Failure) {
        try t.rows(
            """
            INSERT INTO rate (key_id, window, count, tokens) VALUES (?1, ?2, 1, ?3)
            ON CONFLICT (key_id, window) DO UPDATE SET count = count + 1, tokens = tokens + ?3
            """,
            [.text(ask.key), .text(ask.window), .integer(Int64(ask.tokens))])
    }

    static func settle(_ hold: BudgetHold?, _ spend: SpendRecord, _ t: SQLiteDatabase.Transaction) throws(SQLiteDatabase.Failure) -> Answer {
        if let hold { try t.rows("DELETE FROM holds WHERE id = ?1", [.text(hold.id)]) }
        try t.rows(
            """
            INSERT OR IGNORE INTO usage (key_id, day, month, usd, tokens, at, request_id, model, settlement, cached)
              VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
            """,
            [
                .text(spend.key), .text(spend.day), .text(spend.month), .real(spend.usd), .integer(Int64(spend.tokens)),
                .real(Date().timeIntervalSince1970), .text(spend.requestID), .text(spend.model), .text(spend.settlement),
                .integer(spend.cached ? 1 : 0),
            ])
        // Counted in the day's total only if it was not recorded before (a retry).
        guard try t.rows("SELECT changes()").first?[0]?.number == 1 else { return .settled }
        try t.rows(
            """
            INSERT INTO spend_daily (key_id, day, month, usd) VALUES (?1, ?2, ?3, ?4)
            ON CONFLICT (key_id, day) DO UPDATE SET usd = usd + ?4
            """, [.text(spend.key), .text(spend.day), .text(spend.month), .real(spend.usd)])
        if let window = spend.rateWindow, spend.unusedTokens != 0 {
            try t.rows(
                "UPDATE rate SET tokens = MAX(0, tokens - ?3) WHERE key_id = ?1 AND window = ?2",
                [.text(spend.key), .text(window), .integer(Int64(spend.unusedTokens))])
        }
        return .settled
    }

    public func release(_ hold: BudgetHold) async throws(StoreError) {
        try await offPool { [self] () throws(StoreError) -> Void in
            try rows("DELETE FROM holds WHERE id = ?1", [.text(hold.id)])
        }
    }

    public func releaseExpired(now: Date) async throws(StoreError) -> [BudgetHold] {
        try await offPool { [self] () throws(StoreError) -> [BudgetHold] in
            do throws(SQLiteDatabase.Failure) {
                return try db.transaction { t throws(SQLiteDatabase.Failure) -> [BudgetHold] in
                    let rows = try t.rows("SELECT id, key_id, usd FROM holds WHERE expires <= ?1", [.real(now.timeIntervalSince1970)])
                    try t.rows("DELETE FROM holds WHERE expires <= ?1", [.real(now.timeIntervalSince1970)])
                    // Past minutes' request counts are no longer read.
                    try t.rows("DELETE FROM rate WHERE window < ?1", [.text(RateWindow.of(now.addingTimeInterval(-120)))])
                    return rows.compactMap { r in
                        guard let id = r[0]?.text, let key = r[1]?.text, let usd = r[2]?.number else { return nil }
                        return BudgetHold(id: id, key: key, usd: usd)
                    }
                }
            } catch {
                throw StoreError(error.message)
            }
        }
    }

    public func usage(since day: String, key: String?) async throws(StoreError) -> [UsageRow] {
        try await offPool { [self] () throws(StoreError) -> [UsageRow] in
            let rows = try rows(
                """
                SELECT key_id, model, day, COUNT(*), SUM(tokens), SUM(usd), SUM(cached) FROM usage WHERE day >= ?1 AND (?2 = '' OR key_id = ?2)
                GROUP BY key_id, model, day ORDER BY day, key_id, model
                """, [.text(day), .text(key ?? "")])
            return rows.compactMap { r in
                guard let k = r[0]?.text, let m = r[1]?.text, let d = r[2]?.text, let n = r[3]?.number, let t = r[4]?.number, let u = r[5]?.number
                else { return nil }
                return UsageRow(key: k, model: m, day: d, requests: Int(n), tokens: Int(t), usd: u, cached: Int(r[6]?.number ?? 0))
            }
        }
    }

    public func spent(key: String, day: String, month: String) async throws(StoreError) -> (day: Double, month: Double) {
        try await offPool { [self] () throws(StoreError) -> (day: Double, month: Double) in
            let row = try rows(
                Self.spentSQL,
                [.text(key), .text(day), .text(month)]
            ).first
            return (row?[0]?.number ?? 0, row?[1]?.number ?? 0)
        }
    }

    public func save(_ r: StoredResponse) async throws(StoreError) {
        try await offPool { [self] () throws(StoreError) -> Void in
            try rows("DELETE FROM responses WHERE expires <= ?1", [.real(Date().timeIntervalSince1970)])
            try rows(
                "INSERT INTO responses (id, key_id, object, conversation, expires) VALUES (?1, ?2, ?3, ?4, ?5)",
                [.text(r.id), .text(r.keyID), .text(r.object), .text(r.conversation), .real(r.expires.timeIntervalSince1970)])
        }
    }

    public func storedResponse(id: String, keyID: String, now: Date) async throws(StoreError) -> StoredResponse? {
        try await offPool { [self] () throws(StoreError) -> StoredResponse? in
            let row = try rows(
                "SELECT object, conversation, expires FROM responses WHERE id = ?1 AND key_id = ?2 AND expires > ?3",
                [.text(id), .text(keyID), .real(now.timeIntervalSince1970)]
            ).first
            guard let row, let object = row[0]?.text, let conversation = row[1]?.text, let expires = row[2]?.number else { return nil }
            return StoredResponse(id: id, keyID: keyID, object: object, conversation: conversation, expires: Date(timeIntervalSince1970: expires))
        }
    }

    public func deleteResponse(id: String, keyID: String) async throws(StoreError) -> Bool {
        try await offPool { [self] () throws(StoreError) -> Bool in
            // A read, then the delete: RETURNING needs SQLite 3.35, which some supported systems lack.
            let found = try rows("SELECT 1 FROM responses WHERE id = ?1 AND key_id = ?2", [.text(id), .text(keyID)])
            try rows("DELETE FROM responses WHERE id = ?1 AND key_id = ?2", [.text(id), .text(keyID)])
            return !found.isEmpty
        }
    }

    public func isReachable() async -> Bool {
        (try? await offPool { [self] () throws(StoreError) -> Void in try rows("SELECT 1") }) != nil
    }

    public func cachedAnswer(key: String, now: Date) async throws(StoreError) -> String? {
        try await offPool { [self] () throws(StoreError) -> String? in
            try rows("SELECT answer FROM answer_cache WHERE key = ?1 AND expires > ?2", [.text(key), .real(now.timeIntervalSince1970)])
                .first?[0]?.text
        }
    }

    public func keepAnswer(key: String, answer: String, expires: Date) async throws(StoreError) {
        try await offPool { [self] () throws(StoreError) -> Void in
            try rows(
                "INSERT OR REPLACE INTO answer_cache (key, answer, expires) VALUES (?1, ?2, ?3)",
                [.text(key), .text(answer), .real(expires.timeIntervalSince1970)])
            // Expired answers are removed now and then, not on every write.
            if Int.random(in: 0..<64) == 0 { try rows("DELETE FROM answer_cache WHERE expires <= ?1", [.real(Date().timeIntervalSince1970)]) }
        }
    }

    @discardableResult
    private func rows(_ sql: String, _ bindings: [SQLiteDatabase.Value] = []) throws(StoreError) -> [[SQLiteDatabase.Value?]] {
        do { return try db.rows(sql, bindings) } catch { throw StoreError(error.message) }
    }
}

// MARK: - Keys

extension SQLiteGatewayStore {
    public func keys() async throws(StoreError) -> [StoredKey] {
        try await offPool { [self] () throws(StoreError) -> [StoredKey] in
            typealias Rows = [[SQLiteDatabase.Value?]]
            let read: (revoked: Rows, secrets: Rows, keys: Rows)
            do throws(SQLiteDatabase.Failure) {
                // One transaction, so that a key and its secrets are read as of one moment.
                read = try db.transaction { t throws(SQLiteDatabase.Failure) -> (Rows, Rows, Rows) in
                    (
                        try t.rows("SELECT key_id FROM revoked"), try t.rows("SELECT hash, key_id, expires FROM key_secrets ORDER BY hash"),
                        try t.rows("SELECT id, definition, config_hash FROM keys ORDER BY id")
                    )
                }
            } catch {
                throw StoreError(error.message)
            }
            let revoked = Set(read.revoked.compactMap { $0[0]?.text })
            var secrets: [String: [KeySecret]] = [:]
            for r in read.secrets {
                guard let hash = r[0]?.text, let id = r[1]?.text else { continue }
                secrets[id, default: []].append(KeySecret(hash: hash, expires: r[2]?.number.map { Date(timeIntervalSince1970: $0) }))
            }
            var out: [StoredKey] = []
            for r in read.keys {
                guard let id = r[0]?.text, let definition = r[1]?.text, let configHash = r[2]?.text else { continue }
                let key = try GatewayKey(id: id, definition: definition)
                out.append(StoredKey(key: key, secrets: secrets[id] ?? [], revoked: revoked.contains(id), fromConfig: !configHash.isEmpty))
            }
            return out
        }
    }

    public func syncConfigKeys(_ keys: [ConfigKey]) async throws(StoreError) {
        try await offPool { [self] () throws(StoreError) -> Void in
            let result: Result<Void, StoreError>
            do throws(SQLiteDatabase.Failure) {
                result = try db.transaction { t throws(SQLiteDatabase.Failure) -> Result<Void, StoreError> in
                    var changed = false
                    for ck in keys {
                        let id = ck.key.id, definition = ck.key.definition
                        let row = try t.rows("SELECT definition, config_hash FROM keys WHERE id = ?1", [.text(id)]).first
                        guard let row else {
                            try t.rows(
                                "INSERT INTO keys (id, definition, config_hash, created) VALUES (?1, ?2, ?3, ?4)",
                                [.text(id), .text(definition), .text(ck.hash), .real(Date().timeIntervalSince1970)])
                            try t.rows(
                                "INSERT OR REPLACE INTO key_secrets (hash, key_id, expires) VALUES (?1, ?2, NULL)", [.text(ck.hash), .text(id)])
                            changed = true
                            continue
                        }
                        let configHash = row[1]?.text ?? ""
                        if configHash.isEmpty { return .failure(KeyRules.takenByCreate(id)) }
                        if row[0]?.text != definition {
                            try t.rows("UPDATE keys SET definition = ?2 WHERE id = ?1", [.text(id), .text(definition)])
                            changed = true
                        }
                        if configHash != ck.hash {
                            // The config's hash was changed: the new one replaces the old.
                            try t.rows("DELETE FROM key_secrets WHERE hash = ?1", [.text(configHash)])
                            try t.rows(
                                "INSERT OR REPLACE INTO key_secrets (hash, key_id, expires) VALUES (?1, ?2, NULL)", [.text(ck.hash), .text(id)])
                            try t.rows("UPDATE keys SET config_hash = ?2 WHERE id = ?1", [.text(id), .text(ck.hash)])
                            changed = true
                        }
                    }
                    let configured = Set(keys.map(\.key.id))
                    for r in try t.rows("SELECT id FROM keys WHERE config_hash != ''") {
                        guard let id = r[0]?.text, !configured.contains(id) else { continue }
                        try t.rows("DELETE FROM key_secrets WHERE key_id = ?1", [.text(id)])
                        try t.rows("DELETE FROM keys WHERE id = ?1", [.text(id)])
                        changed = true
                    }
                    if changed { try t.rows("UPDATE keys_version SET version = version + 1") }
                    return .success(())
                }
            } catch {
                throw StoreError(error.message)
            }
            try result.get()
        }
    }

    public func createKey(_ key: GatewayKey, hash: String) async throws(StoreError) -> Bool {
        try await offPool { [self] () throws(StoreError) -> Bool in
            do throws(SQLiteDatabase.Failure) {
                return try db.transaction { t throws(SQLiteDatabase.Failure) -> Bool in
                    guard try t.rows("SELECT 1 FROM keys WHERE id = ?1", [.text(key.id)]).isEmpty else { return false }
                    try t.rows(
                        "INSERT INTO keys (id, definition, config_hash, created) VALUES (?1, ?2, '', ?3)",
                        [.text(key.id), .text(key.definition), .real(Date().timeIntervalSince1970)])
                    try t.rows("INSERT INTO key_secrets (hash, key_id, expires) VALUES (?1, ?2, NULL)", [.text(hash), .text(key.id)])
                    try t.rows("UPDATE keys_version SET version = version + 1")
                    return true
                }
            } catch {
                throw StoreError(error.message)
            }
        }
    }

    public func rotateKey(id: String, hash: String, overlapEnds: Date) async throws(StoreError) -> Bool {
        try await offPool { [self] () throws(StoreError) -> Bool in
            do throws(SQLiteDatabase.Failure) {
                return try db.transaction { t throws(SQLiteDatabase.Failure) -> Bool in
                    guard !(try t.rows("SELECT 1 FROM keys WHERE id = ?1", [.text(id)])).isEmpty else { return false }
                    let end = overlapEnds.timeIntervalSince1970
                    try t.rows(
                        "UPDATE key_secrets SET expires = MIN(COALESCE(expires, ?2), ?2) WHERE key_id = ?1", [.text(id), .real(end)])
                    try t.rows("INSERT INTO key_secrets (hash, key_id, expires) VALUES (?1, ?2, NULL)", [.text(hash), .text(id)])
                    try t.rows("UPDATE keys_version SET version = version + 1")
                    return true
                }
            } catch {
                throw StoreError(error.message)
            }
        }
    }

    public func revoke(key: String) async throws(StoreError) -> Bool {
        try await offPool { [self] () throws(StoreError) -> Bool in
            do throws(SQLiteDatabase.Failure) {
                return try db.transaction { t throws(SQLiteDatabase.Failure) -> Bool in
                    guard !(try t.rows("SELECT 1 FROM keys WHERE id = ?1", [.text(key)])).isEmpty else { return false }
                    try t.rows("INSERT OR REPLACE INTO revoked (key_id, at) VALUES (?1, ?2)", [.text(key), .real(Date().timeIntervalSince1970)])
                    try t.rows("UPDATE keys_version SET version = version + 1")
                    return true
                }
            } catch {
                throw StoreError(error.message)
            }
        }
    }

    /// Polls `PRAGMA data_version` every 250 ms — it changes when another connection commits to
    /// the file, at the cost of no disk read — and then the keys' version, so that spend written
    /// by other processes does not reload the keys.
    public func watchKeys(_ changed: @escaping @Sendable () async -> Void) async {
        // Read on the store's thread, as every SQLite call is: never on an event loop.
        let version: @Sendable () throws(StoreError) -> (data: Double, keys: Double)? = { [db] in
            guard let data = try? db.rows("PRAGMA data_version").first?[0]?.number else { return nil }
            return (data, (try? db.rows("SELECT version FROM keys_version").first?[0]?.number) ?? 0)
        }
        var last = try? await offPool(version)
        await changed()
        while (try? await Task.sleep(for: .milliseconds(250))) != nil {
            guard let now = try? await offPool(version), now.data != last?.data else { continue }
            if now.keys != last?.keys { await changed() }
            last = now
        }
    }
}

/// Rules both stores apply to keys.
enum KeyRules {
    static func takenByCreate(_ id: String) -> StoreError {
        StoreError(
            "the config's key '\(id)' has the id of a key made with `prellm keys create`; rename one of them (a key is defined in the config or in the store, not both)"
        )
    }
}

/// A requests-per-minute window: the UTC minute, as text that sorts in time order.
public enum RateWindow {
    public static func of(_ date: Date) -> String {
        let t = UTCTime(date)
        return UsagePeriod.of(date).day + "T" + UTCTime.digits(t.hour, 2) + ":" + UTCTime.digits(t.minute, 2)
    }

    /// Seconds left in the minute `date` is in.
    public static func secondsLeft(_ date: Date) -> Int {
        60 - Int(date.timeIntervalSince1970.truncatingRemainder(dividingBy: 60))
    }
}

/// The budget rule both stores apply: spend, what others hold, and this request's worst cost
/// must fit each budget given.
enum Budgets {
    static func fit(_ ask: BudgetAsk, daySpent: Double, monthSpent: Double, held: Double) -> Bool {
        (ask.dayLimit.map { daySpent + held + ask.usd <= withSlack($0) } ?? true)
            && (ask.monthLimit.map { monthSpent + held + ask.usd <= withSlack($0) } ?? true)
    }

    /// A limit as the stores compare it: sums of doubles drift by ulps (a hundred $0.01 holds
    /// add up to a hair over $1.00), and a budget that fits a hundred such requests must admit
    /// the hundredth. A billionth of a dollar is far below anything billed.
    static func withSlack(_ limit: Double) -> Double { limit + 1e-9 }
}

extension SQLiteGatewayStore.Pending {
    /// Answers the waiting task (an admission's answer to an admission, a settlement's to a
    /// settlement: `write` gives each its own kind).
    func resume(_ result: Result<SQLiteGatewayStore.Answer, StoreError>) {
        switch self {
        case .admit(_, _, let c):
            c.resume(
                returning: result.map { a in
                    guard case .admission(let admission) = a else { preconditionFailure("an admission answered as a settlement") }
                    return admission
                })
        case .settle(_, _, let c): c.resume(returning: result.map { _ in () })
        }
    }
}
