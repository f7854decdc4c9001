import Foundation
import Logging
import PostgresNIO
import PrellmSchema
import Synchronization

/// The store that gateway replicas share: PostgreSQL through postgres-nio (`store.url`).
///
/// A request's admission is one call of `prellm_admit`, a function the migrations create: it
/// takes the key's advisory lock, sums the key's daily spend totals and live holds, counts the
/// request in its minute, and inserts the hold only if every budget and limit still holds — one
/// round trip, and no two replicas can interleave inside it (each of its statements reads after
/// the lock is taken). Settling (`prellm_settle_once`) takes the same lock, so an admission never
/// sees a request's cost in neither the holds nor the spend. Admissions and settlements that
/// arrive while others are with the database go together (`PostgresWriteBatcher`).
public final class PostgresGatewayStore: GatewayStore {
    let client: PostgresClient
    private let runner: Task<Void, Never>
    let batcher: PostgresWriteBatcher

    /// The schema's versions. Each is applied in one transaction with its version row, so a
    /// migration either finished or left nothing behind.
    static let migrations: [[String]] = [
        [
            """
            CREATE TABLE prellm_spend (key_id text NOT NULL, request_id text NOT NULL, model text NOT NULL, day text NOT NULL,
              month text NOT NULL, usd double precision NOT NULL, tokens bigint NOT NULL, at timestamptz NOT NULL DEFAULT now())
            """,
            "CREATE INDEX prellm_spend_key_month ON prellm_spend (key_id, month, day)",
            "CREATE TABLE prellm_holds (id text PRIMARY KEY, key_id text NOT NULL, usd double precision NOT NULL, expires timestamptz NOT NULL)",
            "CREATE INDEX prellm_holds_key ON prellm_holds (key_id, expires)",
            "CREATE TABLE prellm_revoked (key_id text PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())",
            """
            CREATE TABLE prellm_responses (id text PRIMARY KEY, key_id text NOT NULL, object text NOT NULL, conversation text NOT NULL,
              expires timestamptz NOT NULL)
            """,
            "CREATE INDEX prellm_responses_expires ON prellm_responses (expires)",
            """
            CREATE FUNCTION prellm_hold(p_key text, p_id text, p_usd double precision, p_day text, p_month text,
              p_day_limit double precision, p_month_limit double precision, p_expires timestamptz)
            RETURNS TABLE (held boolean, day_spent double precision, month_spent double precision, reserved double precision)
            LANGUAGE plpgsql AS $$
            DECLARE d double precision; m double precision; r double precision;
            BEGIN
              PERFORM pg_advisory_xact_lock(hashtextextended('prellm:' || p_key, 0));
              SELECT COALESCE(SUM(CASE WHEN s.day = p_day THEN s.usd END), 0), COALESCE(SUM(s.usd), 0) INTO d, m
                FROM prellm_spend s WHERE s.key_id = p_key AND s.month = p_month;
              SELECT COALESCE(SUM(h.usd), 0) INTO r FROM prellm_holds h WHERE h.key_id = p_key AND h.expires > now();
              IF (p_day_limit IS NULL OR d + r + p_usd <= p_day_limit) AND (p_month_limit IS NULL OR m + r + p_usd <= p_month_limit) THEN
                INSERT INTO prellm_holds (id, key_id, usd, expires) VALUES (p_id, p_key, p_usd, p_expires);
                RETURN QUERY SELECT true, d, m, r;
              ELSE
                RETURN QUERY SELECT false, d, m, r;
              END IF;
            END $$
            """,
            """
            CREATE FUNCTION prellm_settle(p_hold text, p_key text, p_request text, p_model text, p_day text, p_month text,
              p_usd double precision, p_tokens bigint) RETURNS void
            LANGUAGE plpgsql AS $$
            BEGIN
              PERFORM pg_advisory_xact_lock(hashtextextended('prellm:' || p_key, 0));
              IF p_hold IS NOT NULL THEN DELETE FROM prellm_holds WHERE id = p_hold; END IF;
              INSERT INTO prellm_spend (key_id, request_id, model, day, month, usd, tokens)
                VALUES (p_key, p_request, p_model, p_day, p_month, p_usd, p_tokens);
            END $$
            """,
        ],
        [
            // Requests per key and minute: one upsert admits or refuses, exactly, at any number of replicas.
            "CREATE TABLE prellm_rate (key_id text NOT NULL, window_start text NOT NULL, count integer NOT NULL, PRIMARY KEY (key_id, window_start))"
        ],
        [
            // Tokens per key and minute beside the requests: tpm limits shared the same way.
            "ALTER TABLE prellm_rate ADD COLUMN tokens bigint NOT NULL DEFAULT 0",
            // Keys live in the store: their limits and their secrets' hashes (two while a
            // rotation overlaps). Every change is announced on the channel prellm_keys.
            """
            CREATE TABLE prellm_keys (id text PRIMARY KEY, definition text NOT NULL, config_hash text NOT NULL,
              created timestamptz NOT NULL DEFAULT now())
            """,
            "CREATE TABLE prellm_key_secrets (hash text PRIMARY KEY, key_id text NOT NULL, expires timestamptz)",
            "CREATE INDEX prellm_key_secrets_key ON prellm_key_secrets (key_id)",
            // Each request's settlement once, however often it is retried.
            "ALTER TABLE prellm_spend ADD COLUMN settlement text",
            "CREATE UNIQUE INDEX prellm_spend_settlement ON prellm_spend (settlement)",
            // Each key's spend per day, kept by every settlement, so that a hold reads at most 31
            // rows however many requests the month has had (summing the ledger grew with it).
            """
            CREATE TABLE prellm_spend_daily (key_id text NOT NULL, day text NOT NULL, month text NOT NULL, usd double precision NOT NULL,
              PRIMARY KEY (key_id, day))
            """,
            "CREATE INDEX prellm_spend_daily_month ON prellm_spend_daily (key_id, month)",
            "INSERT INTO prellm_spend_daily SELECT key_id, day, month, SUM(usd) FROM prellm_spend GROUP BY key_id, day, month",
            // A request's admission in one call: its budget checked under the key's lock, then its
            // minute counted, then its hold taken — nothing written unless both fit. It does not
            // wait for the WAL flush (settlements do): a crash of the database server loses at
            // most its last ~0.6 s of admissions, and the flush was most of their cost.
            """
            CREATE FUNCTION prellm_admit(p_key text, p_window text, p_rpm bigint, p_tpm bigint, p_tokens bigint, p_hold text,
              p_usd double precision, p_day text, p_month text, p_day_limit double precision, p_month_limit double precision,
              p_expires timestamptz)
            RETURNS TABLE (outcome text, a double precision, b double precision, c double precision)
            LANGUAGE plpgsql AS $$
            DECLARE d double precision; m double precision; r double precision; n bigint;
            BEGIN
              SET LOCAL synchronous_commit = off;
              IF p_hold IS NOT NULL THEN
                PERFORM pg_advisory_xact_lock(hashtextextended('prellm:' || p_key, 0));
                SELECT COALESCE(SUM(CASE WHEN s.day = p_day THEN s.usd END), 0), COALESCE(SUM(s.usd), 0) INTO d, m
                  FROM prellm_spend_daily s WHERE s.key_id = p_key AND s.month = p_month;
                SELECT COALESCE(SUM(h.usd), 0) INTO r FROM prellm_holds h WHERE h.key_id = p_key AND h.expires > now();
                IF NOT ((p_day_limit IS NULL OR d + r + p_usd <= p_day_limit) AND (p_month_limit IS NULL OR m + r + p_usd <= p_month_limit)) THEN
                  RETURN QUERY SELECT 'budget'::text, d, m, r;
                  RETURN;
                END IF;
              END IF;
              IF p_window IS NOT NULL THEN
                INSERT INTO prellm_rate AS x (key_id, window_start, count, tokens) SELECT p_key, p_window, 1, p_tokens
                  WHERE p_rpm IS NULL OR p_rpm > 0
                ON CONFLICT (key_id, window_start) DO UPDATE SET count = x.count + 1, tokens = x.tokens + p_tokens
                  WHERE (p_rpm IS NULL OR x.count < p_rpm) AND (p_tpm IS NULL OR x.tokens = 0 OR x.tokens + p_tokens <= p_tpm)
                RETURNING x.count INTO n;
                IF n IS NULL THEN
                  RETURN QUERY SELECT 'rate'::text, COALESCE(MAX(y.count), 0)::double precision, COALESCE(MAX(y.tokens), 0)::double precision,
                    0::double precision FROM prellm_rate y WHERE y.key_id = p_key AND y.window_start = p_window;
                  RETURN;
                END IF;
              END IF;
              IF p_hold IS NOT NULL THEN
                INSERT INTO prellm_holds (id, key_id, usd, expires) VALUES (p_hold, p_key, p_usd, p_expires);
              END IF;
              RETURN QUERY SELECT 'admitted'::text, 0::double precision, 0::double precision, 0::double precision;
            END $$
            """,
            """
            CREATE FUNCTION prellm_settle_once(p_settlement text, p_hold text, p_key text, p_request text, p_model text,
              p_day text, p_month text, p_usd double precision, p_tokens bigint, p_window text, p_unused bigint) RETURNS void
            LANGUAGE plpgsql AS $$
            DECLARE n integer;
            BEGIN
              PERFORM pg_advisory_xact_lock(hashtextextended('prellm:' || p_key, 0));
              IF p_hold IS NOT NULL THEN DELETE FROM prellm_holds WHERE id = p_hold; END IF;
              INSERT INTO prellm_spend (key_id, request_id, model, day, month, usd, tokens, settlement)
                VALUES (p_key, p_request, p_model, p_day, p_month, p_usd, p_tokens, p_settlement)
                ON CONFLICT (settlement) DO NOTHING;
              GET DIAGNOSTICS n = ROW_COUNT;
              IF n > 0 THEN
                INSERT INTO prellm_spend_daily AS t (key_id, day, month, usd) VALUES (p_key, p_day, p_month, p_usd)
                  ON CONFLICT (key_id, day) DO UPDATE SET usd = t.usd + EXCLUDED.usd;
                IF p_window IS NOT NULL AND p_unused <> 0 THEN
                  UPDATE prellm_rate SET tokens = GREATEST(0, tokens - p_unused) WHERE key_id = p_key AND window_start = p_window;
                END IF;
              END IF;
            END $$
            """,
            // Replicas of the previous version still running during a deploy hold and settle
            // through the first version's functions: they now read and keep the daily totals too,
            // so that their requests count against budgets like everyone else's.
            """
            CREATE OR REPLACE FUNCTION prellm_hold(p_key text, p_id text, p_usd double precision, p_day text, p_month text,
              p_day_limit double precision, p_month_limit double precision, p_expires timestamptz)
            RETURNS TABLE (held boolean, day_spent double precision, month_spent double precision, reserved double precision)
            LANGUAGE sql AS $$
              SELECT outcome = 'admitted', a, b, c FROM prellm_admit(p_key, NULL, NULL, NULL, 0, p_id, p_usd, p_day, p_month,
                p_day_limit, p_month_limit, p_expires)
            $$
            """,
            """
            CREATE OR REPLACE FUNCTION prellm_settle(p_hold text, p_key text, p_request text, p_model text, p_day text, p_month text,
              p_usd double precision, p_tokens bigint) RETURNS void
            LANGUAGE sql AS $$
              SELECT prellm_settle_once(gen_random_uuid()::text, p_hold, p_key, p_request, p_model, p_day, p_month, p_usd, p_tokens,
                NULL, 0)
            $$
            """,
        ],
        [
            // Several admissions and settlements in one call and one transaction (a group
            // commit): the keys' locks are all taken first, in the order of their ids so that two
            // replicas' batches cannot deadlock; then settlements before admissions, each kind in
            // arrival order; and the commit waits for the WAL flush once. No write has a
            // subtransaction of its own: past 64 in one transaction every other session's
            // snapshots slow down (the subtransaction cache overflows). A batch refused for one
            // write (`retriedAlone(after:)`) is written again one write at a time, so that a bad
            // write fails only itself. Answers carry the write's place in the array.
            """
            CREATE FUNCTION prellm_batch(p_writes jsonb)
            RETURNS TABLE (i integer, outcome text, a double precision, b double precision, c double precision)
            LANGUAGE plpgsql AS $$
            DECLARE w jsonb; n integer; flush boolean := false; sync text := current_setting('synchronous_commit');
            BEGIN
              -- Every key's lock first, in one global order: a rate-only admission takes no
              -- lock of its own, and its minute's row must not be where two batches cross.
              PERFORM pg_advisory_xact_lock(h) FROM (SELECT DISTINCT hashtextextended('prellm:' || (e.v->>'key'), 0) AS h
                FROM jsonb_array_elements(p_writes) AS e(v) ORDER BY 1) AS locks;
              FOR w, n IN SELECT e.v, e.o::integer FROM jsonb_array_elements(p_writes) WITH ORDINALITY AS e(v, o)
                ORDER BY e.v->>'kind' DESC, e.o
              LOOP
                i := n; a := 0; b := 0; c := 0;
                IF w->>'kind' = 'settle' THEN
                  PERFORM prellm_settle_once(w->>'settlement', w->>'hold', w->>'key', w->>'request', w->>'model', w->>'day',
                    w->>'month', (w->>'usd')::double precision, (w->>'tokens')::bigint, w->>'window', (w->>'unused')::bigint);
                  outcome := 'settled';
                  flush := true;
                ELSE
                  SELECT x.outcome, x.a, x.b, x.c INTO outcome, a, b, c FROM prellm_admit(w->>'key', w->>'window', (w->>'rpm')::bigint,
                    (w->>'tpm')::bigint, (w->>'tokens')::bigint, w->>'hold', (w->>'usd')::double precision, w->>'day', w->>'month',
                    (w->>'day_limit')::double precision, (w->>'month_limit')::double precision,
                    to_timestamp((w->>'expires')::double precision)) x;
                END IF;
                RETURN NEXT;
              END LOOP;
              -- prellm_admit turns the flush off for its transaction; settlements wait for it
              -- (as the database's own setting says).
              IF flush THEN PERFORM set_config('synchronous_commit', sync, true); END IF;
            END $$
            """
        ],
        [
            // The answer cache (`cache:` in the config) that replicas share, by the SHA-256 of
            // each answer's key; and in each spend record, whether the cache answered the request.
            "CREATE TABLE prellm_answer_cache (key text PRIMARY KEY, answer text NOT NULL, expires timestamptz NOT NULL)",
            "CREATE INDEX prellm_answer_cache_expires ON prellm_answer_cache (expires)",
            "ALTER TABLE prellm_spend ADD COLUMN cached boolean NOT NULL DEFAULT false",
        ],
    ]

