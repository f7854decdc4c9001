import Foundation
import PrellmProviderKit
import PrellmSchema

/// A ResponsesStream writes one answer as the Responses API's typed events, in OpenAI's order:
/// `response.created`, `response.in_progress`; per output item `response.output_item.added`,
/// its content (`response.content_part.added`, `response.output_text.delta`… `.done`,
/// `response.content_part.done`, or `response.function_call_arguments.delta`… `.done`) and
/// `response.output_item.done`; then `response.completed` (or `response.incomplete`) with the
/// whole Response and its usage. Every event has the next `sequence_number`.
///
/// The final Response's output is built from what was streamed, so a client that accumulates
/// the deltas and one that reads the final object see the same answer.
struct ResponsesStream: StreamEncoding {
    let turn: ResponsesWire.Turn
    let model: String
    let created: Int

    private enum Open {
        case message(index: Int, text: String)
        case call(index: Int, call: Int, id: String, name: String, arguments: String)
    }

    private var sequence = 0
    private var open: Open?
    /// The finished output items, in order.
    private var items: [JSONValue] = []
    private var streamedToolCalls = false
    /// The Response object `end` sent, for the stored turn.
    private(set) var final: JSONValue?

    init(turn: ResponsesWire.Turn, model: String, created: Int) {
        self.turn = turn
        self.model = model
        self.created = created
    }

    private mutating func event(_ type: String, _ fields: [String: JSONValue]) -> String {
        defer { sequence += 1 }
        return ResponsesWire.event(type, fields, sequence: sequence)
    }

    mutating func start(inputTokens: Int) -> String {
        let object = ResponsesWire.object(turn: turn, model: model, created: created, status: .inProgress, output: [], usage: nil)
        return event("response.created", ["response": object]) + event("response.in_progress", ["response": object])
    }

    mutating func text(_ text: String) -> String {
        guard !text.isEmpty else { return "" }
        var out = ""
        if case .message? = open {} else { out += close() + openMessage() }
        guard case .message(let index, let sofar)? = open else { return out }
        open = .message(index: index, text: sofar + text)
        return out
            + event(
                "response.output_text.delta",
                [
                    "item_id": .string(ResponsesWire.messageID(turn, index)), "output_index": .number(Double(index)),
                    "content_index": .number(0), "delta": .string(text), "logprobs": .array([]),
                ])
    }

    /// Opens the answer's message: the item, then its one text part.
    private mutating func openMessage() -> String {
        let index = items.count
        let id = ResponsesWire.messageID(turn, index)
        open = .message(index: index, text: "")
        return event(
            "response.output_item.added",
            ["output_index": .number(Double(index)), "item": ResponsesWire.message(id: id, text: nil, status: .inProgress)])
            + event(
                "response.content_part.added",
                [
                    "item_id": .string(id), "output_index": .number(Double(index)), "content_index": .number(0),
                    "part": ResponsesWire.outputText(""),
                ])
    }

    mutating func toolCall(index call: Int, id callID: String?, name: String?, arguments: String) -> String {
        streamedToolCalls = true
        var out = ""
        if case .call(_, let c, _, _, _)? = open, c == call {
        } else {
            out += close()
            let index = items.count
            let opened = ToolCall(id: callID ?? "", name: name ?? "", arguments: "")
            out += event(
                "response.output_item.added",
                [
                    "output_index": .number(Double(index)),
                    "item": ResponsesWire.functionCall(id: ResponsesWire.callItemID(turn, call), call: opened, status: .inProgress),
                ])
            open = .call(index: index, call: call, id: opened.id, name: opened.name, arguments: "")
        }
        guard case .call(let index, let c, let id, let n, let sofar)? = open else { return out }
        open = .call(index: index, call: c, id: id, name: n, arguments: sofar + arguments)
        guard !arguments.isEmpty else { return out }
        return out
            + event(
                "response.function_call_arguments.delta",
                [
                    "item_id": .string(ResponsesWire.callItemID(turn, c)), "output_index": .number(Double(index)),
                    "delta": .string(arguments),
                ])
    }

    mutating func end(response: ChatResponse, usage: Usage, includeUsage: Bool) -> String {
        var out = close()
        if !streamedToolCalls {
            for (k, call) in response.toolCalls.enumerated() {
                out += toolCall(index: k, id: call.id, name: call.name, arguments: call.arguments) + close()
            }
        }
        // An answer with no text and no calls is still one (empty) message, as whole.
        if items.isEmpty { out += openMessage() + close() }
        let (status, incomplete) = ResponsesWire.ending(response.finishReason)
        let object = ResponsesWire.object(
            turn: turn, model: model, created: created, status: status, output: items, usage: usage, incomplete: incomplete)
        final = object
        return out + event(status == .completed ? "response.completed" : "response.incomplete", ["response": object])
    }

    mutating func failure(_ e: GatewayError) -> String {
        let object = ResponsesWire.object(
            turn: turn, model: model, created: created, status: .failed, output: items, usage: nil, error: ResponsesWire.errorObject(e))
        return event("response.failed", ["response": object])
    }

    /// Closes the open item: its content's `done` events, then `response.output_item.done`.
    private mutating func close() -> String {
        guard let o = open else { return "" }
        open = nil
        switch o {
        case .message(let index, let text):
            let id = ResponsesWire.messageID(turn, index)
            let item = ResponsesWire.message(id: id, text: text, status: .completed)
            items.append(item)
            let at: [String: JSONValue] = ["item_id": .string(id), "output_index": .number(Double(index)), "content_index": .number(0)]
            return event("response.output_text.done", at.merging(["text": .string(text), "logprobs": .array([])]) { a, _ in a })
                + event("response.content_part.done", at.merging(["part": ResponsesWire.outputText(text)]) { a, _ in a })
                + event("response.output_item.done", ["output_index": .number(Double(index)), "item": item])
        case .call(let index, let c, let callID, let name, let arguments):
            let id = ResponsesWire.callItemID(turn, c)
            let item = ResponsesWire.functionCall(id: id, call: ToolCall(id: callID, name: name, arguments: arguments), status: .completed)
            items.append(item)
            return event(
                "response.function_call_arguments.done",
                ["item_id": .string(id), "output_index": .number(Double(index)), "name": .string(name), "arguments": .string(arguments)])
                + event("response.output_item.done", ["output_index": .number(Double(index)), "item": item])
        }
    }
}
