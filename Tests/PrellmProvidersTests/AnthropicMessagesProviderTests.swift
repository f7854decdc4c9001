import Foundation
import PrellmProviderKit
import PrellmProviders
import PrellmSchema
import ProviderStandIn
import Testing

@Suite struct AnthropicMessagesProviderTests {
    static let key = "sk-ant-test-abcdef012345"

    func provider(_ server: StandInServer) throws -> any ChatProvider {
        try ProviderDirectory(environment: ["ANTHROPIC_API_KEY": Self.key, "ANTHROPIC_BASE_URL": server.baseURL]).provider(named: "anthropic")
    }

    static let message =
        #"{"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":"Hi there"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":10,"cache_creation_input_tokens":0,"cache_read_input_tokens":2,"output_tokens":4}}"#

    @Test func encodesTheRequestExactly() async throws {
        let server = try StandInServer { _, w in w.respond(body: Self.message) }
        let request = ChatRequest(
            model: "claude-sonnet-4-5", system: "Be brief.",
            messages: [
                ChatMessage(role: .user, content: [.text("Look"), .imageData(base64: "iVBOR", mediaType: "image/png")]),
                ChatMessage(role: .assistant, content: [], toolCalls: [ToolCall(id: "toolu_1", name: "lookup", arguments: "{\"q\":1}")]),
                ChatMessage(role: .tool, content: [.text("42")], toolCallID: "toolu_1"),
            ], temperature: 0.5, stop: ["END"], tools: [ToolDefinition(name: "lookup", parameters: .object(["type": "object"]))],
            toolChoice: .required)
        let r = try await provider(server).complete(request)
        #expect(r.text == "Hi there")
        #expect(r.usage == Usage(inputTokens: 10, outputTokens: 4, cachedInputTokens: 2))
        let sent = try #require(server.requests.first)
        #expect(sent.path == "/v1/messages")
        #expect(sent.header("x-api-key") == Self.key)
        #expect(sent.header("anthropic-version") == "2023-06-01")
        #expect(sent.header("authorization") == nil)
        let expected = try JSONParser.parse(
            """
            {"model":"claude-sonnet-4-5","max_tokens":4096,"system":"Be brief.","temperature":0.5,"stop_sequences":["END"],
             "messages":[
               {"role":"user","content":[{"type":"text","text":"Look"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBOR"}}]},
               {"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"lookup","input":{"q":1}}]},
               {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"42"}]}],
             "tools":[{"name":"lookup","input_schema":{"type":"object"}}],
             "tool_choice":{"type":"any"}}
            """)
        #expect(try JSONParser.parse(sent.bodyText) == expected)
    }

    @Test func jsonResponsesUseAForcedTool() async throws {
        let server = try StandInServer { _, w in
            w.respond(
                body:
                    #"{"id":"m","type":"message","role":"assistant","model":"claude","content":[{"type":"tool_use","id":"t","name":"respond_with_json","input":{"label":"bug"}}],"stop_reason":"tool_use","usage":{"input_tokens":5,"output_tokens":6}}"#
            )
        }
        let schema: JSONValue = .object(["type": "object", "properties": .object(["label": .object(["type": "string"])])])
        let r = try await provider(server).complete(
            ChatRequest(model: "claude", messages: [.user("x")], responseFormat: .jsonSchema(name: "L", schema: schema)))
        #expect(r.text == #"{"label":"bug"}"#)
        #expect(r.finishReason == .stop)
        let body = try JSONParser.parse(try #require(server.requests.first).bodyText)
        #expect(body["tool_choice"] == .object(["type": "tool", "name": "respond_with_json"]))
        #expect(body["tools"]?[0]?["input_schema"] == schema)
    }

    /// The SDK's own recording of a streamed tool-use answer (from ../shared), and an inline
    /// copy of the event sequence so the test runs without it.
    static var recordedToolUse: String? {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(
                "shared/suites/anthropic/sdk-python/tests/lib/streaming/fixtures/tool_use_response.txt")
        return try? String(contentsOf: url, encoding: .utf8)
    }

    static let basicStream = """
        event: message_start
        data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"output_tokens":1}}}

        event: content_block_start
        data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

        event: ping
        data: {"type": "ping"}

        event: content_block_delta
        data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}

        event: content_block_delta
        data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"!"}}

        event: content_block_stop
        data: {"type":"content_block_stop","index":0}

        event: message_delta
        data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":15}}

        event: message_stop
        data: {"type":"message_stop"}


        """

    @Test func streamsTypedEvents() async throws {
        let server = try StandInServer { _, w in w.stream(Self.basicStream, pieces: 9) }
        var deltas: [ChatDelta] = []
        for try await d in try provider(server).stream(ChatRequest(model: "claude-sonnet-4-5", messages: [.user("Hi")])) { deltas.append(d) }
        #expect(deltas == [.text("Hello"), .text("!"), .finish(.stop), .usage(Usage(inputTokens: 25, outputTokens: 15))])
    }

    @Test(.enabled(if: AnthropicMessagesProviderTests.recordedToolUse != nil))
    func streamsTheSDKsRecordedToolUse() async throws {
        let recording = try #require(Self.recordedToolUse)
        // The fixture file ends right after the last event's data line; on the wire every
        // event ends with a blank line.
        let server = try StandInServer { _, w in w.stream(recording + "\n\n", pieces: 64) }
        var deltas: [ChatDelta] = []
        for try await d in try provider(server).stream(ChatRequest(model: "claude", messages: [.user("weather?")])) { deltas.append(d) }
        let r = deltas.collected(model: "claude")
        #expect(r.text.hasPrefix("I'll check the current weather in Paris"))
        #expect(r.toolCalls.count == 1)
        #expect(r.toolCalls.first?.name == "get_weather")
        #expect((try? JSONParser.parse(r.toolCalls.first?.arguments ?? ""))?["location"] != nil)
        #expect(r.finishReason == .toolCalls)
        #expect(r.usage?.inputTokens == 377)
    }

    @Test func anErrorEventMidStream() async throws {
        let server = try StandInServer { _, w in
            w.stream(
                Self.basicStream.components(separatedBy: "\n\n").prefix(4).joined(separator: "\n\n")
                    + "\n\nevent: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n")
        }
        let e = await expectError(.server) {
            for try await _ in try provider(server).stream(ChatRequest(model: "c", messages: [.user("x")])) {}
        }
        #expect(e?.isRetryable == true)
        #expect(e?.message == "Overloaded")
    }

    @Test func aStreamWithoutMessageStopIsCut() async throws {
        let server = try StandInServer { _, w in w.stream(String(Self.basicStream.prefix(700))) }
        await expectError(.cutStream) {
            for try await _ in try provider(server).stream(ChatRequest(model: "c", messages: [.user("x")])) {}
        }
    }

    @Test(arguments: [
        (401, #"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#, ProviderError.Kind.auth),
        (
            429,
            #"{"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"}}"#,
            .rateLimit
        ),
        (529, #"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#, .server),
        (
            400, #"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens > 200000 maximum"}}"#,
            .contextTooLong
        ),
        (400, #"{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: field required"}}"#, .badRequest),
        (404, #"{"type":"error","error":{"type":"not_found_error","message":"model: claude-9"}}"#, .notFound),
    ])
    func errorKinds(_ status: Int, _ body: String, _ kind: ProviderError.Kind) async throws {
        let server = try StandInServer { _, w in w.error(status: status, body: body, headers: [("retry-after", "7")]) }
        let e = await expectError(kind) { _ = try await provider(server).complete(ChatRequest(model: "c", messages: [.user("x")])) }
        #expect(e?.retryAfter == .seconds(7))
    }
}