    init(client: PostgresClient, runner: Task<Void, Never>) {
        self.client = client
        self.runner = runner
        batcher = PostgresWriteBatcher { writes in await Self.write(writes, client) }
    }

    deinit { runner.cancel() }

    /// Connects to `url` (`postgres://user[:password]@host[:port]/database`) and migrates the
    /// schema; refuses a database a newer prellm has migrated further.
    public static func connect(_ url: String) async throws(StoreError) -> PostgresGatewayStore {
        let configuration = try configuration(url)
        let client = PostgresClient(configuration: configuration, backgroundLogger: Logger(label: "prellm.store.postgres"))
        let runner = Task { await client.run() }
        let store = PostgresGatewayStore(client: client, runner: runner)
        try await store.migrate()
        return store
    }

    static func configuration(_ url: String) throws(StoreError) -> PostgresClient.Configuration {
        guard let u = URLComponents(string: url), u.scheme == "postgres" || u.scheme == "postgresql", let host = u.host, !host.isEmpty,
            let user = u.user, !user.isEmpty
        else {
            throw StoreError("store.url must be postgres://user[:password]@host[:port]/database")
        }
        let database = u.path.hasPrefix("/") ? String(u.path.dropFirst()) : u.path
        let sslmode = u.queryItems?.first { $0.name == "sslmode" }?.value ?? "prefer"
        let tls: PostgresClient.Configuration.TLS =
            switch sslmode {
            case "disable": .disable
            case "require", "verify-full", "verify-ca": .require(.makeClientConfiguration())
            default: .prefer(.makeClientConfiguration())
            }
        var c = PostgresClient.Configuration(
            host: host, port: u.port ?? 5432, username: user, password: u.password, database: database.isEmpty ? nil : database, tls: tls)
        c.options.connectTimeout = .seconds(3)
        return c
    }

