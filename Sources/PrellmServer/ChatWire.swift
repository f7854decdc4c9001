import Foundation
import PrellmProviderKit
import PrellmSchema

/// The OpenAI Chat Completions wire format as the gateway serves it: parsing requests,
/// building responses, stream chunks and errors exactly as OpenAI clients expect them.
enum ChatWire {
    /// The most output tokens a request may ask for: what a model alias may set too (no model
    /// writes more; bounds and reservations stay far from overflow).
    static let maxOutputTokens = 10_000_000

    struct Request {
        var model: String
        var system: String?
        var messages: [ChatMessage]
        var stream: Bool
        var includeUsage: Bool
        var temperature: Double?
        var maxTokens: Int?
        var topP: Double?
        var stop: [String]?
        var format: ChatRequest.ResponseFormat
        /// The last user message's text (a workflow's `inputs.query`).
        var lastUserText: String
        var tools: [ToolDefinition] = []
        var toolChoice: ChatRequest.ToolChoice?
        var parallelToolCalls: Bool?
        /// A Responses request's own fields (nil for the chat dialects).
        var turn: ResponsesWire.Turn?
    }

    static func parse(_ body: [UInt8], maxMessages: Int) throws(GatewayError) -> Request {
        let json: JSONValue
        do { json = try JSONParser.parse(bytes: body) } catch {
            throw GatewayError(.badRequest, "the body is not valid JSON: \(error)")
        }
        guard let fields = json.objectValue else { throw GatewayError(.badRequest, "the body must be a JSON object") }
        try refuseUnknown(fields)
        guard let model = json["model"]?.stringValue, !model.isEmpty else {
            throw GatewayError(.badRequest, "'model' is required", param: "model")
        }
        guard let list = json["messages"]?.arrayValue, !list.isEmpty else {
            throw GatewayError(.badRequest, "'messages' must be a non-empty array", param: "messages")
        }
        guard list.count <= maxMessages else {
            throw GatewayError(.badRequest, "too many messages (\(list.count)); this gateway accepts at most \(maxMessages)", param: "messages")
        }
        var system: [String] = []
        var messages: [ChatMessage] = []
        for (i, m) in list.enumerated() {
            guard m.objectValue != nil else {
                throw GatewayError(.badRequest, "messages[\(i)] must be an object with 'role' and 'content'", param: "messages")
            }
            let role = m["role"]?.stringValue ?? ""
            let parts = try content(m["content"], at: i)
            switch role {
            case "system", "developer": system.append(parts.compactMap { if case .text(let t) = $0 { t } else { nil } }.joined())
            case "user": messages.append(ChatMessage(role: .user, content: parts))
            case "assistant":
                let calls = (m["tool_calls"]?.arrayValue ?? []).map {
                    ToolCall(
                        id: $0["id"]?.stringValue ?? "", name: $0["function"]?["name"]?.stringValue ?? "",
                        arguments: $0["function"]?["arguments"]?.stringValue ?? "")
                }
                messages.append(ChatMessage(role: .assistant, content: parts, toolCalls: calls))
            case "tool": messages.append(ChatMessage(role: .tool, content: parts, toolCallID: try toolCallID(m, at: i, after: messages)))
            default: throw GatewayError(.badRequest, "messages[\(i)].role must be system, user, assistant or tool", param: "messages")
            }
        }
        var format = ChatRequest.ResponseFormat.text
        if let rf = json["response_format"] {
            switch rf["type"]?.stringValue {
            case "json_object"?: format = .json
            case "json_schema"?:
                let s = rf["json_schema"]
                format = .jsonSchema(name: s?["name"]?.stringValue ?? "response", schema: s?["schema"] ?? .object([:]))
            case "text"?: break
            default:
                throw GatewayError(.badRequest, "response_format.type must be text, json_object or json_schema", param: "response_format")
            }
        }
        let stream = try flag(json, "stream")
        var includeUsage = false
        if let options = json["stream_options"], options != .null { includeUsage = try flag(options, "include_usage", in: "stream_options") }
        var temperature: Double?
        if let t = json["temperature"], t != .null {
            guard let v = t.numberValue, v >= 0, v <= 2 else {
                throw GatewayError(.badRequest, "'temperature' must be a number from 0 to 2", param: "temperature")
            }
            temperature = v
        }
        var maxTokens: Int?
        for name in ["max_completion_tokens", "max_tokens"] where maxTokens == nil {
            guard let v = json[name], v != .null else { continue }
            guard let n = v.int, Double(n) == v.numberValue, n >= 1, n <= ChatWire.maxOutputTokens else {
                throw GatewayError(.badRequest, "'\(name)' must be an integer from 1 to \(ChatWire.maxOutputTokens)", param: name)
            }
            maxTokens = n
        }
        let topP = try Self.topP(json, name: "top_p")
        var stop: [String]?
        switch json["stop"] {
        case nil, .null?: break
        case .string(let one)?: stop = [one]
        case .array(let list)?:
            let strings = list.compactMap(\.stringValue)
            guard strings.count == list.count, list.count <= 4 else {
                throw GatewayError(.badRequest, "'stop' must be a string or up to 4 strings", param: "stop")
            }
            stop = strings
        default: throw GatewayError(.badRequest, "'stop' must be a string or up to 4 strings", param: "stop")
        }
        try refuseUnsupported(json, Self.unsupported)
        if let n = json["n"], n != .null, n != .number(1) {
            throw GatewayError(.badRequest, "this gateway answers with one choice: 'n' must be 1", param: "n")
        }
        let last = messages.last { $0.role == .user }?.text ?? ""
        var request = Request(
            model: model, system: system.isEmpty ? nil : system.joined(separator: "\n\n"), messages: messages,
            stream: stream, includeUsage: includeUsage, temperature: temperature, maxTokens: maxTokens,
            topP: topP, stop: stop,
            format: format, lastUserText: last)
        // Tools pass through to the upstream model unchanged.
        if let tools = json["tools"], tools != .null {
            guard let list = tools.arrayValue else { throw GatewayError(.badRequest, "'tools' must be an array", param: "tools") }
            for (i, t) in list.enumerated() {
                guard let f = t["function"], let name = f["name"]?.stringValue, !name.isEmpty else {
                    throw GatewayError(.badRequest, "tools[\(i)] needs function.name", param: "tools")
                }
                request.tools.append(
                    ToolDefinition(
                        name: name, description: f["description"]?.stringValue,
                        parameters: f["parameters"] ?? .object(["type": "object"])))
            }
        }
        switch json["tool_choice"] {
        case .string("auto")?: request.toolChoice = .auto
        // Spelled out: `.none` alone would be the Optional's nil, and the model could call tools.
        case .string("none")?: request.toolChoice = ChatRequest.ToolChoice.none
        case .string("required")?: request.toolChoice = .required
        case .object(let o)?: request.toolChoice = (o["function"]?["name"]?.stringValue).map(ChatRequest.ToolChoice.tool)
        default: break
        }
        switch json["parallel_tool_calls"] {
        case nil, .null?: break
        case .bool(let b)?: request.parallelToolCalls = b
        default: throw GatewayError(.badRequest, "'parallel_tool_calls' must be a boolean", param: "parallel_tool_calls")
        }
        return request
    }

