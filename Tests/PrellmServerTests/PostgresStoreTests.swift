import Foundation
import PrellmCLI
import PrellmHTTP
import PrellmSchema
import PrellmServer
import ProviderStandIn
import Synchronization
import Testing

/// The shared store on a real PostgreSQL server that the tests start: its atomic operations,
/// its migrations, and three `prellm serve` replicas holding one key to its budget.
@Suite(.serialized) struct PostgresStoreTests {
    func server() async throws -> PostgresServer? {
        let s = try await PostgresServer.available()
        if s == nil { print(PostgresServer.missing) }
        return s
    }

    @Test func holdsSettlesAndReleasesAtomically() async throws {
        guard let pg = try await server() else { return }
        let store = try await PostgresGatewayStore.connect(try pg.database())
        let (day, month) = UsagePeriod.of(Date())
        func ask(_ id: String, _ usd: Double, expires: Date = Date().addingTimeInterval(60)) -> BudgetAsk {
            BudgetAsk(key: "k", id: id, usd: usd, day: day, month: month, dayLimit: 1.0, monthLimit: nil, expires: expires)
        }
        guard case .admitted(let a?) = try await store.admit(rate: nil, budget: ask("a", 0.6)) else { Issue.record("the first hold fits"); return }
        #expect(try await store.admit(rate: nil, budget: ask("b", 0.5)) == .overBudget(daySpent: 0, monthSpent: 0, held: 0.6))
        try await store.settle(a, SpendRecord(key: "k", requestID: "r1", model: "openai/gpt-4o-mini", day: day, month: month, usd: 0.25, tokens: 10))
        #expect(try await store.spent(key: "k", day: day, month: month) == (day: 0.25, month: 0.25))
        guard case .admitted(_?) = try await store.admit(rate: nil, budget: ask("c", 0.5)) else {
            Issue.record("settled at its real cost, the budget frees up"); return
        }
        // A hold whose request never settles lapses and stops counting.
        guard case .admitted(_?) = try await store.admit(rate: nil, budget: ask("d", 0.2, expires: Date().addingTimeInterval(-1))) else {
            Issue.record("d"); return
        }
        guard case .admitted(_?) = try await store.admit(rate: nil, budget: ask("e", 0.25)) else {
            Issue.record("a lapsed hold does not count"); return
        }
        let released = try await store.releaseExpired(now: Date())
        #expect(released.map(\.id) == ["d"])
        // A key without budgets records its spend all the same.
        try await store.settle(nil, SpendRecord(key: "free", requestID: "r2", model: "m", day: day, month: month, usd: 0.01, tokens: 3))
        #expect(try await store.spent(key: "free", day: day, month: month).day == 0.01)
        #expect(try await store.createKey(GatewayKey(id: "old"), hash: SHA256.hex("pk-old")))
        #expect(try await store.revoke(key: "old"))
        #expect(try await !store.revoke(key: "never"), "only a key that exists is revoked")
        #expect(try await store.keys().map(\.revoked) == [true])
        try await store.save(StoredResponse(id: "resp_1", keyID: "k", object: "{}", conversation: "[]", expires: Date().addingTimeInterval(60)))
        #expect(try await store.storedResponse(id: "resp_1", keyID: "k", now: Date())?.object == "{}")
        #expect(try await store.storedResponse(id: "resp_1", keyID: "x", now: Date()) == nil)
        #expect(try await store.deleteResponse(id: "resp_1", keyID: "k"))
        #expect(await store.isReachable())
    }

    /// Per-minute limits counted by three connections at once: exactly as many requests as fit.
    @Test func rateWindowsAreExactAcrossConnections() async throws {
        guard let pg = try await server() else { return }
        let url = try pg.database()
        var stores: [any GatewayStore] = []
        for _ in 0..<3 { stores.append(try await PostgresGatewayStore.connect(url)) }
        try await RateChecks.exact(stores)
    }