    /// The migrations this database lacks, each in one transaction.
    func migrate() async throws(StoreError) {
        let client = self.client
        try await Self.bounded(Self.startDeadline) {
            try await client.withTransaction(logger: Self.logger) { connection in try await Self.migrate(connection) }
        }
    }

    static func migrate(_ connection: PostgresConnection) async throws {
        // Read committed whatever the database's default: under repeatable read the snapshot
        // would be taken before the lock is granted, and a replica that waited would not see
        // the schema the other one just migrated.
        try await connection.query("SET TRANSACTION ISOLATION LEVEL READ COMMITTED", logger: Self.logger)
        // Replicas starting at once on a new database: the lock makes one migrate and the others
        // find it done. It comes before the version table is created, because two concurrent
        // CREATE TABLE IF NOT EXISTS can both pass the check and one then fails.
        try await connection.query("SELECT pg_advisory_xact_lock(7208554001)", logger: Self.logger)
        try await connection.query("CREATE TABLE IF NOT EXISTS prellm_schema (version integer NOT NULL)", logger: Self.logger)
        let rows = try await connection.query("SELECT version FROM prellm_schema", logger: Self.logger)
        var version = 0
        var seen = false
        for try await v in rows.decode(Int.self) {
            version = v
            seen = true
        }
        if !seen { try await connection.query("INSERT INTO prellm_schema (version) VALUES (0)", logger: Self.logger) }
        guard version <= Self.migrations.count else {
            throw StoreError(
                "the database has prellm schema version \(version), newer than this prellm knows (\(Self.migrations.count)); run the newer prellm")
        }
        for (i, statements) in Self.migrations.enumerated() where i >= version {
            for sql in statements { try await connection.query(PostgresQuery(unsafeSQL: sql), logger: Self.logger) }
            try await connection.query("UPDATE prellm_schema SET version = \(i + 1)", logger: Self.logger)
        }
    }

