import PrellmCompiler
import PrellmProviderKit
import PrellmSchema
import Synchronization

/// Where a ResponseCache keeps its answers beyond the process: a SQLite file (`--cache-file`),
/// or the gateway's store, which replicas share. A store that cannot be read is a miss, one that
/// cannot be written loses the answer: the call goes on uncached either way.
public protocol AnswerStore: Sendable {
    /// The answer kept under `key` (a ResponseCache's encoding of it), unless it expired.
    func answer(for key: String) async -> String?
    /// Keeps an answer under `key` for `ttl`.
    func keep(_ answer: String, for key: String, ttl: Duration) async
}

/// A ResponseCache remembers answers by (model, normalised request) for a time: in memory by
/// default, or in an AnswerStore (a SQLite file, the gateway's store) so that answers survive
/// the process. A hit costs nothing and the trace says so.
public final class ResponseCache: Sendable {
    struct Entry { var response: ChatResponse; var expires: ContinuousClock.Instant }
    private let entries = Mutex<[String: Entry]>([:])
    private let store: (any AnswerStore)?
    public let defaultTTL: Duration
    /// Prefixed to every key: a gateway key's id, so that one key never reads another's answers.
    public let namespace: String
    /// Whether hits are answered (off: every call goes upstream and its answer is kept, a
    /// client's `Cache-Control: no-cache`).
    public let reads: Bool
    /// Whether only calls whose step asks for it (`cache:`) are cached, rather than every call
    /// that does not refuse it (`cache: false`).
    public let onlyMarked: Bool
    /// How long an answer is kept when its step gives no `ttl`.
    public static let standardTTL: Duration = .seconds(3600)

    public init(defaultTTL: Duration = standardTTL) {
        self.defaultTTL = defaultTTL
        self.store = nil
        self.namespace = ""
        self.reads = true
        self.onlyMarked = false
    }

    /// A cache backed by a store, its keys under `namespace`.
    public init(store: any AnswerStore, namespace: String = "", defaultTTL: Duration, reads: Bool = true, onlyMarked: Bool = false) {
        self.store = store
        self.namespace = namespace
        self.defaultTTL = defaultTTL
        self.reads = reads
        self.onlyMarked = onlyMarked
    }

    /// A cache backed by a SQLite file (created if needed). Expiry there is by wall-clock time,
    /// since a monotonic instant means nothing to the next process.
    public convenience init(
        file: String, defaultTTL: Duration = standardTTL, wallClock: @escaping @Sendable () -> Double = SQLiteAnswerStore.now
    )
        throws(SQLiteAnswerStore.StoreError)
    {
        self.init(store: try SQLiteAnswerStore(path: file, wallClock: wallClock), defaultTTL: defaultTTL)
    }

    /// Whether a call with this step policy is cached at all.
    func covers(_ policy: Step.CachePolicy?) -> Bool {
        onlyMarked ? policy?.enabled == true : policy?.enabled != false
    }

    func get(_ key: String, now: ContinuousClock.Instant) async -> ChatResponse? {
        guard reads else { return nil }
        if let store { return await store.answer(for: namespace + key).flatMap(Self.decode) }
        return entries.withLock { e in
            guard let hit = e[key] else { return nil }
            if hit.expires <= now { e[key] = nil; return nil }
            return hit.response
        }
    }

    func put(_ key: String, _ response: ChatResponse, now: ContinuousClock.Instant, ttl: Duration?) async {
        let ttl = ttl ?? defaultTTL
        if let store { return await store.keep(Self.encode(response).jsonText, for: namespace + key, ttl: ttl) }
        entries.withLock { $0[key] = Entry(response: response, expires: now + ttl) }
    }

    static func encode(_ r: ChatResponse) -> JSONValue {
        .object([
            "model": .string(r.model), "text": .string(r.text),
            "finish": .string(
                {
                    switch r.finishReason {
                    case .stop: "stop";
                    case .length: "length";
                    case .toolCalls: "tool_calls"
                    case .contentFilter: "content_filter";
                    case .other(let o): o
                    }
                }()),
            "tool_calls": .array(r.toolCalls.map { .object(["id": .string($0.id), "name": .string($0.name), "arguments": .string($0.arguments)]) }),
        ])
    }

    static func decode(_ text: String) -> ChatResponse? {
        guard let j = try? JSONParser.parse(text), let model = j["model"]?.stringValue, let t = j["text"]?.stringValue else { return nil }
        let finish: FinishReason =
            switch j["finish"]?.stringValue {
            case "stop"?: .stop
            case "length"?: .length
            case "tool_calls"?: .toolCalls
            case "content_filter"?: .contentFilter
            case let o?: .other(o)
            case nil: .stop
            }
        let calls = (j["tool_calls"]?.arrayValue ?? []).map {
            ToolCall(id: $0["id"]?.stringValue ?? "", name: $0["name"]?.stringValue ?? "", arguments: $0["arguments"]?.stringValue ?? "")
        }
        return ChatResponse(model: model, text: t, toolCalls: calls, finishReason: finish, usage: nil)
    }
}
