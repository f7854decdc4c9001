import Foundation
import PrellmProviderKit
import PrellmSchema

/// OpenAI's Responses format (`POST /v1/responses`), as the gateway serves it: a request's
/// `input` (text, or message, function_call and function_call_output items) becomes the same
/// chat every other dialect becomes, so it is routed to any model in that model's own wire
/// format; the answer is a Response object whose `output` is items, whole or as the typed
/// `response.*` stream events.
///
/// A conversation is continued by `previous_response_id`: the gateway keeps each answered turn
/// as input items (what was asked, then what was answered), which is the format this parser
/// reads, so a stored turn and a new one are read by the same code.
enum ResponsesWire {
    /// What a Responses request says beyond the chat it becomes.
    struct Turn: Sendable {
        /// The gateway's id for this answer (`resp_…`), made before the run so that a stream's
        /// first event and the stored turn carry the same one.
        var id: String
        var previousResponseID: String?
        /// Whether the answer is kept for `previous_response_id` and `GET /v1/responses/{id}`.
        var store: Bool
        var instructions: String?
        /// This request's input as items (text input as one user message).
        var input: [JSONValue]
        /// The earlier turns' items, read from the store when the request continues one.
        var history: [JSONValue] = []
        /// Request fields the Response object repeats, as the client sent them.
        var echo: Echo
    }

    struct Echo: Sendable {
        var tools: JSONValue = .array([])
        var toolChoice: JSONValue = "auto"
        var text: JSONValue = .object(["format": .object(["type": "text"])])
        var temperature: JSONValue = .null
        var topP: JSONValue = .null
        var maxOutputTokens: JSONValue = .null
        var parallelToolCalls = true
        var metadata: JSONValue = .object([:])
    }

    /// Request fields the gateway cannot honour, with the values that mean "not used"; others
    /// are refused by name rather than dropped (the answer would differ from what was asked).
    /// `reasoning` passes only empty: prellm's routes do not carry a reasoning effort.
    static let unsupported: [(name: String, neutral: [JSONValue])] = [
        ("background", [.bool(false)]), ("conversation", []), ("prompt", []), ("include", [.array([])]),
        ("truncation", ["disabled"]), ("top_logprobs", [.number(0)]), ("reasoning", [.object([:])]),
    ]

    static func parse(_ body: [UInt8], maxMessages: Int) throws(GatewayError) -> ChatWire.Request {
        let json: JSONValue
        do { json = try JSONParser.parse(bytes: body) } catch { throw GatewayError(.badRequest, "the body is not valid JSON: \(error)") }
        guard json.objectValue != nil else { throw GatewayError(.badRequest, "the body must be a JSON object") }
        guard let model = json["model"]?.stringValue, !model.isEmpty else {
            throw GatewayError(.badRequest, "'model' is required", param: "model")
        }
        try ChatWire.refuseUnsupported(json, unsupported)
        let input = try items(json["input"])
        guard input.count <= maxMessages else {
            throw GatewayError(.badRequest, "too many input items (\(input.count)); this gateway accepts at most \(maxMessages)", param: "input")
        }
        var echo = Echo()
        var turn = Turn(
            id: "resp_" + UUID().uuidString.lowercased().filter { $0 != "-" }, previousResponseID: try string(json, "previous_response_id"),
            store: json["store"] == .bool(false) ? false : true, instructions: try string(json, "instructions"), input: input, echo: echo)
        if let s = json["store"], s != .null, s.boolValue == nil { throw GatewayError(.badRequest, "'store' must be true or false", param: "store") }
        var temperature: Double?
        if let t = json["temperature"], t != .null {
            guard let v = t.numberValue, v >= 0, v <= 2 else {
                throw GatewayError(.badRequest, "'temperature' must be a number from 0 to 2", param: "temperature")
            }
            temperature = v
            echo.temperature = t
        }
        var maxTokens: Int?
        if let v = json["max_output_tokens"], v != .null {
            // OpenAI's own floor: fewer than 16 output tokens is refused.
            guard let n = v.int, Double(n) == v.numberValue, n >= 16, n <= ChatWire.maxOutputTokens else {
                throw GatewayError(
                    .badRequest, "'max_output_tokens' must be an integer from 16 to \(ChatWire.maxOutputTokens)", param: "max_output_tokens")
            }
            maxTokens = n
            echo.maxOutputTokens = v
        }
        let topP = try ChatWire.topP(json, name: "top_p")
        if topP != nil { echo.topP = json["top_p"]! }
        var request = ChatWire.Request(
            model: model, system: turn.instructions, messages: [], stream: try ChatWire.flag(json, "stream"), includeUsage: true,
            temperature: temperature, maxTokens: maxTokens, topP: topP, stop: nil, format: try format(json["text"]), lastUserText: "")
        if let text = json["text"], text != .null { echo.text = text }
        (request.tools, echo.tools) = try tools(json["tools"])
        (request.toolChoice, echo.toolChoice) = try toolChoice(json["tool_choice"])
        switch json["parallel_tool_calls"] {
        case nil, .null?: break
        case .bool(let b)?:
            request.parallelToolCalls = b
            echo.parallelToolCalls = b
        default: throw GatewayError(.badRequest, "'parallel_tool_calls' must be a boolean", param: "parallel_tool_calls")
        }
        if let m = json["metadata"], m != .null {
            guard m.objectValue != nil else { throw GatewayError(.badRequest, "'metadata' must be an object", param: "metadata") }
            echo.metadata = m
        }
        turn.echo = echo
        request.turn = turn
        try request.setConversation(history: [])
        return request
    }

