import Foundation
import PrellmProviderKit
import PrellmSchema

/// The Response object and its output items, as OpenAI writes them: every field its OpenAPI
/// schema requires, the request's settings echoed.
extension ResponsesWire {
    enum Status: String {
        case inProgress = "in_progress", completed, incomplete, failed
    }

    /// An answer's output items: its text as one assistant message (when it has text, or
    /// nothing else), then one `function_call` item per call.
    static func outputItems(_ response: ChatResponse, turn: Turn) -> [JSONValue] {
        var items: [JSONValue] = []
        if !response.text.isEmpty || response.toolCalls.isEmpty {
            items.append(message(id: messageID(turn, 0), text: response.text, status: .completed))
        }
        for (i, call) in response.toolCalls.enumerated() {
            items.append(functionCall(id: callItemID(turn, i), call: call, status: .completed))
        }
        return items
    }

    /// An output message's id: the response's, and the item's position (an answer may hold
    /// text, calls, then more text).
    static func messageID(_ turn: Turn, _ index: Int) -> String { "msg_" + turn.id.dropFirst(5) + "_\(index)" }
    static func callItemID(_ turn: Turn, _ index: Int) -> String { "fc_" + turn.id.dropFirst(5) + "_\(index)" }

    static func message(id: String, text: String?, status: Status) -> JSONValue {
        .object([
            "type": "message", "id": .string(id), "role": "assistant", "status": .string(status.rawValue),
            "content": .array(text.map { [outputText($0)] } ?? []),
        ])
    }

    static func outputText(_ text: String) -> JSONValue {
        .object(["type": "output_text", "text": .string(text), "annotations": .array([]), "logprobs": .array([])])
    }

    static func functionCall(id: String, call: ToolCall, status: Status) -> JSONValue {
        .object([
            "type": "function_call", "id": .string(id), "call_id": .string(call.id), "name": .string(call.name),
            "arguments": .string(call.arguments), "status": .string(status.rawValue),
        ])
    }

    static func usage(_ u: Usage) -> JSONValue {
        .object([
            "input_tokens": .number(Double(u.inputTokens)),
            "input_tokens_details": .object([
                "cached_tokens": .number(Double(u.cachedInputTokens ?? 0)), "cache_write_tokens": .number(0),
            ]),
            "output_tokens": .number(Double(u.outputTokens)),
            "output_tokens_details": .object(["reasoning_tokens": .number(0)]),
            "total_tokens": .number(Double(u.totalTokens)),
        ])
    }

    /// The status an answer ends with: cut off at the token limit is `incomplete`, as OpenAI
    /// reports it, with the reason.
    static func ending(_ finish: FinishReason) -> (Status, JSONValue) {
        switch finish {
        case .length: (.incomplete, .object(["reason": "max_output_tokens"]))
        case .contentFilter: (.incomplete, .object(["reason": "content_filter"]))
        default: (.completed, .null)
        }
    }

    /// The Response object.
    static func object(
        turn: Turn, model: String, created: Int, status: Status, output: [JSONValue], usage: Usage?,
        incomplete: JSONValue = .null, error: JSONValue = .null
    ) -> JSONValue {
        let e = turn.echo
        // `usage` is left out until there is some, as OpenAI's schema has it (an object, not null).
        var fields: [String: JSONValue] = [
            "id": .string(turn.id), "object": "response", "created_at": .number(Double(created)), "status": .string(status.rawValue),
            "completed_at": status == .completed ? .number(Double(Int(Date().timeIntervalSince1970))) : .null,
            "error": error, "incomplete_details": incomplete, "instructions": turn.instructions.map(JSONValue.string) ?? .null,
            "max_output_tokens": e.maxOutputTokens, "model": .string(model), "output": .array(output),
            "parallel_tool_calls": .bool(e.parallelToolCalls), "previous_response_id": turn.previousResponseID.map(JSONValue.string) ?? .null,
            "reasoning": .object(["effort": .null, "summary": .null]), "store": .bool(turn.store), "temperature": e.temperature,
            "text": e.text, "tool_choice": e.toolChoice, "tools": e.tools, "top_p": e.topP, "truncation": "disabled",
            "metadata": e.metadata,
        ]
        if let usage { fields["usage"] = Self.usage(usage) }
        return .object(fields)
    }

    /// A whole answer's Response object.
    static func whole(turn: Turn, model: String, created: Int, response: ChatResponse, usage: Usage) -> JSONValue {
        let (status, incomplete) = ending(response.finishReason)
        return object(
            turn: turn, model: model, created: created, status: status, output: outputItems(response, turn: turn), usage: usage,
            incomplete: incomplete)
    }

    /// The error a failed response carries, in the codes the schema allows.
    static func errorObject(_ e: GatewayError) -> JSONValue {
        .object(["code": e.kind == .rateLimited ? "rate_limit_exceeded" : "server_error", "message": .string(e.message)])
    }

    static func event(_ type: String, _ fields: [String: JSONValue], sequence: Int) -> String {
        var f = fields
        f["type"] = .string(type)
        f["sequence_number"] = .number(Double(sequence))
        return "event: \(type)\ndata: \(JSONValue.object(f).jsonText)\n\n"
    }
}