    static let logger = Logger(label: "prellm.store.postgres")

    public func admit(rate: RateAsk?, budget: BudgetAsk?) async throws(StoreError) -> Admission {
        guard case .admission(let a) = try await batcher.submit(.admit(rate, budget)).get() else {
            throw StoreError("an admission was answered as a settlement")
        }
        return a
    }

    public func settle(_ hold: BudgetHold?, _ s: SpendRecord) async throws(StoreError) {
        _ = try await batcher.submit(.settle(hold, s)).get()
        // Marked after the settlement, not in it: the batched settlement functions stay as they
        // are, and a crash between the two loses only the mark (the request cost nothing).
        if s.cached { try await run("UPDATE prellm_spend SET cached = true WHERE settlement = \(s.settlement)") }
    }

    public func cachedAnswer(key: String, now: Date) async throws(StoreError) -> String? {
        try await fetch("SELECT answer FROM prellm_answer_cache WHERE key = \(key) AND expires > \(now)", String.self).first
    }

    public func keepAnswer(key: String, answer: String, expires: Date) async throws(StoreError) {
        try await run(
            """
            INSERT INTO prellm_answer_cache (key, answer, expires) VALUES (\(key), \(answer), \(expires))
              ON CONFLICT (key) DO UPDATE SET answer = EXCLUDED.answer, expires = EXCLUDED.expires
            """)
        if Int.random(in: 0..<64) == 0 { try await run("DELETE FROM prellm_answer_cache WHERE expires <= now()") }
    }