    static func string(_ json: JSONValue, _ name: String) throws(GatewayError) -> String? {
        switch json[name] {
        case nil, .null?: return nil
        case .string(let s)?: return s
        default: throw GatewayError(.badRequest, "'\(name)' must be a string", param: name)
        }
    }

    /// `input` as items: a string is one user message.
    static func items(_ input: JSONValue?) throws(GatewayError) -> [JSONValue] {
        switch input {
        case .string(let s)?: return [.object(["type": "message", "role": "user", "content": .string(s)])]
        case .array(let list)? where !list.isEmpty: return list
        default: throw GatewayError(.badRequest, "'input' must be a string or a non-empty array of items", param: "input")
        }
    }

    /// Items as the gateway's messages. A `function_call` joins the assistant message before it
    /// (a model's text and its calls are one turn, which Anthropic and Gemini require); a
    /// `function_call_output` is a `tool` message. Reasoning items are the model's own
    /// scratchpad, opaque and provider-specific: they are not sent on, as every other model
    /// would refuse them.
    static func messages(_ items: [JSONValue], at path: String) throws(GatewayError) -> (system: [String], messages: [ChatMessage]) {
        var system: [String] = []
        var messages: [ChatMessage] = []
        for (i, item) in items.enumerated() {
            let at = "\(path)[\(i)]"
            guard item.objectValue != nil else { throw GatewayError(.badRequest, "\(at) must be an object", param: "input") }
            switch item["type"]?.stringValue {
            case "message"?, nil:
                let role = item["role"]?.stringValue
                let parts = try content(item["content"], at: at)
                switch role {
                case "system"?, "developer"?: system.append(parts.compactMap { if case .text(let t) = $0 { t } else { nil } }.joined())
                case "user"?: messages.append(ChatMessage(role: .user, content: parts))
                // Text after the same turn's calls (Anthropic may answer tool_use, then text) is
                // still that turn: consecutive assistant items are one message.
                case "assistant"? where messages.last?.role == .assistant: messages[messages.count - 1].content += parts
                case "assistant"?: messages.append(ChatMessage(role: .assistant, content: parts))
                default: throw GatewayError(.badRequest, "\(at).role must be user, assistant, system or developer", param: "input")
                }
            case "function_call"?:
                guard let callID = item["call_id"]?.stringValue, let name = item["name"]?.stringValue,
                    let arguments = item["arguments"]?.stringValue
                else {
                    throw GatewayError(.badRequest, "\(at): a function_call item needs call_id, name and arguments (strings)", param: "input")
                }
                let call = ToolCall(id: callID, name: name, arguments: arguments)
                if messages.last?.role == .assistant {
                    messages[messages.count - 1].toolCalls.append(call)
                } else {
                    messages.append(ChatMessage(role: .assistant, content: [], toolCalls: [call]))
                }
            case "function_call_output"?:
                guard let callID = item["call_id"]?.stringValue else {
                    throw GatewayError(.badRequest, "\(at): a function_call_output item needs call_id", param: "input")
                }
                let output: [ContentPart]
                if let s = item["output"]?.stringValue { output = [.text(s)] } else { output = try content(item["output"], at: at + ".output") }
                messages.append(ChatMessage(role: .tool, content: output, toolCallID: callID))
            case "reasoning"?: continue
            case let other?:
                throw GatewayError(
                    .badRequest,
                    "\(at): items of type '\(other)' are not supported by this gateway (message, function_call, function_call_output and reasoning are)",
                    param: "input")
            }
        }
        return (system, messages)
    }

