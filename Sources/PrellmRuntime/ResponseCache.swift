import PrellmProviderKit
import PrellmSchema
import Synchronization

/// A ResponseCache remembers answers by (model, normalised request) for a time: in memory by
/// default, or in a SQLite file (`--cache-file`) so that answers survive the process. A hit
/// costs nothing and the trace says so.
public final class ResponseCache: Sendable {
    struct Entry { var response: ChatResponse; var expires: ContinuousClock.Instant }
    private let entries = Mutex<[String: Entry]>([:])
    private let store: SQLiteAnswerStore?
    public let defaultTTL: Duration

    public init(defaultTTL: Duration = .seconds(3600)) {
        self.defaultTTL = defaultTTL
        self.store = nil
    }

    /// A cache backed by a SQLite file (created if needed). Expiry there is by wall-clock time,
    /// since a monotonic instant means nothing to the next process.
    public init(
        file: String, defaultTTL: Duration = .seconds(3600), wallClock: @escaping @Sendable () -> Double = SQLiteAnswerStore.now
    )
        throws(SQLiteAnswerStore.StoreError)
    {
        self.defaultTTL = defaultTTL
        self.store = try SQLiteAnswerStore(path: file, wallClock: wallClock)
    }

    func get(_ key: String, now: ContinuousClock.Instant) -> ChatResponse? {
        if let store { return store.get(key).flatMap(Self.decode) }
        return entries.withLock { e in
            guard let hit = e[key] else { return nil }
            if hit.expires <= now { e[key] = nil; return nil }
            return hit.response
        }
    }

    func put(_ key: String, _ response: ChatResponse, now: ContinuousClock.Instant, ttl: Duration?) {
        let ttl = ttl ?? defaultTTL
        if let store { return store.put(key, Self.encode(response).jsonText, ttlSeconds: Double(ttl.milliseconds) / 1000) }
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