    /// Replicas started together on a new database: one migrates, the others wait for it and
    /// find the schema current (two creating the version table at once failed one of them).
    @Test func replicasStartingTogetherOnANewDatabaseAllStart() async throws {
        guard let pg = try await server() else { return }
        for _ in 0..<3 {
            let url = try pg.database()
            let started = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<4 { group.addTask { await (try PostgresGatewayStore.connect(url)).isReachable() } }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(started == 4)
        }
    }

    @Test func migrationsRunOnceAndANewerSchemaIsRefused() async throws {
        guard let pg = try await server() else { return }
        let url = try pg.database()
        _ = try await PostgresGatewayStore.connect(url)
        let again = try await PostgresGatewayStore.connect(url)
        #expect(await again.isReachable(), "a second start finds the schema current")
        let name = String(url.split(separator: "/").last!.split(separator: "?").first!)
        try PostgresServer.run(
            "\(pg.bin)/psql", ["-h", "127.0.0.1", "-p", "\(pg.port)", "-U", "prellm", "-d", name, "-qc", "UPDATE prellm_schema SET version = 99"])
        // A replica of the previous version, still running during a deploy, holds and settles
        // through the first version's functions: its spend counts in the daily totals as well.
        let (day, month) = UsagePeriod.of(Date())
        func psql(_ sql: String) throws {
            try PostgresServer.run("\(pg.bin)/psql", ["-h", "127.0.0.1", "-p", "\(pg.port)", "-U", "prellm", "-d", name, "-qAtc", sql])
        }
        try psql("SELECT held FROM prellm_hold('legacy', 'h-old', 0.4, '\(day)', '\(month)', 0.5, NULL, now() + interval '1 minute')")
        try psql("SELECT prellm_settle('h-old', 'legacy', 'r-old', 'm', '\(day)', '\(month)', 0.3, 5)")
        #expect(try await again.spent(key: "legacy", day: day, month: month) == (day: 0.3, month: 0.3))
        let ask = BudgetAsk(
            key: "legacy", id: "h-new", usd: 0.3, day: day, month: month, dayLimit: 0.5, monthLimit: nil, expires: Date().addingTimeInterval(60))
        #expect(try await again.admit(rate: nil, budget: ask) == .overBudget(daySpent: 0.3, monthSpent: 0.3, held: 0))
        do {
            _ = try await PostgresGatewayStore.connect(url)
            Issue.record("a schema newer than this prellm knows is refused")
        } catch {
            #expect(error.message.contains("schema version 99, newer than this prellm knows"), "\(error.message)")
        }
    }

    /// Three replicas on one database, 300 concurrent requests spread across them by a key
    /// whose budget affords 10: at most 10 are served (one process per replica would each let
    /// 10 through), the spend is their real cost, nothing stays held.
    @Test func threeReplicasHoldAKeyToItsBudget() async throws {
        guard let pg = try await server() else { return }
        let url = try pg.database()
        // Each answer costs what was held for it: 1,000 output tokens at $0.60 per million is $0.0006,
        // plus the prompt. A budget of $0.0065 affords 10 and not 11.
        let standIn = try ScriptedStandIn(["gpt-4o-mini": [Reply.openAI("ok", promptTokens: 10, completionTokens: 1000)]])
        let key = "pk-replicas-0123456789abcdef"
        var replicas: [ServedGateway] = []
        for _ in 0..<3 {
            replicas.append(
                try await ServedGateway(environment: standIn.environment) { port in
                    """
                    prellm: 1
                    server: {host: 127.0.0.1, port: \(port)}
                    store: {url: "\(url)"}
                    models:
                      fast: {use: openai/gpt-4o-mini, max_tokens: 1000}
                    keys:
                      - {id: team, hash: "sha256:\(SHA256.hex(key))", usd_per_day: 0.0065}
                    """
                })
        }
        defer { for r in replicas { r.stop() } }
        let ports = replicas.map(\.port)
        let statuses = await withTaskGroup(of: Int.self) { group in
            for i in 0..<300 { group.addTask { await Self.post(ports[i % 3], key: key).status } }
            var out: [Int] = []
            for await s in group { out.append(s) }
            return out
        }
        let served = statuses.filter { $0 == 200 }.count
        // At most 10: a request's hold is its worst cost with retries, so while some are in flight
        // fewer fit; each settles at its real cost, and the budget never affords an 11th.
        #expect(served <= 10 && served >= 3, "served \(served); statuses \(Dictionary(grouping: statuses, by: { $0 }).mapValues(\.count))")
        #expect(statuses.filter { $0 == 403 }.count == 300 - served, "every other request is refused by the budget")
        #expect(standIn.requests.count == served, "nothing unpaid reached the upstream")
        let store = try await PostgresGatewayStore.connect(url)
        let (day, month) = UsagePeriod.of(Date())
        let spent = try await store.spent(key: "team", day: day, month: month)
        let each = (10 * 0.15 + 1000 * 0.60) / 1_000_000
        #expect(abs(spent.day - Double(served) * each) < 1e-12, "the spend is the served requests' real cost: \(spent.day)")
        #expect(spent.day <= 0.0065)
        #expect(try await store.releaseExpired(now: .distantFuture).isEmpty, "nothing is left held")
    }
}

