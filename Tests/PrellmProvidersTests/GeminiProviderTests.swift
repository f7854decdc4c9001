import PrellmProviderKit
import PrellmProviders
import PrellmSchema
import ProviderStandIn
import Testing

@Suite struct GeminiProviderTests {
    static let key = "key1234"

    func provider(_ server: StandInServer) throws -> any ChatProvider {
        try ProviderDirectory(environment: ["GEMINI_API_KEY": Self.key, "GEMINI_BASE_URL": server.baseURL]).provider(named: "gemini")
    }

    static let reply =
        #"{"candidates":[{"content":{"parts":[{"text":"Mountain View, California"}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":6,"candidatesTokenCount":4,"totalTokenCount":10},"modelVersion":"gemini-2.5-flash","responseId":"r1"}"#

    @Test func encodesTheRequestAndKeepsTheKeyOutOfTheURL() async throws {
        let server = try StandInServer { _, w in w.respond(body: Self.reply) }
        let schema: JSONValue = .object(["type": "object"])
        let r = try await provider(server).complete(
            ChatRequest(
                model: "gemini-2.5-flash", system: "Be brief.",
                messages: [.user("Where is Google?"), .assistant("Let me think."), .user("Well?")],
                temperature: 0.1, maxTokens: 64, responseFormat: .jsonSchema(name: "A", schema: schema)))
        #expect(r.text == "Mountain View, California")
        #expect(r.usage == Usage(inputTokens: 6, outputTokens: 4))
        #expect(r.id == "r1")
        let sent = try #require(server.requests.first)
        #expect(sent.path == "/v1beta/models/gemini-2.5-flash:generateContent")
        #expect(!sent.path.contains(Self.key))
        #expect(sent.header("x-goog-api-key") == Self.key)
        let expected = try JSONParser.parse(
            """
            {"contents":[{"role":"user","parts":[{"text":"Where is Google?"}]},{"role":"model","parts":[{"text":"Let me think."}]},
                         {"role":"user","parts":[{"text":"Well?"}]}],
             "systemInstruction":{"parts":[{"text":"Be brief."}]},
             "generationConfig":{"temperature":0.1,"maxOutputTokens":64,"responseMimeType":"application/json","responseJsonSchema":{"type":"object"}}}
            """)
        #expect(try JSONParser.parse(sent.bodyText) == expected)
    }

    /// Function calls in separate stream events are separate calls, and the answer finished for
    /// them although its last event says STOP.
    @Test func functionCallsAcrossStreamEvents() async throws {
        let events = """
            data: {"candidates":[{"content":{"parts":[{"functionCall":{"name":"get_weather","args":{"city":"Paris"}}}],"role":"model"}}]}

            data: {"candidates":[{"content":{"parts":[{"functionCall":{"name":"get_time","args":{"zone":"CET"}}}],"role":"model"},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":20,"candidatesTokenCount":8}}


            """
        let server = try StandInServer { _, w in w.stream(events, pieces: 7) }
        var deltas: [ChatDelta] = []
        for try await d in try provider(server).stream(ChatRequest(model: "gemini-2.5-flash", messages: [.user("Weather and time?")])) {
            deltas.append(d)
        }
        let answer = deltas.collected(model: "g")
        #expect(
            answer.toolCalls == [
                ToolCall(id: "get_weather", name: "get_weather", arguments: #"{"city":"Paris"}"#),
                ToolCall(id: "get_time", name: "get_time", arguments: #"{"zone":"CET"}"#),
            ])
        #expect(answer.finishReason == .toolCalls)
    }

    /// Firebase's recorded stream (streaming-success-finish-message.txt).
    static let stream = """
        data: {"candidates": [{"content": {"parts": [{"text": "Hello"}],"role": "model"}}],"modelVersion": "gemini-2.0-flash"}

        data: {"candidates": [{"content": {"parts": [{"text": " world!"}],"role": "model"},"finishReason": "STOP","finishMessage": "Finished successfully"}],"usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 3},"modelVersion": "gemini-2.0-flash"}


        """

    @Test func streams() async throws {
        let server = try StandInServer { _, w in w.stream(Self.stream, pieces: 13) }
        var deltas: [ChatDelta] = []
        for try await d in try provider(server).stream(ChatRequest(model: "gemini-2.0-flash", messages: [.user("Hi")])) { deltas.append(d) }
        #expect(deltas == [.text("Hello"), .text(" world!"), .finish(.stop), .usage(Usage(inputTokens: 3, outputTokens: 3))])
        #expect(server.requests.first?.path == "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse")
    }

    @Test func aStreamThatNeverFinishesIsCut() async throws {
        let server = try StandInServer { _, w in w.stream(String(Self.stream.split(separator: "\n\n")[0]) + "\n\n") }
        await expectError(.cutStream) {
            for try await _ in try provider(server).stream(ChatRequest(model: "g", messages: [.user("Hi")])) {}
        }
    }

    @Test func aBlockedPromptIsAContentFilterError() async throws {
        let server = try StandInServer { _, w in
            w.stream(#"data: {"promptFeedback": {"blockReason": "SAFETY","safetyRatings": []}}"# + "\n\n")
        }
        await expectError(.contentFilter) {
            for try await _ in try provider(server).stream(ChatRequest(model: "g", messages: [.user("x")])) {}
        }
    }

    /// Firebase's recorded invalid-key error echoes the key in its details; the error we raise must not.
    @Test func invalidKeyIsAuthAndTheKeyIsRedacted() async throws {
        let body =
            #"{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com"},{"@type":"type.googleapis.com/google.rpc.DebugInfo","detail":"Invalid API key: key1234"}]}}"#
        let server = try StandInServer { _, w in w.error(status: 400, body: body) }
        let e = await expectError(.auth) { _ = try await provider(server).complete(ChatRequest(model: "g", messages: [.user("x")])) }
        #expect(e?.isRetryable == false)
        #expect(e.map { !"\($0)".contains(Self.key) } ?? false)
    }

    @Test(arguments: [
        (429, #"{"error":{"code":429,"message":"Resource has been exhausted","status":"RESOURCE_EXHAUSTED"}}"#, ProviderError.Kind.rateLimit),
        (404, #"{"error":{"code":404,"message":"models/gemini-5.0-flash is not found","status":"NOT_FOUND"}}"#, .notFound),
        (503, #"{"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}"#, .server),
        (
            400,
            #"{"error":{"code":400,"message":"The input token count (2000000) exceeds the maximum number of tokens allowed (1048576).","status":"INVALID_ARGUMENT"}}"#,
            .contextTooLong
        ),
    ])
    func errorKinds(_ status: Int, _ body: String, _ kind: ProviderError.Kind) async throws {
        let server = try StandInServer { _, w in w.error(status: status, body: body) }
        await expectError(kind) { _ = try await provider(server).complete(ChatRequest(model: "g", messages: [.user("x")])) }
    }
}
