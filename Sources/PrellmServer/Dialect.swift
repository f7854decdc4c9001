import Foundation
import PrellmProviderKit
import PrellmSchema

/// A Dialect is one wire format the gateway speaks to its clients: OpenAI's Chat Completions
/// (`/v1/chat/completions`) or Anthropic's Messages (`/v1/messages`). Both parse into the same
/// request and are served by the same routing; only the bytes on the wire differ.
enum Dialect: Sendable {
    case openAI, anthropic

    var path: String { self == .openAI ? "/v1/chat/completions" : "/v1/messages" }

    func parse(_ body: [UInt8], maxMessages: Int) throws(GatewayError) -> ChatWire.Request {
        switch self {
        case .openAI: try ChatWire.parse(body, maxMessages: maxMessages)
        case .anthropic: try MessagesWire.parse(body, maxMessages: maxMessages)
        }
    }

    func whole(id: String, model: String, created: Int, response: ChatResponse, usage: Usage) -> String {
        switch self {
        case .openAI: ChatWire.completion(id: id, model: model, created: created, response: response, usage: usage).jsonText
        case .anthropic: MessagesWire.message(id: id, model: model, response: response, usage: usage).jsonText
        }
    }

    func streamStart(id: String, model: String, created: Int) -> String {
        switch self {
        case .openAI: ChatWire.chunk(id: id, model: model, created: created, delta: .object(["role": "assistant", "content": ""]))
        case .anthropic: MessagesWire.event("message_start", .object(["type": "message_start", "message": MessagesWire.message(
            id: id, model: model, response: ChatResponse(model: model, text: "", finishReason: .other("")), usage: Usage(inputTokens: 0, outputTokens: 0), open: true)]))
            + MessagesWire.event("content_block_start", .object(["type": "content_block_start", "index": .number(0),
                                                                 "content_block": .object(["type": "text", "text": ""])]))
        }
    }

    func streamText(id: String, model: String, created: Int, _ text: String) -> String {
        switch self {
        case .openAI: ChatWire.chunk(id: id, model: model, created: created, delta: .object(["content": .string(text)]))
        case .anthropic: MessagesWire.event("content_block_delta", .object(["type": "content_block_delta", "index": .number(0),
                                                                           "delta": .object(["type": "text_delta", "text": .string(text)])]))
        }
    }

    func streamEnd(id: String, model: String, created: Int, response: ChatResponse, usage: Usage, includeUsage: Bool) -> String {
        switch self {
        case .openAI:
            (response.toolCalls.isEmpty ? "" : ChatWire.chunk(id: id, model: model, created: created, delta: .object(["tool_calls": .array(
                response.toolCalls.enumerated().map { i, c in
                    .object(["index": .number(Double(i)), "id": .string(c.id), "type": "function",
                             "function": .object(["name": .string(c.name), "arguments": .string(c.arguments)])])
                })])))
            + ChatWire.chunk(id: id, model: model, created: created, delta: .object([:]), finish: ChatWire.finish(response.finishReason))
                + (includeUsage ? ChatWire.usageChunk(id: id, model: model, created: created, usage: usage) : "")
                + "data: [DONE]\n\n"
        case .anthropic:
            MessagesWire.event("content_block_stop", .object(["type": "content_block_stop", "index": .number(0)]))
                + MessagesWire.event("message_delta", .object([
                    "type": "message_delta",
                    "delta": .object(["stop_reason": .string(MessagesWire.stopReason(response.finishReason)), "stop_sequence": .null]),
                    "usage": .object(["input_tokens": .number(Double(usage.inputTokens)), "output_tokens": .number(Double(usage.outputTokens))]),
                ]))
                + MessagesWire.event("message_stop", .object(["type": "message_stop"]))
        }
    }

    func streamFailure(_ e: GatewayError) -> String {
        switch self {
        case .openAI: "data: " + e.body.jsonText + "\n\ndata: [DONE]\n\n"
        case .anthropic: MessagesWire.event("error", MessagesWire.errorBody(e))
        }
    }

    func errorBody(_ e: GatewayError) -> JSONValue {
        self == .openAI ? e.body : MessagesWire.errorBody(e)
    }
}

