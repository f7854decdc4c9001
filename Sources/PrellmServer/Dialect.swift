import Foundation
import PrellmProviderKit
import PrellmSchema

/// A Dialect is one wire format the gateway speaks to its clients: OpenAI's Chat Completions
/// (`/v1/chat/completions`), OpenAI's Responses (`/v1/responses`) or Anthropic's Messages
/// (`/v1/messages`). All parse into the same request and are served by the same routing;
/// only the bytes on the wire differ.
enum Dialect: Sendable {
    case openAI, responses, anthropic

    var path: String {
        switch self {
        case .openAI: "/v1/chat/completions"
        case .responses: "/v1/responses"
        case .anthropic: "/v1/messages"
        }
    }

    func parse(_ body: [UInt8], maxMessages: Int) throws(GatewayError) -> ChatWire.Request {
        switch self {
        case .openAI: try ChatWire.parse(body, maxMessages: maxMessages)
        case .responses: try ResponsesWire.parse(body, maxMessages: maxMessages)
        case .anthropic: try MessagesWire.parse(body, maxMessages: maxMessages)
        }
    }

    /// The answer's id, from the request id (a Responses answer has its own, made at parse).
    func answerID(_ chat: ChatWire.Request, requestID: String) -> String {
        let suffix = requestID.filter { $0 != "-" }.prefix(24)
        switch self {
        case .openAI: return "chatcmpl-" + suffix
        case .responses: return chat.turn?.id ?? "resp_" + suffix
        case .anthropic: return "msg_" + suffix
        }
    }

    func whole(id: String, chat: ChatWire.Request, created: Int, response: ChatResponse, usage: Usage) -> JSONValue {
        switch self {
        case .openAI: ChatWire.completion(id: id, model: chat.model, created: created, response: response, usage: usage)
        case .responses:
            chat.turn.map { ResponsesWire.whole(turn: $0, model: chat.model, created: created, response: response, usage: usage) }
                ?? .null
        case .anthropic: MessagesWire.message(id: id, model: chat.model, response: response, usage: usage)
        }
    }

    func encoder(id: String, chat: ChatWire.Request, created: Int) -> any StreamEncoding {
        switch self {
        case .openAI: StreamEncoder(dialect: .openAI, id: id, model: chat.model, created: created)
        case .anthropic: StreamEncoder(dialect: .anthropic, id: id, model: chat.model, created: created)
        case .responses:
            ResponsesStream(
                turn: chat.turn ?? ResponsesWire.Turn(id: id, store: false, input: [], echo: .init()), model: chat.model,
                created: created)
        }
    }

    func errorBody(_ e: GatewayError) -> JSONValue {
        self == .anthropic ? MessagesWire.errorBody(e) : e.body
    }
}