    /// Writes what the batcher gives: one write as its own statement, several as one call of
    /// `prellm_batch`; each is answered on its own.
    static func write(_ writes: [PostgresWriteBatcher.Write], _ client: PostgresClient) async -> [Result<PostgresWriteBatcher.Answer, StoreError>] {
        guard writes.count > 1 else { return await writeEachAlone(writes, client) }
        let call: BatchCall
        do { call = try await callBatch(writes, client) } catch {
            // The call may or may not have landed (a connection lost, the deadline): written
            // again, admissions would count twice. Each caller decides, as for a write alone.
            return writes.map { _ in .failure(error) }
        }
        guard case .answered(let rows) = call else {
            // The database refused the batch, so none of it landed: one bad write fails alone.
            return await writeEachAlone(writes, client)
        }
        var answers = writes.map { _ in Result<PostgresWriteBatcher.Answer, StoreError>.failure(StoreError("prellm_batch did not answer a write")) }
        for (i, outcome, a, b, c) in rows where writes.indices.contains(i - 1) {
            guard case .admit(_, let budget) = writes[i - 1] else {
                answers[i - 1] = .success(.settled)
                continue
            }
            answers[i - 1] = .success(.admission(Self.admission(outcome, a, b, c, budget: budget)))
        }
        return answers
    }

    /// Each write as its own statement, one after another.
    static func writeEachAlone(
        _ writes: [PostgresWriteBatcher.Write], _ client: PostgresClient
    ) async -> [Result<PostgresWriteBatcher.Answer, StoreError>] {
        var answers: [Result<PostgresWriteBatcher.Answer, StoreError>] = []
        for write in writes {
            do {
                switch write {
                case .admit(let rate, let budget): answers.append(.success(.admission(try await admitAlone(rate: rate, budget: budget, client))))
                case .settle(let hold, let spend):
                    try await settleAlone(hold, spend, client)
                    answers.append(.success(.settled))
                }
            } catch {
                answers.append(.failure(error))
            }
        }
        return answers
    }

    /// One call of `prellm_batch`, within the statement deadline.
    static func callBatch(_ writes: [PostgresWriteBatcher.Write], _ client: PostgresClient) async throws(StoreError) -> BatchCall {
        let batch = JSONValue.array(writes.map(\.json)).jsonText
        return try await bounded(deadline) { () async throws -> BatchCall in
            do {
                var rows: [(Int, String, Double, Double, Double)] = []
                let q: PostgresQuery = "SELECT i, outcome, a, b, c FROM prellm_batch(\(batch)::jsonb)"
                for try await row in try await client.query(q, logger: logger).decode((Int, String, Double, Double, Double).self) {
                    rows.append(row)
                }
                return .answered(rows)
            } catch let e as PSQLError where e.serverInfo.flatMap({ $0[.sqlState] }).map(Self.retriedAlone(after:)) == true {
                return .refused
            }
        }
    }

    /// Whether a batch that failed with `sqlState` is written again one write at a time: when
    /// one write's data or a constraint failed it (classes 22, 23), or it lost a deadlock or
    /// serialization race (40). Either way the transaction rolled back, so nothing of it
    /// landed. Any other error (a cancelled statement, a server starting or out of
    /// connections) would fail each write again: each fails at once instead.
    static func retriedAlone(after sqlState: String) -> Bool {
        sqlState.hasPrefix("22") || sqlState.hasPrefix("23") || sqlState.hasPrefix("40")
    }

    /// How the database took a batch: answered every write, or refused the call (an error in
    /// one write aborts the transaction, so nothing of it was written).
    enum BatchCall: Sendable {
        case answered([(Int, String, Double, Double, Double)])
        case refused
    }

    static func admission(_ outcome: String, _ a: Double, _ b: Double, _ c: Double, budget: BudgetAsk?) -> Admission {
        switch outcome {
        case "admitted": .admitted(budget.map { BudgetHold(id: $0.id, key: $0.key, usd: $0.usd) })
        case "rate": .overRate(requests: Int(a), tokens: Int(b))
        default: .overBudget(daySpent: a, monthSpent: b, held: c)
        }
    }

    static func admitAlone(rate: RateAsk?, budget: BudgetAsk?, _ client: PostgresClient) async throws(StoreError) -> Admission {
        let key = rate?.key ?? budget?.key ?? ""
        let rows = try await fetch(
            """
            SELECT outcome, a, b, c FROM prellm_admit(\(key), \(rate?.window), \(rate?.rpm.map(Int64.init)), \(rate?.tpm.map(Int64.init)),
              \(Int64(rate?.tokens ?? 0)), \(budget?.id), \(budget?.usd), \(budget?.day), \(budget?.month),
              \(budget?.dayLimit.map(Budgets.withSlack)), \(budget?.monthLimit.map(Budgets.withSlack)), \(budget?.expires))
            """, (String, Double, Double, Double).self, client)
        guard let (outcome, a, b, c) = rows.first else { throw StoreError("prellm_admit returned no row") }
        return Self.admission(outcome, a, b, c, budget: budget)
    }