    static func content(_ c: JSONValue?, at i: Int) throws(GatewayError) -> [ContentPart] {
        switch c {
        case .string(let s)?: return [.text(s)]
        case .null?, nil: return []
        case .array(let parts)?:
            // A part the gateway cannot pass on is refused, never dropped: the model would
            // answer a different question than the one asked.
            return try parts.enumerated().map { (k, p) throws(GatewayError) -> ContentPart in
                switch p["type"]?.stringValue {
                case "text"?:
                    guard let t = p["text"]?.stringValue else {
                        throw GatewayError(.badRequest, "messages[\(i)].content[\(k)].text must be a string", param: "messages")
                    }
                    return .text(t)
                case "image_url"?:
                    guard let url = p["image_url"]?["url"]?.stringValue ?? p["image_url"]?.stringValue else {
                        throw GatewayError(.badRequest, "messages[\(i)].content[\(k)].image_url needs a url", param: "messages")
                    }
                    return .imageURL(url)
                case let other:
                    throw GatewayError(
                        .badRequest, "messages[\(i)].content[\(k)]: unsupported content part type '\(other ?? "none")' (text and image_url are)",
                        param: "messages")
                }
            }
        default: throw GatewayError(.badRequest, "messages[\(i)].content must be a string or an array of parts", param: "messages")
        }
    }

    /// Parameters the gateway cannot pass on, with the value that means "not used". Sent with any
    /// other value they are refused by name: dropping them would change the answer silently.
    /// (Parameters that do not change the answer — `user`, `metadata`, `store` — pass unremarked.)
    /// Every field of OpenAI's CreateChatCompletionRequest; OpenAI answers 400 to any other, so
    /// a misspelt `max_token` is an error here too rather than silently ignored.
    static let known: Set<String> = [
        "audio", "frequency_penalty", "function_call", "functions", "logit_bias", "logprobs", "max_completion_tokens",
        "max_tokens", "messages", "metadata", "modalities", "model", "moderation", "n", "parallel_tool_calls", "prediction",
        "presence_penalty", "prompt_cache_key", "prompt_cache_options", "prompt_cache_retention", "reasoning_effort",
        "response_format", "safety_identifier", "seed", "service_tier", "stop", "store", "stream", "stream_options",
        "temperature", "tool_choice", "tools", "top_logprobs", "top_p", "user", "verbosity", "web_search_options",
    ]

    static func refuseUnknown(_ fields: [String: JSONValue]) throws(GatewayError) {
        guard let unknown = fields.keys.filter({ !known.contains($0) }).min() else { return }
        throw GatewayError(.badRequest, "Unrecognized request argument supplied: \(unknown)", param: unknown)
    }

