/// A ChatResponse is a whole answer.
public struct ChatResponse: Sendable, Equatable {
    public var id: String?
    public var model: String
    public var text: String
    public var toolCalls: [ToolCall]
    public var finishReason: FinishReason
    public var usage: Usage?
    /// What the provider adapted to send the request (a contract sent non-strict, a
    /// constraint moved into the prompt), for the trace.
    public var notes: [String] = []

    public init(
        id: String? = nil, model: String, text: String, toolCalls: [ToolCall] = [], finishReason: FinishReason,
        usage: Usage? = nil
    ) {
        self.id = id
        self.model = model
        self.text = text
        self.toolCalls = toolCalls
        self.finishReason = finishReason
        self.usage = usage
    }
}

/// Why the model stopped. `length` means it hit `max_tokens`: the answer is truncated.
public enum FinishReason: Sendable, Equatable {
    case stop
    case length
    case toolCalls
    case contentFilter
    case other(String)

    /// The reason as OpenAI's wire format names it (`stop`, `length`, `tool_calls`,
    /// `content_filter`): what trace lines, the gateway's wire formats and cassettes write.
    public var name: String {
        switch self {
        case .stop: "stop"
        case .length: "length"
        case .toolCalls: "tool_calls"
        case .contentFilter: "content_filter"
        case .other(let o): o
        }
    }

    /// The reason an OpenAI name stands for (`function_call`, the older name, too).
    public init(name: String) {
        switch name {
        case "stop": self = .stop
        case "length": self = .length
        case "tool_calls", "function_call": self = .toolCalls
        case "content_filter": self = .contentFilter
        default: self = .other(name)
        }
    }
}

/// A ChatDelta is one piece of a streamed answer, passed on as the provider sent it.
public enum ChatDelta: Sendable, Equatable {
    case text(String)
    /// A fragment of a tool call; `index` identifies the call across fragments.
    case toolCall(index: Int, id: String?, name: String?, arguments: String)
    case finish(FinishReason)
    case usage(Usage)
}

/// Token counts as the provider reports them.
public struct Usage: Sendable, Equatable, Hashable {
    public var inputTokens: Int
    public var outputTokens: Int
    /// Input tokens served from the provider's prompt cache (billed at the cached price), if reported.
    public var cachedInputTokens: Int?

    public init(inputTokens: Int, outputTokens: Int, cachedInputTokens: Int? = nil) {
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.cachedInputTokens = cachedInputTokens
    }

    public var totalTokens: Int { inputTokens + outputTokens }

    /// Why a provider's usage report cannot be true of a request whose prompt is at most
    /// `promptBound` tokens and whose answer at most `maxTokens`, or nil when it can: counts
    /// are never negative, cached input is part of the input, and neither count is far past
    /// the request's bound (twice it and a thousand tokens more: room for a tokenizer's own
    /// framing and for images, whose size is an estimate). Trusting such a report once drove a
    /// key's ledger to −$3,000, after which its budget admitted everything.
    public static func implausibility(of u: Usage, promptBound: Int, maxTokens: Int) -> String? {
        func ceiling(_ n: Int) -> Int { n > Int.max / 4 ? Int.max : 2 * n + 1_000 }
        if u.inputTokens < 0 || u.outputTokens < 0 || (u.cachedInputTokens ?? 0) < 0 {
            return "the provider reported negative usage (\(u.inputTokens) input, \(u.outputTokens) output tokens)"
        }
        if let cached = u.cachedInputTokens, cached > u.inputTokens {
            return "the provider reported \(cached) cached input tokens of \(u.inputTokens) input tokens"
        }
        if u.inputTokens > ceiling(promptBound) {
            return "the provider reported \(u.inputTokens) input tokens for a prompt of at most \(promptBound)"
        }
        if u.outputTokens > ceiling(maxTokens) {
            return "the provider reported \(u.outputTokens) output tokens for an answer of at most \(maxTokens)"
        }
        return nil
    }
}

extension Array where Element == ChatDelta {
    /// Folds a stream's deltas into the whole response it amounts to.
    public func collected(model: String) -> ChatResponse {
        var text = ""
        var calls: [Int: ToolCall] = [:]
        var finish = FinishReason.stop
        var usage: Usage?
        for d in self {
            switch d {
            case .text(let t): text += t
            case .toolCall(let i, let id, let name, let args):
                var call = calls[i] ?? ToolCall(id: "", name: "", arguments: "")
                if let id { call.id = id }
                if let name { call.name = name }
                call.arguments += args
                calls[i] = call
            case .finish(let f): finish = f
            case .usage(let u): usage = u
            }
        }
        return ChatResponse(model: model, text: text, toolCalls: calls.keys.sorted().map { calls[$0]! }, finishReason: finish, usage: usage)
    }
}
