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
            MessagesWire.streamEnd(response: response, usage: usage)
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
