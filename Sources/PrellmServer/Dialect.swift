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

    func errorBody(_ e: GatewayError) -> JSONValue {
        self == .openAI ? e.body : MessagesWire.errorBody(e)
    }
}