extension PostgresStoreTests {
    static func config(port: Int, url: String, key: String, limits: String = "") -> String {
        """
        prellm: 1
        server: {host: 127.0.0.1, port: \(port)}
        store: {url: "\(url)"}
        models:
          fast: {use: openai/gpt-4o-mini, max_tokens: 100}
        keys:
          - {id: team, hash: "sha256:\(SHA256.hex(key))"\(limits)}
        """
    }

    static func post(_ port: Int, key: String) async -> (status: Int, body: String) {
        var request = PrellmHTTP.HTTPRequest(method: "POST", url: "http://127.0.0.1:\(port)/v1/chat/completions")
        request.headers = [("Content-Type", "application/json"), ("Authorization", "Bearer \(key)")]
        request.body = Array(#"{"model": "fast", "messages": [{"role": "user", "content": "Hi"}]}"#.utf8)
        guard let r = try? await PrellmHTTP.HTTPClient.shared.send(request) else { return (-1, "") }
        return (r.head.status, String(decoding: r.body, as: UTF8.self))
    }

    /// An rpm limit of 30 across three replicas: at most 30 admitted in a minute, counted in the
    /// store (one upsert per request), the rest refused with Retry-After.
    @Test func threeReplicasShareOneRateLimit() async throws {
        guard let pg = try await server() else { return }
        let url = try pg.database()
        let standIn = try ScriptedStandIn(["gpt-4o-mini": [Reply.openAI("ok", promptTokens: 10, completionTokens: 10)]])
        let key = "pk-rpm-0123456789abcdef"
        // Not across a minute's end: the count is per minute.
        if RateWindow.secondsLeft(Date()) < 15 { try await Task.sleep(for: .seconds(RateWindow.secondsLeft(Date()) + 1)) }
        var replicas: [ServedGateway] = []
        for _ in 0..<3 {
            replicas.append(
                try await ServedGateway(environment: standIn.environment) { Self.config(port: $0, url: url, key: key, limits: ", rpm: 30") })
        }
        defer { for r in replicas { r.stop() } }
        let ports = replicas.map(\.port)
        let statuses = await withTaskGroup(of: Int.self) { group in
            for i in 0..<90 { group.addTask { await Self.post(ports[i % 3], key: key).status } }
            var out: [Int] = []
            for await s in group { out.append(s) }
            return out
        }
        #expect(statuses.filter { $0 == 200 }.count == 30, "\(Dictionary(grouping: statuses, by: { $0 }).mapValues(\.count))")
        #expect(statuses.filter { $0 == 429 }.count == 60)
    }

    /// A key revoked through the store is refused by every replica at once; a key without
    /// limits still has its spend recorded, which `prellm keys list` reads.
    @Test func aRevocationReachesEveryReplica() async throws {
        guard let pg = try await server() else { return }
        let url = try pg.database()
        let standIn = try ScriptedStandIn(["gpt-4o-mini": [Reply.openAI("ok", promptTokens: 10, completionTokens: 10)]])
        let key = "pk-revoke-0123456789abcdef"
        let a = try await ServedGateway(environment: standIn.environment) { Self.config(port: $0, url: url, key: key) }
        defer { a.stop() }
        let b = try await ServedGateway(environment: standIn.environment) { Self.config(port: $0, url: url, key: key) }
        defer { b.stop() }
        #expect(await Self.post(a.port, key: key).status == 200)
        let configFile = a.dir.appendingPathComponent("prellm.yaml").path
        let spentList = await KeysCommand.list(config: configFile)
        #expect(spentList.stdout.contains("today $\((10 * 0.15 + 10 * 0.60) / 1_000_000)"), "\(spentList.stdout)\(spentList.stderr)")
        let usage = await UsageCommand.run(config: configFile, key: nil, since: nil, by: .model)
        #expect(usage.exitCode == 0, "\(usage.stderr)")
        #expect(usage.stdout.contains("openai/gpt-4o-mini") && usage.stdout.contains("$0.0000075"), "\(usage.stdout)")
        let migrated = await UsageCommand.migrate(config: configFile)
        #expect(migrated.stdout.contains("current schema"), "\(migrated.stderr)")
        // A key made with `prellm keys create` works on every replica within a second.
        let created = await KeysCommand.create(id: "ops", config: configFile, limits: .init(rpm: 100))
        #expect(created.exitCode == 0, "\(created.stderr)")
        let secret = try #require(Self.secret(in: created.stdout))
        for port in [a.port, b.port] {
            #expect(await Self.within(.seconds(1)) { await Self.post(port, key: secret).status == 200 }, "replica \(port) accepts the new key")
        }
        // Rotated without overlap: the new secret works, the old one stops, everywhere.
        let rotated = await KeysCommand.rotate(id: "ops", config: configFile, overlap: "0s")
        let fresh = try #require(Self.secret(in: rotated.stdout), "\(rotated.stderr)")
        for port in [a.port, b.port] {
            #expect(await Self.within(.seconds(1)) { await Self.post(port, key: fresh).status == 200 })
            let old = await Self.post(port, key: secret)
            #expect(old.status == 401 && old.body.contains("was rotated"), "\(old)")
        }
        let revoked = await KeysCommand.revoke(id: "team", config: configFile)
        #expect(revoked.exitCode == 0, "\(revoked.stderr)")
        for port in [a.port, b.port] {
            #expect(await Self.within(.seconds(1)) { await Self.post(port, key: key).status == 401 }, "replica \(port) refuses it")
            #expect(await Self.post(port, key: key).body.contains("has been revoked"))
        }
        let listed = await KeysCommand.list(config: configFile)
        #expect(listed.stdout.contains("team (revoked)  config") && listed.stdout.contains("ops  store  models: all  rpm 100"), "\(listed.stdout)")
    }

    /// Whether `condition` holds within `limit`, tried every 50 ms.
    static func within(_ limit: Duration, _ condition: () async -> Bool) async -> Bool {
        let end = ContinuousClock.now + limit
        while ContinuousClock.now < end {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return await condition()
    }

    /// The secret `prellm keys create` or `rotate` printed.
    static func secret(in output: String) -> String? {
        output.split(separator: "\n").first { $0.hasPrefix("key:") }.map { String($0.dropFirst(4)).trimmingCharacters(in: .whitespaces) }
    }

    /// A replica killed with SIGKILL mid-request leaves its hold behind: the key's budget stays
    /// held until the hold lapses (request_timeout + hold_margin, here 3 s), then another
    /// replica serves the key again, and releases and logs the lapsed hold.
    @Test func aKilledReplicasHoldLapses() async throws {
        guard let pg = try await server() else { return }
        let url = try pg.database()
        // The first call stalls (its replica dies meanwhile); the others answer.
        let stall: ScriptedStandIn.Responder = { _, w in
            w.pause(4000)
            w.respond(status: 500, body: "{}")
        }
        let standIn = try ScriptedStandIn(["gpt-4o-mini": [stall, Reply.openAI("ok", promptTokens: 10, completionTokens: 10)]])
        let key = "pk-killed-0123456789abcdef"
        // A hold is three attempts of 1,000 output tokens, about $0.0018: $0.0025 affords one at a time.
        let config: (Int) -> String = { port in
            """
            prellm: 1
            server: {host: 127.0.0.1, port: \(port)}
            limits: {request_timeout: 2s}
            store: {url: "\(url)", hold_margin: 1s}
            models:
              fast: {use: openai/gpt-4o-mini, max_tokens: 1000}
            keys:
              - {id: team, hash: "sha256:\(SHA256.hex(key))", usd_per_day: 0.0025}
            """
        }
        let a = try await ServedGateway(environment: standIn.environment, config: config)
        defer { a.stop() }
        let b = try await ServedGateway(environment: standIn.environment, config: config)
        defer { b.stop() }
        let inFlight = Task { await Self.post(a.port, key: key) }
        #expect(await Self.within(.seconds(5)) { standIn.requests.count == 1 }, "the request reached the upstream")
        let held = ContinuousClock.now
        kill(a.process.processIdentifier, SIGKILL)
        _ = await inFlight.value
        let refused = await Self.post(b.port, key: key)
        #expect(refused.status == 403 && refused.body.contains("reserved by requests in flight"), "\(refused)")
        #expect(await Self.within(.seconds(6)) { await Self.post(b.port, key: key).status == 200 }, "the key can spend again")
        #expect(ContinuousClock.now - held > .seconds(2), "not before the hold lapsed")
        // The next sweep (at most every 5 s, at an admission) deletes the lapsed hold and logs it.
        try await Task.sleep(for: .seconds(5))
        #expect(await Self.post(b.port, key: key).status == 200)
        b.process.terminate()
        b.process.waitUntilExit()
        let log = b.log
        #expect(log.contains("released the lapsed hold") && log.contains("its request never settled"), "\(log)")
        let store = try await PostgresGatewayStore.connect(url)
        #expect(try await store.releaseExpired(now: .distantFuture).isEmpty, "nothing is left held")
    }

    /// PostgreSQL stopped under the gateway: requests get 503 in OpenAI's shape and /readyz
    /// says not ready; started again, the gateway goes on by itself, its spend exact.
    @Test func theGatewayRidesOutADatabaseRestart() async throws {
        guard let pg = try await server() else { return }
        let url = try pg.database()
        let standIn = try ScriptedStandIn(["gpt-4o-mini": [Reply.openAI("ok", promptTokens: 10, completionTokens: 10)]])
        let key = "pk-restart-0123456789abcdef"
        let g = try await ServedGateway(environment: standIn.environment) {
            Self.config(port: $0, url: url, key: key, limits: ", usd_per_day: 5")
        }
        defer { g.stop() }
        #expect(await Self.post(g.port, key: key).status == 200)
        // Under load: four clients post without pause from before the stop to after the start.
        let running = Flag()
        let port = g.port
        let load = Task {
            await withTaskGroup(of: [Int].self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        var statuses: [Int] = []
                        while running.isUp { statuses.append(await Self.post(port, key: key).status) }
                        return statuses
                    }
                }
                var all: [Int] = []
                for await s in group { all += s }
                return all
            }
        }
        try await Task.sleep(for: .milliseconds(500))
        pg.stop()
        let during = await Self.post(g.port, key: key)
        #expect(during.status == 503, "\(during)")
        let error = try JSONParser.parse(during.body)["error"]
        #expect(error?["type"] == "api_error" && error?["message"]?.stringValue?.isEmpty == false, "\(during.body)")
        let ready = try await PrellmHTTP.HTTPClient.shared.send(PrellmHTTP.HTTPRequest(method: "GET", url: "http://127.0.0.1:\(g.port)/readyz"))
        #expect(ready.head.status == 503)
        let upstreamDuring = standIn.requests.count
        try await Task.sleep(for: .milliseconds(500))
        #expect(standIn.requests.count == upstreamDuring, "nothing goes upstream while the store is away")
        try pg.start()
        #expect(await Self.within(.seconds(10)) { await Self.post(g.port, key: key).status == 200 }, "the gateway recovers without a restart")
        try await Task.sleep(for: .milliseconds(500))
        running.lower()
        let statuses = await load.value
        let counts = Dictionary(grouping: statuses, by: { $0 }).mapValues(\.count)
        #expect(Set(counts.keys).isSubset(of: [200, 503]) && counts[503, default: 0] > 0, "\(counts)")
        // Every answer was paid for: what went upstream is what the ledger holds, to the cent,
        // once the settlements the outage held back have been retried.
        let store = try await PostgresGatewayStore.connect(url)
        let (day, month) = UsagePeriod.of(Date())
        let each = (10 * 0.15 + 10 * 0.60) / 1_000_000
        let exact = await Self.within(.seconds(5)) {
            let spent = (try? await store.spent(key: "team", day: day, month: month).day) ?? -1
            return abs(spent - Double(standIn.requests.count) * each) < 1e-12
        }
        let spent = try await store.spent(key: "team", day: day, month: month).day
        #expect(exact, "spent \(spent) for \(standIn.requests.count) answers; statuses \(counts)")
        #expect(try await store.releaseExpired(now: .distantFuture).isEmpty, "nothing is left held")
        #expect(g.log.contains("after the store came back") || !g.log.contains("kept to retry"), "a settlement held back was written later")
    }
}