    /// A tool message's `tool_call_id`: required, and one of the calls the assistant messages
    /// before it made (OpenAI refuses both otherwise, and the upstream would too).
    static func toolCallID(_ m: JSONValue, at i: Int, after earlier: [ChatMessage]) throws(GatewayError) -> String {
        guard let id = m["tool_call_id"]?.stringValue else {
            throw GatewayError(
                .badRequest, "Missing required parameter: 'messages[\(i)].tool_call_id'.", param: "messages[\(i)].tool_call_id",
                code: "missing_required_parameter")
        }
        guard earlier.contains(where: { $0.role == .assistant && $0.toolCalls.contains { $0.id == id } }) else {
            throw GatewayError(
                .badRequest,
                "Invalid parameter: messages[\(i)] has role 'tool' and tool_call_id '\(id)', but no assistant message before it made that call.",
                param: "messages[\(i)].tool_call_id")
        }
        return id
    }

    static let unsupported: [(name: String, neutral: [JSONValue])] = [
        ("presence_penalty", [.number(0)]), ("frequency_penalty", [.number(0)]), ("logit_bias", [.object([:])]),
        ("logprobs", [.bool(false)]), ("top_logprobs", [.number(0)]), ("seed", []), ("reasoning_effort", []),
        ("modalities", [.array(["text"])]), ("audio", []), ("prediction", []),
        ("web_search_options", []),
    ]

    static func refuseUnsupported(_ json: JSONValue, _ list: [(name: String, neutral: [JSONValue])]) throws(GatewayError) {
        for (name, neutral) in list {
            guard let v = json[name], v != .null, !neutral.contains(v) else { continue }
            throw GatewayError(
                .badRequest,
                "'\(name)' is not supported by this gateway; leave it out (it would be dropped, and the answer would differ from what you asked for)",
                param: name)
        }
    }

    /// An optional `top_p`: a number from 0 to 1.
    static func topP(_ json: JSONValue, name: String) throws(GatewayError) -> Double? {
        guard let v = json[name], v != .null else { return nil }
        guard let p = v.numberValue, p >= 0, p <= 1 else {
            throw GatewayError(.badRequest, "'\(name)' must be a number from 0 to 1", param: name)
        }
        return p
    }

    /// An optional boolean field: absent or null is false; anything but a boolean is an error.
    static func flag(_ json: JSONValue, _ name: String, in parent: String? = nil) throws(GatewayError) -> Bool {
        let path = parent.map { "\($0).\(name)" } ?? name
        switch json[name] {
        case nil, .null?: return false
        case .bool(let b)?: return b
        default: throw GatewayError(.badRequest, "'\(path)' must be true or false", param: parent ?? name)
        }
    }

    static func finish(_ f: FinishReason) -> String { f.name }

    static func usageJSON(_ u: Usage) -> JSONValue {
        .object([
            "prompt_tokens": .number(Double(u.inputTokens)), "completion_tokens": .number(Double(u.outputTokens)),
            "total_tokens": .number(Double(u.totalTokens)),
        ])
    }

    static func completion(id: String, model: String, created: Int, response: ChatResponse, usage: Usage) -> JSONValue {
        // As OpenAI answers: `refusal` is always present, and a message that is only tool calls
        // has `content: null`.
        var message: [String: JSONValue] = [
            "role": "assistant", "refusal": .null,
            "content": response.text.isEmpty && !response.toolCalls.isEmpty ? .null : .string(response.text),
        ]
        if !response.toolCalls.isEmpty {
            message["tool_calls"] = .array(
                response.toolCalls.map {
                    .object([
                        "id": .string($0.id), "type": "function",
                        "function": .object(["name": .string($0.name), "arguments": .string($0.arguments)]),
                    ])
                })
        }
        return .object([
            "id": .string(id), "object": "chat.completion", "created": .number(Double(created)), "model": .string(model),
            "choices": .array([
                .object([
                    "index": .number(0), "message": .object(message), "logprobs": .null,
                    "finish_reason": .string(finish(response.finishReason)),
                ])
            ]),
            "usage": usageJSON(usage),
        ])
    }

    static func chunk(id: String, model: String, created: Int, delta: JSONValue, finish: String? = nil) -> String {
        let o: JSONValue = .object([
            "id": .string(id), "object": "chat.completion.chunk", "created": .number(Double(created)), "model": .string(model),
            "choices": .array([
                .object([
                    "index": .number(0), "delta": delta, "logprobs": .null,
                    "finish_reason": finish.map(JSONValue.string) ?? .null,
                ])
            ]),
        ])
        return "data: " + o.jsonText + "\n\n"
    }

    static func usageChunk(id: String, model: String, created: Int, usage u: Usage) -> String {
        let o: JSONValue = .object([
            "id": .string(id), "object": "chat.completion.chunk", "created": .number(Double(created)), "model": .string(model),
            "choices": .array([]), "usage": usageJSON(u),
        ])
        return "data: " + o.jsonText + "\n\n"
    }
}