    static func content(_ c: JSONValue?, at: String) throws(GatewayError) -> [ContentPart] {
        switch c {
        case .string(let s)?: return [.text(s)]
        case .array(let parts)?:
            return try parts.enumerated().map { (k, p) throws(GatewayError) -> ContentPart in
                switch p["type"]?.stringValue {
                case "input_text"?, "output_text"?, "text"?:
                    guard let t = p["text"]?.stringValue else {
                        throw GatewayError(.badRequest, "\(at).content[\(k)].text must be a string", param: "input")
                    }
                    return .text(t)
                case "input_image"?:
                    guard let url = p["image_url"]?.stringValue else {
                        throw GatewayError(
                            .badRequest, "\(at).content[\(k)]: an input_image needs image_url (file_id is not supported)", param: "input")
                    }
                    return .imageURL(url)
                case let other:
                    throw GatewayError(
                        .badRequest,
                        "\(at).content[\(k)]: unsupported content type '\(other ?? "none")' (input_text, output_text and input_image are)",
                        param: "input")
                }
            }
        default: throw GatewayError(.badRequest, "\(at).content must be a string or an array of content parts", param: "input")
        }
    }

    /// `text.format`: text, json_object or json_schema (whose fields sit beside `type`).
    static func format(_ text: JSONValue?) throws(GatewayError) -> ChatRequest.ResponseFormat {
        guard let f = text?["format"], f != .null else { return .text }
        switch f["type"]?.stringValue {
        case "text"?: return .text
        case "json_object"?: return .json
        case "json_schema"?:
            guard let schema = f["schema"], schema.objectValue != nil else {
                throw GatewayError(.badRequest, "text.format.schema must be a JSON Schema object", param: "text.format.schema")
            }
            return .jsonSchema(name: f["name"]?.stringValue ?? "response", schema: schema)
        default: throw GatewayError(.badRequest, "text.format.type must be text, json_object or json_schema", param: "text.format.type")
        }
    }

    /// Function tools, flat as the Responses API writes them; built-in tools (web search, file
    /// search, …) run inside OpenAI and cannot be routed to another model, so they are refused.
    static func tools(_ value: JSONValue?) throws(GatewayError) -> ([ToolDefinition], JSONValue) {
        guard let value, value != .null else { return ([], .array([])) }
        guard let list = value.arrayValue else { throw GatewayError(.badRequest, "'tools' must be an array", param: "tools") }
        var tools: [ToolDefinition] = []
        var echoed: [JSONValue] = []
        for (i, t) in list.enumerated() {
            guard t["type"] == "function" else {
                throw GatewayError(
                    .badRequest, "tools[\(i)]: tools of type '\(t["type"]?.stringValue ?? "none")' are not supported by this gateway (function is)",
                    param: "tools")
            }
            guard let name = t["name"]?.stringValue, !name.isEmpty else {
                throw GatewayError(.badRequest, "tools[\(i)] needs a name", param: "tools")
            }
            let parameters = t["parameters"].flatMap { $0 == .null ? nil : $0 } ?? .object(["type": "object", "properties": .object([:])])
            tools.append(ToolDefinition(name: name, description: t["description"]?.stringValue, parameters: parameters))
            echoed.append(
                .object([
                    "type": "function", "name": .string(name), "description": t["description"] ?? .null, "parameters": parameters,
                    "strict": t["strict"] ?? .bool(true),
                ]))
        }
        return (tools, .array(echoed))
    }

    static func toolChoice(_ value: JSONValue?) throws(GatewayError) -> (ChatRequest.ToolChoice?, JSONValue) {
        switch value {
        case nil, .null?: return (nil, "auto")
        case .string("auto")?: return (.auto, "auto")
        // Spelled out: `.none` alone would be the Optional's nil.
        case .string("none")?: return (ChatRequest.ToolChoice.none, "none")
        case .string("required")?: return (.required, "required")
        case .object(let o)? where o["type"] == "function":
            guard let name = o["name"]?.stringValue else {
                throw GatewayError(.badRequest, "tool_choice.name is required for a function tool choice", param: "tool_choice")
            }
            return (.tool(name), value!)
        default:
            throw GatewayError(.badRequest, "'tool_choice' must be auto, none, required or {type: function, name}", param: "tool_choice")
        }
    }
}

extension ChatWire.Request {
    /// Sets the chat from a Responses turn: the stored history's items, then this request's.
    /// Earlier turns' instructions are not carried over (OpenAI's rule): the system message
    /// is this request's instructions and any system or developer items.
    mutating func setConversation(history: [JSONValue]) throws(GatewayError) {
        guard var turn else { return }
        turn.history = history
        let (system, messages) = try ResponsesWire.messages(history + turn.input, at: "input")
        let parts = [turn.instructions].compactMap { $0 } + system
        self.system = parts.isEmpty ? nil : parts.joined(separator: "\n\n")
        self.messages = messages
        self.turn = turn
        lastUserText = messages.last { $0.role == .user }?.text ?? ""
        guard !messages.isEmpty else { throw GatewayError(.badRequest, "'input' holds no message to answer", param: "input") }
    }
}
