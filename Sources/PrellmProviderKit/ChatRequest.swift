import PrellmSchema

/// A ChatRequest is one request to a chat model, in the terms every wire format shares.
/// Each provider encodes it in its own format and says (in its capabilities) what it lacks.
public struct ChatRequest: Sendable {
    /// The model name as the provider knows it (`gpt-4o-mini`, `qwen2.5:3b`), without the provider prefix.
    public var model: String
    public var system: String?
    public var messages: [ChatMessage]
    public var temperature: Double?
    public var maxTokens: Int?
    public var topP: Double?
    public var stop: [String]
    public var responseFormat: ResponseFormat
    public var tools: [ToolDefinition]
    public var toolChoice: ToolChoice?
    /// Whether the model is a reasoning model (the catalog's word; nil when it has none), for
    /// the wire formats that treat those differently.
    public var reasoning: Bool?
    /// Whether the model may call several tools in one answer (nil: the provider's default).
    public var parallelToolCalls: Bool?
    /// The attempt span's context, sent upstream as `traceparent` when tracing is on. Not part
    /// of what the model answers: the cache key (`ModelRouter.cacheKey`) leaves it out.
    public var traceContext: TraceContext?

    public init(
        model: String, system: String? = nil, messages: [ChatMessage], temperature: Double? = nil,
        maxTokens: Int? = nil, topP: Double? = nil, stop: [String] = [], responseFormat: ResponseFormat = .text,
        tools: [ToolDefinition] = [], toolChoice: ToolChoice? = nil
    ) {
        self.model = model
        self.system = system
        self.messages = messages
        self.temperature = temperature
        self.maxTokens = maxTokens
        self.topP = topP
        self.stop = stop
        self.responseFormat = responseFormat
        self.tools = tools
        self.toolChoice = toolChoice
    }

    public enum ResponseFormat: Sendable, Equatable {
        case text
        /// Any JSON object.
        case json
        /// JSON that satisfies a schema (structured output).
        case jsonSchema(name: String, schema: JSONValue)
    }

    public enum ToolChoice: Sendable, Equatable {
        case auto, none, required
        case tool(String)
    }
}

/// A ChatMessage is one turn of the conversation.
public struct ChatMessage: Sendable, Equatable {
    public enum Role: String, Sendable { case user, assistant, tool }

    public var role: Role
    public var content: [ContentPart]
    /// Tool calls the assistant made in this turn.
    public var toolCalls: [ToolCall]
    /// For a `tool` message: the call it answers.
    public var toolCallID: String?

    public init(role: Role, content: [ContentPart], toolCalls: [ToolCall] = [], toolCallID: String? = nil) {
        self.role = role
        self.content = content
        self.toolCalls = toolCalls
        self.toolCallID = toolCallID
    }

    public static func user(_ text: String) -> ChatMessage { ChatMessage(role: .user, content: [.text(text)]) }
    public static func assistant(_ text: String) -> ChatMessage { ChatMessage(role: .assistant, content: [.text(text)]) }

    /// The text parts joined.
    public var text: String {
        content.compactMap { if case .text(let t) = $0 { t } else { nil } }.joined()
    }
}

public enum ContentPart: Sendable, Equatable {
    case text(String)
    /// An image by URL (http(s) or a data: URL).
    case imageURL(String)
    /// An image's bytes, base64-encoded, with its media type (`image/png`).
    case imageData(base64: String, mediaType: String)
}

/// A tool (function) the model may call.
public struct ToolDefinition: Sendable, Equatable {
    public var name: String
    public var description: String?
    /// The JSON Schema of the arguments.
    public var parameters: JSONValue

    public init(name: String, description: String? = nil, parameters: JSONValue) {
        self.name = name
        self.description = description
        self.parameters = parameters
    }
}

/// A call the model made. `arguments` is JSON text, passed through as the provider sent it.
public struct ToolCall: Sendable, Equatable {
    public var id: String
    public var name: String
    public var arguments: String

    public init(id: String, name: String, arguments: String) {
        self.id = id
        self.name = name
        self.arguments = arguments
    }
}
