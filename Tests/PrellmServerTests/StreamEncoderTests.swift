import PrellmProviderKit
import PrellmSchema
@testable import PrellmServer
import Testing

/// Anthropic's stream is a sequence of blocks, each started, filled and stopped before the next;
/// the encoder must keep that shape whatever order the upstream's pieces come in.
@Suite struct StreamEncoderTests {
    static func events(_ text: String) throws -> [JSONValue] {
        try text.components(separatedBy: "\n\n").filter { !$0.isEmpty }.map { event in
            let data = try #require(event.split(separator: "\n").first { $0.hasPrefix("data: ") })
            return try JSONParser.parse(String(data.dropFirst(6)))
        }
    }

    @Test func blocksOpenAndCloseInOrder() throws {
        var e = StreamEncoder(dialect: .anthropic, id: "r1", model: "fast", created: 0)
        var out = e.start(inputTokens: 12)
        out += e.text("Let me check. ")
        out += e.toolCall(index: 0, id: "t1", name: "weather", arguments: #"{"ci"#)
        out += e.toolCall(index: 0, id: nil, name: nil, arguments: #"ty":"Paris"}"#)
        out += e.toolCall(index: 1, id: "t2", name: "time", arguments: "{}")
        out += e.text("Done.")
        out += e.end(
            response: ChatResponse(model: "fast", text: "", finishReason: .toolCalls), usage: Usage(inputTokens: 1, outputTokens: 2),
            includeUsage: true)
        let shape = try Self.events(out).map { event -> String in
            let type = event["type"]?.stringValue ?? "?"
            let index = event["index"]?.int.map { " \($0)" } ?? ""
            let kind = event["content_block"]?["type"]?.stringValue ?? event["delta"]?["type"]?.stringValue ?? ""
            return type + index + (kind.isEmpty ? "" : " " + kind)
        }
        #expect(
            shape == [
                "message_start",
                "content_block_start 0 text", "content_block_delta 0 text_delta", "content_block_stop 0",
                "content_block_start 1 tool_use", "content_block_delta 1 input_json_delta", "content_block_delta 1 input_json_delta",
                "content_block_stop 1",
                "content_block_start 2 tool_use", "content_block_delta 2 input_json_delta", "content_block_stop 2",
                "content_block_start 3 text", "content_block_delta 3 text_delta", "content_block_stop 3",
                "message_delta", "message_stop",
            ])
        // message_start carries the prompt's input tokens, not 0.
        #expect(try Self.events(out).first?["message"]?["usage"]?["input_tokens"] == .number(12))
    }

    /// Tool calls that did not stream (a workflow's answer, an upstream that sent them whole)
    /// are sent complete at the end, in both dialects.
    @Test func unstreamedToolCallsGoOutAtTheEnd() throws {
        let response = ChatResponse(
            model: "fast", text: "", toolCalls: [ToolCall(id: "t1", name: "weather", arguments: #"{"city":"Paris"}"#)],
            finishReason: .toolCalls)
        var anthropic = StreamEncoder(dialect: .anthropic, id: "r1", model: "fast", created: 0)
        let a = try Self.events(
            anthropic.start(inputTokens: 1) + anthropic.end(response: response, usage: Usage(inputTokens: 1, outputTokens: 2), includeUsage: true))
        #expect(a.contains { $0["content_block"]?["name"] == "weather" })
        #expect(a.contains { $0["delta"]?["partial_json"] == #"{"city":"Paris"}"# })
        // An answer that is only a tool call has no (empty) text block for the client to send back.
        #expect(!a.contains { $0["content_block"]?["type"] == "text" })
        var openAI = StreamEncoder(dialect: .openAI, id: "r1", model: "fast", created: 0)
        let o = openAI.start(inputTokens: 1) + openAI.end(response: response, usage: Usage(inputTokens: 1, outputTokens: 2), includeUsage: false)
        #expect(o.contains(#""tool_calls":[{"#))
        #expect(o.hasSuffix("data: [DONE]\n\n"))
    }
}

/// The Responses stream's items: text after a tool call is an item of its own, with an id of
/// its own, and reading the items back gives the providers one assistant turn.
@Suite struct ResponsesStreamTests {
    @Test func textAfterAToolCallIsItsOwnItem() throws {
        let turn = ResponsesWire.Turn(id: "resp_abc", store: true, input: [], echo: .init())
        var s = ResponsesStream(turn: turn, model: "fast", created: 0)
        _ = s.start(inputTokens: 1)
        _ = s.text("Let me look.")
        _ = s.toolCall(index: 0, id: "toolu_1", name: "get_weather", arguments: #"{"city":"Paris"}"#)
        _ = s.text("Done.")
        _ = s.end(
            response: ChatResponse(model: "fast", text: "", finishReason: .toolCalls), usage: Usage(inputTokens: 1, outputTokens: 1),
            includeUsage: true)
        let output = try #require(s.final?["output"]?.arrayValue)
        #expect(output.map { $0["type"]?.stringValue ?? "" } == ["message", "function_call", "message"])
        let ids = output.compactMap { $0["id"]?.stringValue }
        #expect(Set(ids).count == 3, "\(ids)")
        let (_, messages) = try ResponsesWire.messages([.object(["role": "user", "content": "Weather?"])] + output, at: "input")
        #expect(messages.count == 2, "the user, then one assistant turn with its text and its call")
        #expect(messages.last?.text == "Let me look.Done.")
        #expect(messages.last?.toolCalls.map(\.id) == ["toolu_1"])
    }
}
