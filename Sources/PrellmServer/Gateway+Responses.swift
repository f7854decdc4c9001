import Foundation
import Hummingbird
import PrellmCompiler
import PrellmSchema

/// The Responses API's conversation state: a turn continued with `previous_response_id`, the
/// answers kept for it, and `GET`/`DELETE /v1/responses/{id}`. Kept answers belong to the
/// key that made them; another key is told they do not exist.
extension Gateway {
    /// The key id an answer is kept under ("" on a gateway without keys).
    static func owner(_ key: GatewayKey?) -> String { key?.id ?? "" }

    /// Prepends the stored conversation a Responses request continues.
    func continueTurn(_ chat: inout ChatWire.Request, key: GatewayKey?) async throws(GatewayError) {
        guard let previous = chat.turn?.previousResponseID else { return }
        let stored: StoredResponse?
        do { stored = try await store.storedResponse(id: previous, keyID: Self.owner(key), now: Date()) } catch {
            throw GatewayError(.unavailable, "the response store cannot be read")
        }
        guard let stored, case .array(let history)? = try? JSONParser.parse(stored.conversation) else {
            // As OpenAI answers it: a 400 naming the parameter (a GET of an unknown id is the 404).
            throw GatewayError(
                .badRequest, "Previous response with id '\(previous)' not found.", param: "previous_response_id",
                code: "previous_response_not_found")
        }
        try chat.setConversation(history: history)
        guard chat.messages.count <= config.server.maxMessages else {
            throw GatewayError(
                .badRequest,
                "the conversation has \(chat.messages.count) messages with the earlier turns; this gateway accepts at most \(config.server.maxMessages)",
                param: "previous_response_id")
        }
    }

    /// Keeps an answered turn, unless the request said `store: false`. A store that fails does
    /// not fail the answer, which was made and billed: it is logged, and a later turn that
    /// names it gets a 404.
    func remember(_ turn: ResponsesWire.Turn, object: JSONValue, output: [JSONValue], key: GatewayKey?) async {
        guard turn.store else { return }
        let conversation = JSONValue.array(turn.history + turn.input + output)
        let kept = StoredResponse(
            id: turn.id, keyID: Self.owner(key), object: object.jsonText, conversation: conversation.jsonText,
            expires: Date().addingTimeInterval(Double(config.responseTTL.components.seconds)))
        do { try await store.save(kept) } catch {
            log(
                JSONValue.object(["level": "error", "error": .string("response \(turn.id) not kept: \(error)"), "error_kind": "store"])
                    .jsonText)
        }
    }

    /// `GET /v1/responses/{id}`: a kept answer as it was sent.
    func retrieveResponse(_ request: Request, id: String) async -> Response {
        do throws(GatewayError) {
            let key = try await authenticate(request)
            let stored: StoredResponse?
            do { stored = try await store.storedResponse(id: id, keyID: Self.owner(key), now: Date()) } catch {
                throw GatewayError(.unavailable, "the response store cannot be read")
            }
            guard let stored, let object = try? JSONParser.parse(stored.object) else { throw Self.noResponse(id) }
            return Self.json(200, object)
        } catch {
            return Self.error(error, requestID: nil)
        }
    }

    /// `DELETE /v1/responses/{id}`.
    func deleteResponse(_ request: Request, id: String) async -> Response {
        do throws(GatewayError) {
            let key = try await authenticate(request)
            let deleted: Bool
            do { deleted = try await store.deleteResponse(id: id, keyID: Self.owner(key)) } catch {
                throw GatewayError(.unavailable, "the response store cannot be written")
            }
            guard deleted else { throw Self.noResponse(id) }
            return Self.json(200, .object(["id": .string(id), "object": "response", "deleted": true]))
        } catch {
            return Self.error(error, requestID: nil)
        }
    }

    static func noResponse(_ id: String) -> GatewayError {
        GatewayError(.notFound, "Response with id '\(id)' not found.", param: "response_id")
    }
}
