import PrellmProviderKit
import PrellmProviders
import PrellmSchema
import ProviderStandIn
import Testing

@Suite struct OllamaChatProviderTests {
    func provider(_ server: StandInServer) throws -> any ChatProvider {
        // OLLAMA_HOST is often host:port without a scheme, as Ollama itself accepts.
        try ProviderDirectory(environment: ["OLLAMA_HOST": "127.0.0.1:\(server.port)"]).provider(named: "ollama")
    }

    static let stream = """
        {"model":"qwen2.5:3b","created_at":"2025-01-01T00:00:00Z","message":{"role":"assistant","content":"The"},"done":false}
        {"model":"qwen2.5:3b","created_at":"2025-01-01T00:00:00Z","message":{"role":"assistant","content":" sky"},"done":false}
        {"model":"qwen2.5:3b","created_at":"2025-01-01T00:00:00Z","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","total_duration":1,"prompt_eval_count":26,"eval_count":2}

        """

    @Test func streamsNDJSON() async throws {
        let server = try StandInServer { _, w in w.stream(Self.stream, pieces: 17, contentType: "application/x-ndjson") }
        var deltas: [ChatDelta] = []
        let request = ChatRequest(
            model: "qwen2.5:3b", system: "Be brief.", messages: [.user("Why is the sky blue?")], temperature: 0,
            maxTokens: 100, responseFormat: .json)
        for try await d in try provider(server).stream(request) { deltas.append(d) }
        #expect(deltas == [.text("The"), .text(" sky"), .finish(.stop), .usage(Usage(inputTokens: 26, outputTokens: 2))])
        let sent = try #require(server.requests.first)
        #expect(sent.path == "/api/chat")
        #expect(sent.header("authorization") == nil)
        let expected = try JSONParser.parse(
            """
            {"model":"qwen2.5:3b","stream":true,"format":"json","options":{"temperature":0,"num_predict":100},
             "messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Why is the sky blue?"}]}
            """)
        #expect(try JSONParser.parse(sent.bodyText) == expected)
    }

    @Test func wholeResponse() async throws {
        let server = try StandInServer { _, w in
            w.respond(
                body:
                    #"{"model":"qwen2.5:3b","message":{"role":"assistant","content":"Blue."},"done":true,"done_reason":"length","prompt_eval_count":5,"eval_count":1}"#
            )
        }
        let r = try await provider(server).complete(ChatRequest(model: "qwen2.5:3b", messages: [.user("?")]))
        #expect(r.text == "Blue.")
        #expect(r.finishReason == .length)
        #expect(r.usage == Usage(inputTokens: 5, outputTokens: 1))
    }

    /// Ollama sends each tool call whole in some line of the stream and ends with `stop`: the
    /// calls are numbered across lines, given distinct ids, and the answer finished for them.
    @Test func toolCallsAcrossStreamLines() async throws {
        let lines = """
            {"model":"q","message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"get_weather","arguments":{"city":"Paris"}}}]},"done":false}
            {"model":"q","message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"get_weather","arguments":{"city":"Oslo"}}}]},"done":false}
            {"model":"q","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","prompt_eval_count":30,"eval_count":12}

            """
        let server = try StandInServer { _, w in w.stream(lines, pieces: 5, contentType: "application/x-ndjson") }
        var request = ChatRequest(model: "q", messages: [.user("Weather in Paris and Oslo?")])
        request.tools = [ToolDefinition(name: "get_weather", parameters: .object(["type": "object"]))]
        var deltas: [ChatDelta] = []
        for try await d in try provider(server).stream(request) { deltas.append(d) }
        let answer = deltas.collected(model: "q")
        #expect(
            answer.toolCalls == [
                ToolCall(id: "call_0", name: "get_weather", arguments: #"{"city":"Paris"}"#),
                ToolCall(id: "call_1", name: "get_weather", arguments: #"{"city":"Oslo"}"#),
            ])
        #expect(answer.finishReason == .toolCalls)
        let sent = try JSONParser.parse(try #require(server.requests.first).bodyText)
        #expect(sent["tools"]?[0]?["function"]?["name"] == "get_weather")
    }

    /// An error in the middle of a stream (Ollama sends `{"error": …}` as a line) is an error.
    @Test func anErrorLineMidStream() async throws {
        let server = try StandInServer { _, w in
            w.stream(
                #"{"model":"q","message":{"role":"assistant","content":"Hal"},"done":false}"# + "\n"
                    + #"{"error":"an unexpected error occurred: out of memory"}"# + "\n",
                contentType: "application/x-ndjson")
        }
        let e = await expectError(.server) {
            for try await _ in try provider(server).stream(ChatRequest(model: "q", messages: [.user("x")])) {}
        }
        #expect(e?.message.contains("out of memory") == true)
    }

    @Test func aStreamWithoutDoneIsCut() async throws {
        let server = try StandInServer { _, w in
            w.stream(Self.stream.split(separator: "\n").prefix(2).joined(separator: "\n") + "\n", contentType: "application/x-ndjson")
        }
        await expectError(.cutStream) {
            for try await _ in try provider(server).stream(ChatRequest(model: "q", messages: [.user("x")])) {}
        }
    }

    @Test func aMissingModel() async throws {
        let server = try StandInServer { _, w in w.error(status: 404, body: #"{"error":"model 'llama9' not found"}"#) }
        let e = await expectError(.notFound) { _ = try await provider(server).complete(ChatRequest(model: "llama9", messages: [.user("x")])) }
        #expect(e?.message.contains("ollama pull") == true)
    }
}
