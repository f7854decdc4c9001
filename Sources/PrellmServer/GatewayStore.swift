import Foundation
import PrellmRuntime

/// A GatewayStore keeps what every gateway replica must agree on: the spend ledger, the budget
/// holds of requests in flight, revocations and kept Responses answers. It owns the atomic
/// operations — a hold is taken only if the key's spend, what is held and the request's worst
/// cost fit its budgets, in one step that no other replica can interleave with — so that any
/// number of processes on one store let a key spend no more than it may. SQLite is the
/// embedded store of one machine; PostgreSQL (`store.url`) is shared by replicas.
public protocol GatewayStore: Sendable {
    /// Admits a request in one step: counts it in its key's minute (`rate`) and holds its worst
    /// cost (`budget`) only if both fit; either may be absent. One round trip.
    func admit(rate: RateAsk?, budget: BudgetAsk?) async throws(StoreError) -> Admission
    /// Replaces a hold with what the request really spent, in one step (no hold: a key without
    /// budgets, whose spend is recorded all the same). Idempotent by `spend.settlement`.
    func settle(_ hold: BudgetHold?, _ spend: SpendRecord) async throws(StoreError)
    /// Drops a hold whose request will not settle (its taking failed, or may have).
    func release(_ hold: BudgetHold) async throws(StoreError)
    /// Drops holds past their expiry (a replica that died mid-request) and returns them.
    func releaseExpired(now: Date) async throws(StoreError) -> [BudgetHold]
    /// The spend since `day` ("2026-11-01"), one row per key, model and day (one key's only,
    /// when given).
    func usage(since day: String, key: String?) async throws(StoreError) -> [UsageRow]
    /// The day's and the month's spend.
    func spent(key: String, day: String, month: String) async throws(StoreError) -> (day: Double, month: Double)
    /// Whether the store answers (`/readyz`).
    func isReachable() async -> Bool
    /// Every key, with its secrets and whether it is revoked.
    func keys() async throws(StoreError) -> [StoredKey]
    /// Loads the config file's keys, in one step: each with the limits the config gives it; a
    /// hash the config changed replaces the one it had; a config key no longer in the config
    /// is removed. A config key whose id `prellm keys create` took is refused.
    func syncConfigKeys(_ keys: [ConfigKey]) async throws(StoreError)
    /// Adds a key made by `prellm keys create`; false if its id is taken.
    func createKey(_ key: GatewayKey, hash: String) async throws(StoreError) -> Bool
    /// Gives the key a new secret; its others work until `overlapEnds`. False: no such key.
    func rotateKey(id: String, hash: String, overlapEnds: Date) async throws(StoreError) -> Bool
    /// Disables a key at once, for every replica; false: no such key.
    func revoke(key: String) async throws(StoreError) -> Bool
    /// Calls `changed` once as soon as the watch is in place, then soon after each change of the
    /// keys — through any process — until cancelled. The first call covers a change made between
    /// the caller's load and the watch's start, which the watch itself cannot hear.
    func watchKeys(_ changed: @escaping @Sendable () async -> Void) async
    /// Keeps a Responses answer until `response.expires`; expired ones are dropped here too.
    func save(_ response: StoredResponse) async throws(StoreError)
    /// A kept answer by id, if it is the key's own and has not expired.
    func storedResponse(id: String, keyID: String, now: Date) async throws(StoreError) -> StoredResponse?
    /// Whether an answer of the key's was there to delete.
    func deleteResponse(id: String, keyID: String) async throws(StoreError) -> Bool
    /// The answer cache keeps under `key` (the SHA-256 of its namespace and request), unless
    /// it has expired.
    func cachedAnswer(key: String, now: Date) async throws(StoreError) -> String?
    /// Keeps an answer for the cache until `expires` (replacing one under the same key);
    /// expired ones are dropped here now and then.
    func keepAnswer(key: String, answer: String, expires: Date) async throws(StoreError)
}

public struct StoreError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
    public init(_ message: String) { self.message = message }
}

/// What a request asks to hold against its key's budgets.
public struct BudgetAsk: Sendable {
    public var key: String
    /// The hold's id (unique per request).
    public var id: String
    public var usd: Double
    public var day: String
    public var month: String
    public var dayLimit: Double?
    public var monthLimit: Double?
    /// When the hold lapses if it is never settled.
    public var expires: Date