    static func settleAlone(_ hold: BudgetHold?, _ s: SpendRecord, _ client: PostgresClient) async throws(StoreError) {
        try await run(
            """
            SELECT prellm_settle_once(\(s.settlement), \(hold?.id), \(s.key), \(s.requestID), \(s.model), \(s.day), \(s.month), \(s.usd),
              \(Int64(s.tokens)), \(s.rateWindow), \(Int64(s.unusedTokens)))
            """, client)
    }

    public func release(_ hold: BudgetHold) async throws(StoreError) {
        try await run("DELETE FROM prellm_holds WHERE id = \(hold.id)")
    }

    public func releaseExpired(now: Date) async throws(StoreError) -> [BudgetHold] {
        // Past minutes' request counts are no longer read.
        // Rows a batch has locked are left for the next sweep (SKIP LOCKED): a sweep that
        // waited for them while holding others could close a cycle with that batch.
        let stale = RateWindow.of(now.addingTimeInterval(-120))
        try await run(
            """
            DELETE FROM prellm_rate WHERE (key_id, window_start) IN
              (SELECT key_id, window_start FROM prellm_rate WHERE window_start < \(stale) FOR UPDATE SKIP LOCKED)
            """)
        let rows = try await fetch(
            """
            DELETE FROM prellm_holds WHERE id IN (SELECT id FROM prellm_holds WHERE expires <= \(now) FOR UPDATE SKIP LOCKED)
              RETURNING id, key_id, usd
            """, (String, String, Double).self)
        return rows.map { BudgetHold(id: $0.0, key: $0.1, usd: $0.2) }
    }

    public func usage(since day: String, key: String?) async throws(StoreError) -> [UsageRow] {
        let rows = try await fetch(
            """
            SELECT key_id, model, day, COUNT(*)::bigint, SUM(tokens)::bigint, SUM(usd), COUNT(*) FILTER (WHERE cached)::bigint
              FROM prellm_spend WHERE day >= \(day) AND (\(key ?? "") = '' OR key_id = \(key ?? ""))
              GROUP BY key_id, model, day ORDER BY day, key_id, model
            """, (String, String, String, Int64, Int64, Double, Int64).self)
        return rows.map {
            UsageRow(key: $0.0, model: $0.1, day: $0.2, requests: Int($0.3), tokens: Int($0.4), usd: $0.5, cached: Int($0.6))
        }
    }

    public func spent(key: String, day: String, month: String) async throws(StoreError) -> (day: Double, month: Double) {
        let rows = try await fetch(
            """
            SELECT COALESCE(SUM(CASE WHEN day = \(day) THEN usd END), 0), COALESCE(SUM(usd), 0)
              FROM prellm_spend_daily WHERE key_id = \(key) AND month = \(month)
            """, (Double, Double).self)
        return rows.first.map { (day: $0.0, month: $0.1) } ?? (day: 0, month: 0)
    }

    public func isReachable() async -> Bool {
        (try? await run("SELECT 1")) != nil
    }

    public func save(_ r: StoredResponse) async throws(StoreError) {
        try await run("DELETE FROM prellm_responses WHERE expires <= now()")
        try await run(
            """
            INSERT INTO prellm_responses (id, key_id, object, conversation, expires)
              VALUES (\(r.id), \(r.keyID), \(r.object), \(r.conversation), \(r.expires))
            """)
    }

    public func storedResponse(id: String, keyID: String, now: Date) async throws(StoreError) -> StoredResponse? {
        let rows = try await fetch(
            "SELECT object, conversation, expires FROM prellm_responses WHERE id = \(id) AND key_id = \(keyID) AND expires > \(now)",
            (String, String, Date).self)
        return rows.first.map {
            StoredResponse(id: id, keyID: keyID, object: $0.0, conversation: $0.1, expires: $0.2)
        }
    }

    public func deleteResponse(id: String, keyID: String) async throws(StoreError) -> Bool {
        let rows = try await fetch("DELETE FROM prellm_responses WHERE id = \(id) AND key_id = \(keyID) RETURNING id", String.self)
        return !rows.isEmpty
    }

    // MARK: - Plumbing

    /// How long a statement may wait for the database: past it the request fails with a 503
    /// rather than hang while the pool reconnects. Starting (the first connection, the
    /// migrations) may take longer on a loaded machine.
    static let deadline: Duration = .seconds(5)
    static let startDeadline: Duration = .seconds(30)

    /// The rows of `q`, read to the end within the deadline (a connection lost mid-answer must
    /// not leave the caller waiting).
    func fetch<each Column: PostgresDecodable & Sendable>(
        _ q: PostgresQuery, _ types: (repeat each Column).Type
    ) async throws(StoreError) -> [(repeat each Column)] {
        try await Self.fetch(q, types, client)
    }

    static func fetch<each Column: PostgresDecodable & Sendable>(
        _ q: PostgresQuery, _ types: (repeat each Column).Type, _ client: PostgresClient
    ) async throws(StoreError) -> [(repeat each Column)] {
        try await bounded(deadline) {
            var out: [(repeat each Column)] = []
            for try await row in try await client.query(q, logger: Self.logger).decode(types) { out.append(row) }
            return out
        }
    }

