import PrellmProviderKit
import PrellmSchema

/// Anthropic's Messages format, as the gateway serves it: requests with text, image, tool_use
/// and tool_result blocks and tools; answers with text and tool_use blocks, whole or as typed
/// stream events. Error messages follow Anthropic's `field.path: problem` style.
enum MessagesWire {
    /// - Parameter counting: a `count_tokens` body, which has no `max_tokens`.
    static func parse(_ body: [UInt8], maxMessages: Int, counting: Bool = false) throws(GatewayError) -> ChatWire.Request {
        let json: JSONValue
        do { json = try JSONParser.parse(bytes: body) } catch { throw GatewayError(.badRequest, "the body is not valid JSON: \(error)") }
        guard json.objectValue != nil else { throw GatewayError(.badRequest, "the body must be a JSON object") }
        guard let model = json["model"]?.stringValue, !model.isEmpty else { throw GatewayError(.badRequest, "model: Field required", param: "model") }
        guard let maxTokens = counting ? 1 : json["max_tokens"]?.int, maxTokens > 0 else {
            throw GatewayError(.badRequest, "max_tokens: Field required", param: "max_tokens")
        }
        guard maxTokens <= ChatWire.maxOutputTokens else {
            throw GatewayError(.badRequest, "max_tokens: must be at most \(ChatWire.maxOutputTokens)", param: "max_tokens")
        }
        guard let list = json["messages"]?.arrayValue, !list.isEmpty else {
            throw GatewayError(.badRequest, "messages: Field required", param: "messages")
        }
        guard list.count <= maxMessages else { throw GatewayError(.badRequest, "too many messages (\(list.count))", param: "messages") }
        var system: String?
        switch json["system"] {
        case .string(let s)?: system = s
        case .array(let blocks)?: system = blocks.compactMap { $0["text"]?.stringValue }.joined(separator: "\n")
        default: break
        }
        var messages: [ChatMessage] = []
        for (i, m) in list.enumerated() {
            messages += try self.messages(m, at: i)
        }
        var temperature: Double?
        if let t = json["temperature"], t != .null {
            guard let v = t.numberValue, v >= 0, v <= 1 else {
                throw GatewayError(.badRequest, "temperature: must be a number from 0 to 1", param: "temperature")
            }
            temperature = v
        }
        let last = messages.last { $0.role == .user }?.text ?? ""
        try ChatWire.refuseUnsupported(json, [("top_k", []), ("thinking", [.object(["type": "disabled"])])])
        var stop: [String]?
        if let list = json["stop_sequences"], list != .null {
            guard let items = list.arrayValue, case let strings = items.compactMap(\.stringValue), strings.count == items.count else {
                throw GatewayError(.badRequest, "stop_sequences: must be a list of strings", param: "stop_sequences")
            }
            stop = strings
        }
        var request = ChatWire.Request(
            model: model, system: system, messages: messages, stream: try ChatWire.flag(json, "stream"), includeUsage: true,
            temperature: temperature, maxTokens: maxTokens, topP: try ChatWire.topP(json, name: "top_p"), stop: stop,
            format: .text, lastUserText: last)
        (request.tools, request.toolChoice) = try tools(json)
        return request
    }

    /// One Anthropic message as the gateway's messages: a user turn that carries tool results
    /// becomes one `tool` message per result, then the user's own text, if any.
    static func messages(_ m: JSONValue, at i: Int) throws(GatewayError) -> [ChatMessage] {
        let role = m["role"]?.stringValue
        guard role == "user" || role == "assistant" else {
            throw GatewayError(.badRequest, "messages.\(i).role: must be user or assistant", param: "messages")
        }
        var parts: [ContentPart] = []
        var calls: [ToolCall] = []
        var results: [ChatMessage] = []
        switch m["content"] {
        case .string(let s)?: parts = [.text(s)]
        case .array(let blocks)?:
            for (k, b) in blocks.enumerated() {
                let at = "messages.\(i).content.\(k)"
                switch b["type"]?.stringValue {
                case "text"?:
                    guard let t = b["text"]?.stringValue else { throw GatewayError(.badRequest, "\(at).text: must be a string", param: "messages") }
                    parts.append(.text(t))
                case "image"?:
                    let src = b["source"]
                    if src?["type"] == "base64", let data = src?["data"]?.stringValue {
                        parts.append(.imageData(base64: data, mediaType: src?["media_type"]?.stringValue ?? "image/png"))
                    } else if let url = src?["url"]?.stringValue {
                        parts.append(.imageURL(url))
                    } else {
                        throw GatewayError(.badRequest, "\(at).source: needs base64 data or a url", param: "messages")
                    }
                case "tool_use"? where role == "assistant":
                    guard let id = b["id"]?.stringValue, let name = b["name"]?.stringValue else {
                        throw GatewayError(.badRequest, "\(at): a tool_use block needs id and name", param: "messages")
                    }
                    calls.append(ToolCall(id: id, name: name, arguments: (b["input"] ?? .object([:])).jsonText))
                case "tool_result"? where role == "user":
                    guard let id = b["tool_use_id"]?.stringValue else {
                        throw GatewayError(.badRequest, "\(at).tool_use_id: Field required", param: "messages")
                    }
                    let text: String
                    switch b["content"] {
                    case .string(let s)?: text = s
                    case .array(let inner)?: text = inner.compactMap { $0["type"] == "text" ? $0["text"]?.stringValue : nil }.joined(separator: "\n")
                    case nil, .null?: text = ""
                    default: throw GatewayError(.badRequest, "\(at).content: must be a string or a list of text blocks", param: "messages")
                    }
                    // An error result is passed on as such, in words the model reads.
                    let isError = b["is_error"] == .bool(true)
                    results.append(ChatMessage(role: .tool, content: [.text(isError ? "Error: " + text : text)], toolCallID: id))
                case let other:
                    // Refused rather than dropped: the model would answer another question.
                    throw GatewayError(
                        .badRequest,
                        "\(at).type: '\(other ?? "none")' is not supported here (text, image, tool_use from the assistant and tool_result from the user are)",
                        param: "messages")
                }
            }
        default: throw GatewayError(.badRequest, "messages.\(i).content: must be a string or a list of blocks", param: "messages")
        }
        if role == "assistant" { return [ChatMessage(role: .assistant, content: parts, toolCalls: calls)] }
        return results + (parts.isEmpty && !results.isEmpty ? [] : [ChatMessage(role: .user, content: parts)])
    }