    public init(key: String, id: String, usd: Double, day: String, month: String, dayLimit: Double?, monthLimit: Double?, expires: Date) {
        self.key = key
        self.id = id
        self.usd = usd
        self.day = day
        self.month = month
        self.dayLimit = dayLimit
        self.monthLimit = monthLimit
        self.expires = expires
    }
}

public struct BudgetHold: Sendable, Equatable {
    public var id: String
    public var key: String
    public var usd: Double

    public init(id: String, key: String, usd: Double) {
        self.id = id
        self.key = key
        self.usd = usd
    }
}

/// What a request counts against its key's per-minute limits.
public struct RateAsk: Sendable, Equatable {
    public var key: String
    /// The UTC minute ("2026-12-01T16:12", `RateWindow.of`).
    public var window: String
    public var rpm: Int?
    public var tpm: Int?
    /// The request's worst-case tokens. One larger than `tpm` is admitted only into a minute
    /// with no tokens counted yet, so that it waits for a fresh minute rather than forever.
    public var tokens: Int

    public init(key: String, window: String, rpm: Int?, tpm: Int?, tokens: Int) {
        self.key = key
        self.window = window
        self.rpm = rpm
        self.tpm = tpm
        self.tokens = tokens
    }

    /// Whether a minute that has counted `count` requests and `counted` tokens has room.
    func fits(count: Int, counted: Int) -> Bool {
        (rpm.map { count < $0 } ?? true) && (tpm.map { counted == 0 || counted + tokens <= $0 } ?? true)
    }
}

public enum Admission: Sendable, Equatable {
    /// Counted, and held when a budget was asked.
    case admitted(BudgetHold?)
    /// The minute had no room: the requests and tokens it had counted.
    case overRate(requests: Int, tokens: Int)
    /// The hold would break a budget: the key's spend in the day and month, and what other
    /// requests hold.
    case overBudget(daySpent: Double, monthSpent: Double, held: Double)
}

/// One request's spend, as the ledger keeps it.
public struct SpendRecord: Sendable, Equatable {
    public var key: String
    public var requestID: String
    public var model: String
    public var day: String
    public var month: String
    public var usd: Double
    public var tokens: Int
    /// Unique to the request (a client may reuse a request id): a settlement written twice — a
    /// retry after an answer lost on the way back — is recorded once.
    public var settlement: String
    /// The minute the request was counted in for a tokens-per-minute limit, and the tokens it
    /// was counted for but did not use: given back there by the settlement.
    public var rateWindow: String?
    public var unusedTokens = 0
    /// The cache answered every call the request made: it cost nothing (`usd` and `tokens` 0).
    public var cached = false

    public init(
        key: String, requestID: String, model: String, day: String, month: String, usd: Double, tokens: Int,
        settlement: String = UUID().uuidString
    ) {
        self.settlement = settlement
        self.key = key
        self.requestID = requestID
        self.model = model
        self.day = day
        self.month = month
        self.usd = usd
        self.tokens = tokens
    }
}

/// The spend of one key on one model on one day.
public struct UsageRow: Sendable, Equatable {
    public var key: String
    public var model: String
    public var day: String
    public var requests: Int
    public var tokens: Int
    public var usd: Double
    /// Of the requests, those the answer cache answered (at no cost).
    public var cached = 0

    public init(key: String, model: String, day: String, requests: Int, tokens: Int, usd: Double, cached: Int = 0) {
        self.cached = cached
        self.key = key
        self.model = model
        self.day = day
        self.requests = requests
        self.tokens = tokens
        self.usd = usd
    }
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
        let t = UTCTime(date)
        let month = UTCTime.digits(t.year, 4) + "-" + UTCTime.digits(t.month, 2)
        return (month + "-" + UTCTime.digits(t.day, 2), month)
    }
}

/// A date's UTC calendar fields, by integer arithmetic (Hinnant's days-to-civil): every
/// keyed request names its day, month and minute, and a Calendar with a time zone was a
/// few percent of the request's cost.
struct UTCTime {
    var year: Int, month: Int, day: Int, hour: Int, minute: Int

    init(_ date: Date) {
        let seconds = Int(date.timeIntervalSince1970.rounded(.down))
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let inDay = seconds - days * 86_400
        hour = inDay / 3600
        minute = inDay % 3600 / 60
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        day = doy - (153 * mp + 2) / 5 + 1
        month = mp < 10 ? mp + 3 : mp - 9
        year = yoe + era * 400 + (month <= 2 ? 1 : 0)
    }

    /// `n` with leading zeros to `width` digits.
    static func digits(_ n: Int, _ width: Int) -> String {
        let s = String(n)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}
