import PrellmProviderKit
import PrellmSchema

/// A StreamEncoder writes one streamed answer in a client's dialect, piece by piece as the
/// upstream sends them: text, and tool calls whose arguments arrive in fragments.
///
/// OpenAI chunks are stateless. Anthropic's events are not: content is a sequence of blocks
/// (text, tool_use), each opened, filled and closed before the next, so the encoder keeps which
/// block is open and closes it when the next kind of piece arrives.
protocol StreamEncoding {
    /// The opening events, before any content; `inputTokens` is the prompt as counted before
    /// the upstream answers.
    mutating func start(inputTokens: Int) -> String
    mutating func text(_ text: String) -> String
    /// A fragment of tool call `index`: its id and name come with the first fragment.
    mutating func toolCall(index: Int, id: String?, name: String?, arguments: String) -> String
    mutating func end(response: ChatResponse, usage: Usage, includeUsage: Bool) -> String
    mutating func failure(_ e: GatewayError) -> String
}

struct StreamEncoder: StreamEncoding {
    /// The two chat dialects (the Responses API has its own encoder, ResponsesStream).
    enum Format { case openAI, anthropic }

    let dialect: Format
    let id: String
    let model: String
    let created: Int

    private enum Block { case text(Int), tool(call: Int, block: Int) }
    private var open: Block?
    private var nextBlock = 0
    /// True once a tool call went out in pieces; the end then need not send the calls whole.
    private var streamedToolCalls = false

    init(dialect: Format, id: String, model: String, created: Int) {
        self.dialect = dialect
        self.id = id
        self.model = model
        self.created = created
    }

    /// The opening of the answer. For Anthropic, `message_start` carries the prompt's input
    /// tokens as counted before the upstream answers (the billed count follows in
    /// `message_delta`); no content block is opened yet: a text block opens with the first
    /// text, so an answer that is only a tool call has no empty text block for the client to
    /// send back (the Messages API refuses empty text blocks).
    mutating func start(inputTokens: Int) -> String {
        switch dialect {
        case .openAI:
            return ChatWire.chunk(id: id, model: model, created: created, delta: .object(["role": "assistant", "content": ""]))
        case .anthropic:
            let message = MessagesWire.message(
                id: id, model: model, response: ChatResponse(model: model, text: "", finishReason: .other("")),
                usage: Usage(inputTokens: inputTokens, outputTokens: 0), open: true)
            return MessagesWire.event("message_start", .object(["type": "message_start", "message": message]))
        }
    }

    mutating func text(_ text: String) -> String {
        if text.isEmpty { return "" }
        switch dialect {
        case .openAI:
            return ChatWire.chunk(id: id, model: model, created: created, delta: .object(["content": .string(text)]))
        case .anthropic:
            var out = ""
            let index: Int
            if case .text(let i)? = open {
                index = i
            } else {
                out += close() + openText()
                index = nextBlock - 1
            }
            return out + Self.blockDelta(index, .object(["type": "text_delta", "text": .string(text)]))
        }
    }

    /// A fragment of tool call `index`: its id and name come with the first fragment.
    mutating func toolCall(index: Int, id callID: String?, name: String?, arguments: String) -> String {
        streamedToolCalls = true
        switch dialect {
        case .openAI:
            var call: [String: JSONValue] = ["index": .number(Double(index))]
            if let callID { call["id"] = .string(callID); call["type"] = "function" }
            var function: [String: JSONValue] = ["arguments": .string(arguments)]
            if let name { function["name"] = .string(name) }
            call["function"] = .object(function)
            return ChatWire.chunk(id: id, model: model, created: created, delta: .object(["tool_calls": .array([.object(call)])]))
        case .anthropic:
            var out = ""
            let block: Int
            if case .tool(let call, let b)? = open, call == index {
                block = b
            } else {
                out += close()
                block = nextBlock
                nextBlock += 1
                open = .tool(call: index, block: block)
                out += MessagesWire.event(
                    "content_block_start",
                    .object([
                        "type": "content_block_start", "index": .number(Double(block)),
                        "content_block": MessagesWire.toolUse(ToolCall(id: callID ?? "", name: name ?? "", arguments: ""), input: .object([:])),
                    ]))
            }
            guard !arguments.isEmpty else { return out }
            return out + Self.blockDelta(block, .object(["type": "input_json_delta", "partial_json": .string(arguments)]))
        }
    }

    /// The close of the answer: tool calls not streamed (a workflow's, an upstream that sent
    /// them whole) go out complete, then the finish reason and usage.
    mutating func end(response: ChatResponse, usage: Usage, includeUsage: Bool) -> String {
        let whole = streamedToolCalls ? [] : response.toolCalls
        switch dialect {
        case .openAI:
            var out = ""
            if !whole.isEmpty {
                out += ChatWire.chunk(
                    id: id, model: model, created: created,
                    delta: .object([
                        "tool_calls": .array(
                            whole.enumerated().map { i, c in
                                .object([
                                    "index": .number(Double(i)), "id": .string(c.id), "type": "function",
                                    "function": .object(["name": .string(c.name), "arguments": .string(c.arguments)]),
                                ])
                            })
                    ]))
            }
            return out + ChatWire.chunk(id: id, model: model, created: created, delta: .object([:]), finish: ChatWire.finish(response.finishReason))
                + (includeUsage ? ChatWire.usageChunk(id: id, model: model, created: created, usage: usage) : "")
                + "data: [DONE]\n\n"
        case .anthropic:
            var out = close()
            for (k, call) in whole.enumerated() {
                out += toolCall(index: k, id: call.id, name: call.name, arguments: MessagesWire.input(call).jsonText) + close()
            }
            return out
                + MessagesWire.event(
                    "message_delta",
                    .object([
                        "type": "message_delta",
                        "delta": .object(["stop_reason": .string(MessagesWire.stopReason(response.finishReason)), "stop_sequence": .null]),
                        "usage": .object(["input_tokens": .number(Double(usage.inputTokens)), "output_tokens": .number(Double(usage.outputTokens))]),
                    ])) + MessagesWire.event("message_stop", .object(["type": "message_stop"]))
        }
    }

    func failure(_ e: GatewayError) -> String {
        switch dialect {
        case .openAI: "data: " + e.body.jsonText + "\n\ndata: [DONE]\n\n"
        case .anthropic: MessagesWire.event("error", MessagesWire.errorBody(e))
        }
    }

    /// A `content_block_delta` event: more of block `index`.
    static func blockDelta(_ index: Int, _ delta: JSONValue) -> String {
        MessagesWire.event(
            "content_block_delta", .object(["type": "content_block_delta", "index": .number(Double(index)), "delta": delta]))
    }

    private mutating func openText() -> String {
        let index = nextBlock
        nextBlock += 1
        open = .text(index)
        return MessagesWire.event(
            "content_block_start",
            .object([
                "type": "content_block_start", "index": .number(Double(index)),
                "content_block": .object(["type": "text", "text": ""]),
            ]))
    }

    private mutating func close() -> String {
        guard let block = open else { return "" }
        open = nil
        let index =
            switch block {
            case .text(let i): i;
            case .tool(_, let b): b
            }
        return MessagesWire.event("content_block_stop", .object(["type": "content_block_stop", "index": .number(Double(index))]))
    }
}