/// What both stores must do with per-minute limits and admissions, whoever counts.
enum RateChecks {
    static func exact(_ stores: [any GatewayStore]) async throws {
        let window = "2026-12-01T10:00"
        func rate(_ key: String, rpm: Int? = nil, tpm: Int?, tokens: Int, in w: String = window) -> RateAsk {
            RateAsk(key: key, window: w, rpm: rpm, tpm: tpm, tokens: tokens)
        }
        // tpm 100 at 7 tokens a request: 14 fit, concurrently, through any of the stores.
        let admitted = try await withThrowingTaskGroup(of: Bool.self) { group in
            for i in 0..<60 {
                group.addTask { try await stores[i % stores.count].admit(rate: rate("t", tpm: 100, tokens: 7), budget: nil) == .admitted(nil) }
            }
            var n = 0
            for try await ok in group where ok { n += 1 }
            return n
        }
        #expect(admitted == 14)
        let store = stores[0]
        #expect(try await store.admit(rate: rate("t", tpm: 100, tokens: 7), budget: nil) == .overRate(requests: 14, tokens: 98))
        // A request that used 2 of its 7 tokens gives the rest back when it settles (once,
        // however often the settlement is written); then one more fits.
        let (day, month) = UsagePeriod.of(Date())
        var record = SpendRecord(key: "t", requestID: "r", model: "m", day: day, month: month, usd: 0, tokens: 2, settlement: "t-1")
        record.rateWindow = window
        record.unusedTokens = 5
        try await store.settle(nil, record)
        try await store.settle(nil, record)
        #expect(try await store.admit(rate: rate("t", tpm: 100, tokens: 7), budget: nil) == .admitted(nil))
        #expect(try await store.admit(rate: rate("t", tpm: 100, tokens: 1), budget: nil) == .overRate(requests: 15, tokens: 100))
        // Requests and tokens together: whichever runs out first refuses.
        for _ in 0..<2 { #expect(try await store.admit(rate: rate("r", rpm: 2, tpm: 1000, tokens: 10), budget: nil) == .admitted(nil)) }
        #expect(try await store.admit(rate: rate("r", rpm: 2, tpm: 1000, tokens: 10), budget: nil) == .overRate(requests: 2, tokens: 20))
        // One request larger than a minute's tokens gets a fresh minute to itself, not never.
        #expect(try await store.admit(rate: rate("big", tpm: 50, tokens: 80), budget: nil) == .admitted(nil))
        #expect(try await store.admit(rate: rate("big", tpm: 50, tokens: 1), budget: nil) == .overRate(requests: 1, tokens: 80))
        #expect(try await store.admit(rate: rate("big", tpm: 50, tokens: 1, in: "2026-12-01T10:01"), budget: nil) == .admitted(nil))
        // A request its budget refuses is not counted in the minute; one both admit is, and held.
        func budget(_ id: String, _ usd: Double) -> BudgetAsk {
            BudgetAsk(key: "b", id: id, usd: usd, day: day, month: month, dayLimit: 1, monthLimit: nil, expires: Date().addingTimeInterval(60))
        }
        #expect(
            try await store.admit(rate: rate("b", rpm: 1, tpm: nil, tokens: 0), budget: budget("h1", 2))
                == .overBudget(daySpent: 0, monthSpent: 0, held: 0))
        #expect(
            try await store.admit(rate: rate("b", rpm: 1, tpm: nil, tokens: 0), budget: budget("h2", 0.5))
                == .admitted(BudgetHold(id: "h2", key: "b", usd: 0.5)))
        #expect(try await store.admit(rate: rate("b", rpm: 1, tpm: nil, tokens: 0), budget: budget("h3", 0.1)) == .overRate(requests: 1, tokens: 0))
        #expect(try await store.admit(rate: nil, budget: budget("h4", 0.6)) == .overBudget(daySpent: 0, monthSpent: 0, held: 0.5), "h3 took no hold")
    }
}