    func run(_ q: PostgresQuery, deadline: Duration = deadline) async throws(StoreError) {
        try await Self.run(q, deadline: deadline, client)
    }

    static func run(_ q: PostgresQuery, deadline: Duration = deadline, _ client: PostgresClient) async throws(StoreError) {
        try await bounded(deadline) {
            let rows = try await client.query(q, logger: Self.logger)
            for try await _ in rows {}
        }
    }

    /// `operation`, or a StoreError once the deadline passes. The caller is answered at the
    /// deadline even if the operation does not heed its cancellation (a lease waiting on a pool
    /// that is reconnecting): a task group would wait for it.
    static func bounded<T: Sendable>(_ deadline: Duration, _ operation: @escaping @Sendable () async throws -> T) async throws(StoreError) -> T {
        let race = DeadlineRace<T>()
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in race.start(continuation, deadline: deadline, operation) }
        } onCancel: {
            race.cancel()
        }
        switch result {
        case .success(let value): return value
        case .failure(let error as StoreError): throw error
        case .failure(let error): throw failure(error)
        }
    }

    /// `body` in one transaction, bounded like a statement.
    func transaction<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws(StoreError) -> T {
        let client = self.client
        return try await Self.bounded(Self.deadline) {
            try await client.withTransaction(logger: Self.logger) { connection in try await body(connection) }
        }
    }

    /// A database error as one line: PostgreSQL's own message where there is one, never the
    /// connection string (it may hold a password).
    static func failure(_ error: any Error) -> StoreError {
        if let e = error as? StoreError { return e }
        if let t = error as? PostgresTransactionError, let cause = t.closureError ?? t.beginError ?? t.commitError {
            return failure(cause)
        }
        if let e = error as? PSQLError {
            if let message = e.serverInfo?[.message] { return StoreError("PostgreSQL: \(message)") }
            return StoreError("PostgreSQL: \(e.code)")
        }
        return StoreError("PostgreSQL: \(error)")
    }
}

// MARK: - Keys

extension PostgresGatewayStore {
    public func keys() async throws(StoreError) -> [StoredKey] {
        typealias Read = (revoked: [String], secrets: [(String, String, Date?)], keys: [(String, String, String)])
        let read: Read = try await transaction { c in
            // REPEATABLE READ: a key and its secrets as of one moment.
            try await c.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", logger: Self.logger)
            var revoked: [String] = [], secrets: [(String, String, Date?)] = [], keys: [(String, String, String)] = []
            for try await id in try await c.query("SELECT key_id FROM prellm_revoked", logger: Self.logger).decode(String.self) {
                revoked.append(id)
            }
            let s = try await c.query("SELECT hash, key_id, expires FROM prellm_key_secrets ORDER BY hash", logger: Self.logger)
            for try await row in s.decode((String, String, Date?).self) { secrets.append(row) }
            let k = try await c.query("SELECT id, definition, config_hash FROM prellm_keys ORDER BY id", logger: Self.logger)
            for try await row in k.decode((String, String, String).self) { keys.append(row) }
            return (revoked, secrets, keys)
        }
        let revoked = Set(read.revoked)
        let secrets = Dictionary(grouping: read.secrets, by: \.1).mapValues { $0.map { KeySecret(hash: $0.0, expires: $0.2) } }
        var out: [StoredKey] = []
        for (id, definition, configHash) in read.keys {
            out.append(
                StoredKey(
                    key: try GatewayKey(id: id, definition: definition), secrets: secrets[id] ?? [], revoked: revoked.contains(id),
                    fromConfig: !configHash.isEmpty))
        }
        return out
    }

    public func syncConfigKeys(_ keys: [ConfigKey]) async throws(StoreError) {
        try await transaction { c in
            // Replicas starting at once load the config one after another.
            try await c.query("SELECT pg_advisory_xact_lock(7208554002)", logger: Self.logger)
            var changed = false
            for ck in keys {
                let id = ck.key.id, definition = ck.key.definition, hash = ck.hash
                var row: (String, String)?
                let found = try await c.query("SELECT definition, config_hash FROM prellm_keys WHERE id = \(id)", logger: Self.logger)
                for try await r in found.decode((String, String).self) { row = r }
                guard let row else {
                    try await c.query(
                        "INSERT INTO prellm_keys (id, definition, config_hash) VALUES (\(id), \(definition), \(hash))", logger: Self.logger)
                    try await Self.addSecret(c, hash: hash, key: id)
                    changed = true
                    continue
                }
                if row.1.isEmpty { throw KeyRules.takenByCreate(id) }
                if row.0 != definition {
                    try await c.query("UPDATE prellm_keys SET definition = \(definition) WHERE id = \(id)", logger: Self.logger)
                    changed = true
                }
                if row.1 != hash {
                    // The config's hash was changed: the new one replaces the old.
                    try await c.query("DELETE FROM prellm_key_secrets WHERE hash = \(row.1)", logger: Self.logger)
                    try await Self.addSecret(c, hash: hash, key: id)
                    try await c.query("UPDATE prellm_keys SET config_hash = \(hash) WHERE id = \(id)", logger: Self.logger)
                    changed = true
                }
            }
            let configured = keys.map(\.key.id)
            let gone = try await c.query(
                "DELETE FROM prellm_keys WHERE config_hash <> '' AND NOT (id = ANY(\(configured))) RETURNING id", logger: Self.logger)
            for try await id in gone.decode(String.self) {
                try await c.query("DELETE FROM prellm_key_secrets WHERE key_id = \(id)", logger: Self.logger)
                changed = true
            }
            if changed { try await Self.announce(c) }
        }
    }