    static func tools(_ json: JSONValue) throws(GatewayError) -> ([ToolDefinition], ChatRequest.ToolChoice?) {
        var tools: [ToolDefinition] = []
        if let list = json["tools"], list != .null {
            guard let items = list.arrayValue else { throw GatewayError(.badRequest, "tools: must be a list", param: "tools") }
            for (i, t) in items.enumerated() {
                guard let name = t["name"]?.stringValue, !name.isEmpty else {
                    throw GatewayError(.badRequest, "tools.\(i).name: Field required", param: "tools")
                }
                tools.append(
                    ToolDefinition(
                        name: name, description: t["description"]?.stringValue,
                        parameters: t["input_schema"] ?? .object(["type": "object"])))
            }
        }
        var choice: ChatRequest.ToolChoice?
        if let c = json["tool_choice"], c != .null {
            switch c["type"]?.stringValue {
            case "auto"?: choice = .auto
            case "any"?: choice = .required
            case "none"?: choice = ChatRequest.ToolChoice.none
            case "tool"?:
                guard let name = c["name"]?.stringValue else {
                    throw GatewayError(.badRequest, "tool_choice.name: Field required", param: "tool_choice")
                }
                choice = .tool(name)
            default: throw GatewayError(.badRequest, "tool_choice.type: must be auto, any, tool or none", param: "tool_choice")
            }
        }
        return (tools, choice)
    }

    static func stopReason(_ f: FinishReason) -> String {
        switch f {
        case .stop: "end_turn"
        case .length: "max_tokens"
        case .toolCalls: "tool_use"
        case .contentFilter: "refusal"
        case .other(let o): o.isEmpty ? "end_turn" : o
        }
    }

    /// A tool call's arguments as the `input` object Anthropic clients expect (arguments that
    /// are not a JSON object are passed as `{"arguments": "…"}` rather than lost).
    static func input(_ call: ToolCall) -> JSONValue {
        if let v = try? JSONParser.parse(call.arguments.isEmpty ? "{}" : call.arguments), v.objectValue != nil { return v }
        return .object(["arguments": .string(call.arguments)])
    }

    static func toolUse(_ call: ToolCall, input: JSONValue) -> JSONValue {
        .object(["type": "tool_use", "id": .string(call.id), "name": .string(call.name), "input": input])
    }

    static func message(id: String, model: String, response: ChatResponse, usage: Usage, open: Bool = false) -> JSONValue {
        var content: [JSONValue] = []
        if !open {
            // No empty text block: a client sends the content back, and the API refuses those.
            if !response.text.isEmpty { content.append(.object(["type": "text", "text": .string(response.text)])) }
            content += response.toolCalls.map { toolUse($0, input: input($0)) }
        }
        return .object([
            "id": .string("msg_" + id.filter { $0.isLetter || $0.isNumber }), "type": "message", "role": "assistant", "model": .string(model),
            "content": .array(content),
            "stop_reason": open ? .null : .string(stopReason(response.finishReason)), "stop_sequence": .null,
            "usage": .object(["input_tokens": .number(Double(usage.inputTokens)), "output_tokens": .number(Double(usage.outputTokens))]),
        ])
    }

    static func event(_ name: String, _ data: JSONValue) -> String { "event: \(name)\ndata: \(data.jsonText)\n\n" }

    static func errorBody(_ e: GatewayError) -> JSONValue {
        let type: String =
            switch e.kind {
            case .badRequest, .tooLarge: "invalid_request_error"
            case .unauthorized: "authentication_error"
            case .forbidden: "permission_error"
            case .notFound: "not_found_error"
            case .rateLimited: "rate_limit_error"
            case .unavailable: "overloaded_error"
            case .upstream, .timeout, .internal: "api_error"
            }
        return .object(["type": "error", "error": .object(["type": .string(type), "message": .string(e.message)])])
    }
}