/// The embedded store counts minutes as the shared one does, across connections to one file.
@Suite struct SQLiteRateTests {
    @Test func rateWindowsAreExactAcrossConnections() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("prellm-rate-\(UUID().uuidString).sqlite").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        var stores: [any GatewayStore] = []
        for _ in 0..<3 { stores.append(try SQLiteGatewayStore(path: path)) }
        try await RateChecks.exact(stores)
    }
}

/// `prellm usage` on the embedded store: spend records summed by model, key and day.
@Suite struct UsageTests {
    @Test func spendRecordsSumByModelKeyAndDay() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("prellm-usage-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let config = dir.appendingPathComponent("prellm.yaml").path
        try "prellm: 1\nstore: {path: store.sqlite}\n".write(toFile: config, atomically: true, encoding: .utf8)
        let store = try SQLiteGatewayStore(path: dir.appendingPathComponent("store.sqlite").path)
        let (day, month) = UsagePeriod.of(Date())
        for (k, m, usd) in [("a", "openai/gpt-4o", 0.5), ("a", "openai/gpt-4o-mini", 0.25), ("b", "openai/gpt-4o", 1.0)] {
            try await store.settle(nil, SpendRecord(key: k, requestID: UUID().uuidString, model: m, day: day, month: month, usd: usd, tokens: 10))
        }
        let byModel = await UsageCommand.run(config: config, key: nil, since: nil, by: .model)
        let lines = byModel.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("MODEL") == true)
        #expect(lines[1].hasPrefix("openai/gpt-4o ") && lines[1].contains("2") && lines[1].hasSuffix("$1.5"), "\(byModel.stdout)")
        #expect(lines.last?.hasPrefix("total since") == true && lines.last?.hasSuffix("$1.75") == true)
        let oneKey = await UsageCommand.run(config: config, key: "a", since: nil, by: .key)
        #expect(oneKey.stdout.contains("$0.75") && !oneKey.stdout.contains("\nb "), "\(oneKey.stdout)")
        let bad = await UsageCommand.run(config: config, key: nil, since: "yesterday", by: .day)
        #expect(bad.exitCode == 2 && bad.stderr.contains("YYYY-MM-DD"))
    }
}

/// A flag the load of a test watches.
final class Flag: Sendable {
    private let up = Mutex(true)
    var isUp: Bool { up.withLock { $0 } }
    func lower() { up.withLock { $0 = false } }
}