/// Anthropic's Messages format, as the gateway serves it.
enum MessagesWire {
    static func parse(_ body: [UInt8], maxMessages: Int) throws(GatewayError) -> ChatWire.Request {
        let json: JSONValue
        do { json = try JSONParser.parse(bytes: body) } catch { throw GatewayError(.badRequest, "the body is not valid JSON: \(error)") }
        guard json.objectValue != nil else { throw GatewayError(.badRequest, "the body must be a JSON object") }
        guard let model = json["model"]?.stringValue, !model.isEmpty else { throw GatewayError(.badRequest, "model: Field required", param: "model") }
        if let tools = json["tools"], tools != .null, tools != .array([]) {
            throw GatewayError(.badRequest, "tools: not supported on /v1/messages by this gateway; send tool requests to /v1/chat/completions", param: "tools")
        }
        guard let maxTokens = json["max_tokens"]?.int, maxTokens > 0 else {
            throw GatewayError(.badRequest, "max_tokens: Field required", param: "max_tokens")
        }
        guard let list = json["messages"]?.arrayValue, !list.isEmpty else { throw GatewayError(.badRequest, "messages: Field required", param: "messages") }
        guard list.count <= maxMessages else { throw GatewayError(.badRequest, "too many messages (\(list.count))", param: "messages") }
        var system: String?
        switch json["system"] {
        case .string(let s)?: system = s
        case .array(let blocks)?: system = blocks.compactMap { $0["text"]?.stringValue }.joined(separator: "\n")
        default: break
        }
        var messages: [ChatMessage] = []
        for (i, m) in list.enumerated() {
            let role = m["role"]?.stringValue
            guard role == "user" || role == "assistant" else {
                throw GatewayError(.badRequest, "messages.\(i).role: must be user or assistant", param: "messages")
            }
            var parts: [ContentPart] = []
            switch m["content"] {
            case .string(let s)?: parts = [.text(s)]
            case .array(let blocks)?:
                for (k, b) in blocks.enumerated() {
                    switch b["type"]?.stringValue {
                    case "text"?:
                        guard let t = b["text"]?.stringValue else {
                            throw GatewayError(.badRequest, "messages.\(i).content.\(k).text: must be a string", param: "messages")
                        }
                        parts.append(.text(t))
                    case "image"?:
                        let src = b["source"]
                        if src?["type"] == "base64", let data = src?["data"]?.stringValue {
                            parts.append(.imageData(base64: data, mediaType: src?["media_type"]?.stringValue ?? "image/png"))
                        } else if let url = src?["url"]?.stringValue { parts.append(.imageURL(url)) }
                        else { throw GatewayError(.badRequest, "messages.\(i).content.\(k).source: needs base64 data or a url", param: "messages") }
                    case let other:
                        // Refused rather than dropped: the model would answer another question.
                        throw GatewayError(.badRequest, "messages.\(i).content.\(k).type: '\(other ?? "none")' is not supported by this gateway (text and image are)", param: "messages")
                    }
                }
            default: throw GatewayError(.badRequest, "messages.\(i).content: must be a string or a list of blocks", param: "messages")
            }
            messages.append(ChatMessage(role: role == "user" ? .user : .assistant, content: parts))
        }
        let last = messages.last { $0.role == .user }?.text ?? ""
        var temperature: Double?
        if let t = json["temperature"], t != .null {
            guard let v = t.numberValue, v >= 0, v <= 1 else {
                throw GatewayError(.badRequest, "temperature: must be a number from 0 to 1", param: "temperature")
            }
            temperature = v
        }
        return ChatWire.Request(model: model, system: system, messages: messages, stream: try ChatWire.flag(json, "stream"), includeUsage: true,
                                temperature: temperature, maxTokens: maxTokens, format: .text, lastUserText: last)
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

    static func message(id: String, model: String, response: ChatResponse, usage: Usage, open: Bool = false) -> JSONValue {
        .object([
            "id": .string("msg_" + id.filter { $0.isLetter || $0.isNumber }), "type": "message", "role": "assistant", "model": .string(model),
            "content": open ? .array([]) : .array([.object(["type": "text", "text": .string(response.text)])]),
            "stop_reason": open ? .null : .string(stopReason(response.finishReason)), "stop_sequence": .null,
            "usage": .object(["input_tokens": .number(Double(usage.inputTokens)), "output_tokens": .number(Double(usage.outputTokens))]),
        ])
    }

    static func event(_ name: String, _ data: JSONValue) -> String { "event: \(name)\ndata: \(data.jsonText)\n\n" }

    static func errorBody(_ e: GatewayError) -> JSONValue {
        let type: String = switch e.kind {
        case .badRequest, .tooLarge: "invalid_request_error"
        case .unauthorized: "authentication_error"
        case .forbidden: "permission_error"
        case .notFound: "not_found_error"
        case .rateLimited: "rate_limit_error"
        case .unavailable: "overloaded_error"
        case .upstream, .timeout: "api_error"
        }
        return .object(["type": "error", "error": .object(["type": .string(type), "message": .string(e.message)])])
    }
}