    public func createKey(_ key: GatewayKey, hash: String) async throws(StoreError) -> Bool {
        try await transaction { c in
            let rows = try await c.query(
                "INSERT INTO prellm_keys (id, definition, config_hash) VALUES (\(key.id), \(key.definition), '') ON CONFLICT (id) DO NOTHING RETURNING id",
                logger: Self.logger)
            var inserted = false
            for try await _ in rows { inserted = true }
            guard inserted else { return false }
            try await Self.addSecret(c, hash: hash, key: key.id)
            try await Self.announce(c)
            return true
        }
    }

    public func rotateKey(id: String, hash: String, overlapEnds: Date) async throws(StoreError) -> Bool {
        try await transaction { c in
            var found = false
            for try await _ in try await c.query("SELECT 1 FROM prellm_keys WHERE id = \(id) FOR UPDATE", logger: Self.logger) { found = true }
            guard found else { return false }
            try await c.query(
                "UPDATE prellm_key_secrets SET expires = LEAST(COALESCE(expires, \(overlapEnds)), \(overlapEnds)) WHERE key_id = \(id)",
                logger: Self.logger)
            try await Self.addSecret(c, hash: hash, key: id)
            try await Self.announce(c)
            return true
        }
    }

    public func revoke(key: String) async throws(StoreError) -> Bool {
        try await transaction { c in
            var found = false
            for try await _ in try await c.query("SELECT 1 FROM prellm_keys WHERE id = \(key)", logger: Self.logger) { found = true }
            guard found else { return false }
            try await c.query("INSERT INTO prellm_revoked (key_id) VALUES (\(key)) ON CONFLICT (key_id) DO NOTHING", logger: Self.logger)
            try await Self.announce(c)
            return true
        }
    }

    static func addSecret(_ c: PostgresConnection, hash: String, key: String) async throws {
        try await c.query(
            """
            INSERT INTO prellm_key_secrets (hash, key_id, expires) VALUES (\(hash), \(key), NULL)
              ON CONFLICT (hash) DO UPDATE SET key_id = EXCLUDED.key_id, expires = NULL
            """, logger: Self.logger)
    }

    /// Tells every replica's watch that the keys changed (delivered when the transaction commits).
    static func announce(_ c: PostgresConnection) async throws {
        try await c.query("NOTIFY prellm_keys", logger: Self.logger)
    }

    /// LISTENs on prellm_keys on a connection of its own, and reloads once each time the LISTEN
    /// is in place (`listen` returns when the server has acknowledged it): a change made before
    /// then — since the caller's load, or while a lost connection was down — sent no
    /// notification this watch could hear.
    public func watchKeys(_ changed: @escaping @Sendable () async -> Void) async {
        while !Task.isCancelled {
            do {
                try await client.withConnection { connection in
                    try await connection.listen(on: "prellm_keys") { notifications in
                        await changed()
                        for try await _ in notifications { await changed() }
                    }
                }
            } catch {
                if Task.isCancelled { return }
            }
            guard (try? await Task.sleep(for: .seconds(1))) != nil else { return }
        }
    }
}

/// An operation raced against a deadline: whichever ends first answers, once; the other is
/// cancelled.
final class DeadlineRace<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<Result<T, any Error>, Never>?
        var work: Task<Void, Never>?
        var timer: Task<Void, Never>?
    }

    private let state = Mutex(State())

    func start(
        _ continuation: CheckedContinuation<Result<T, any Error>, Never>, deadline: Duration,
        _ operation: @escaping @Sendable () async throws -> T
    ) {
        state.withLock { $0.continuation = continuation }
        let work = Task {
            let r: Result<T, any Error>
            do { r = .success(try await operation()) } catch { r = .failure(error) }
            self.finish(r)
        }
        let timer = Task {
            guard (try? await Task.sleep(for: deadline)) != nil else { return }
            self.finish(.failure(StoreError("PostgreSQL did not answer within \(deadline)")))
        }
        // Either may have finished already; then the other is cancelled here.
        let done = state.withLock { s in
            s.work = work
            s.timer = timer
            return s.continuation == nil
        }
        if done {
            work.cancel()
            timer.cancel()
        }
    }

    /// The caller was cancelled: it is answered at once.
    func cancel() { finish(.failure(CancellationError())) }

    private func finish(_ result: Result<T, any Error>) {
        let (continuation, work, timer) = state.withLock { s in
            defer { s.continuation = nil }
            return (s.continuation, s.work, s.timer)
        }
        guard let continuation else { return }
        work?.cancel()
        timer?.cancel()
        continuation.resume(returning: result)
    }
}
