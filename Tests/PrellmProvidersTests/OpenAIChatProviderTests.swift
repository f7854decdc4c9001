import PrellmHTTP
import PrellmProviderKit
import PrellmProviders
import PrellmSchema
import ProviderStandIn
import Testing

@Suite struct OpenAIChatProviderTests {
    static let key = "sk-test-0123456789abcdef"

    func provider(_ server: StandInServer, timeouts: ProviderTimeouts = .init()) throws -> any ChatProvider {
        var directory = ProviderDirectory(environment: ["OPENAI_API_KEY": Self.key, "OPENAI_BASE_URL": server.baseURL + "/v1"])
        directory.timeouts = timeouts
        return try directory.provider(named: "openai")
    }

    static let completion =
        #"{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":"Hello!","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15,"prompt_tokens_details":{"cached_tokens":4}}}"#

    @Test func encodesTheRequestExactly() async throws {
        let server = try StandInServer { _, w in w.respond(body: Self.completion) }
        let p = try provider(server)
        var request = ChatRequest(
            model: "gpt-4o-mini", system: "Be brief.",
            messages: [
                .user("Hi"),
                ChatMessage(role: .user, content: [.text("What is this?"), .imageURL("https://example.com/cat.png")]),
            ], temperature: 0.2, maxTokens: 50, stop: ["\n\n"], responseFormat: .jsonSchema(name: "Answer", schema: .object(["type": "object"])))
        request.tools = [ToolDefinition(name: "lookup", description: "Look up", parameters: .object(["type": "object"]))]
        request.toolChoice = .auto
        _ = try await p.complete(request)
        let sent = try #require(server.requests.first)
        #expect(sent.method == "POST")
        #expect(sent.path == "/v1/chat/completions")
        #expect(sent.header("authorization") == "Bearer \(Self.key)")
        #expect(sent.header("content-type") == "application/json")
        let body = try JSONParser.parse(sent.bodyText)
        let expected = try JSONParser.parse(
            """
            {"model":"gpt-4o-mini","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"},
             {"role":"user","content":[{"type":"text","text":"What is this?"},{"type":"image_url","image_url":{"url":"https://example.com/cat.png"}}]}],
             "temperature":0.2,"max_tokens":50,"stop":["\\n\\n"],
             "response_format":{"type":"json_schema","json_schema":{"name":"Answer","schema":{"type":"object"},"strict":false}},
             "tools":[{"type":"function","function":{"name":"lookup","description":"Look up","parameters":{"type":"object"}}}],
             "tool_choice":"auto"}
            """)
        #expect(body == expected)
    }

    @Test func decodesAResponseWithUsage() async throws {
        let server = try StandInServer { _, w in w.respond(body: Self.completion) }
        let r = try await provider(server).complete(ChatRequest(model: "gpt-4o-mini", messages: [.user("Hi")]))
        #expect(r.text == "Hello!")
        #expect(r.finishReason == .stop)
        #expect(r.model == "gpt-4o-mini-2024-07-18")
        #expect(r.usage == Usage(inputTokens: 12, outputTokens: 3, cachedInputTokens: 4))
    }

    static let stream = """
        data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}

        data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]}

        data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"lo ☕"},"finish_reason":null}]}

        data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"lookup","arguments":""}}]},"finish_reason":null}]}

        data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\\"q\\":1}"}}]},"finish_reason":null}]}

        data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}

        data: {"id":"c","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":7,"total_tokens":16}}

        data: [DONE]


        """

    @Test func streamsDeltasToolCallsAndUsage() async throws {
        let server = try StandInServer { _, w in w.stream(Self.stream, pieces: 11) }
        var deltas: [ChatDelta] = []
        for try await d in try provider(server).stream(ChatRequest(model: "gpt-4o-mini", messages: [.user("Hi")])) { deltas.append(d) }
        #expect(
            deltas == [
                .text("Hel"), .text("lo ☕"),
                .toolCall(index: 0, id: "call_1", name: "lookup", arguments: ""),
                .toolCall(index: 0, id: nil, name: nil, arguments: "{\"q\":1}"),
                .finish(.toolCalls), .usage(Usage(inputTokens: 9, outputTokens: 7)),
            ])
        let body = try JSONParser.parse(try #require(server.requests.first).bodyText)
        #expect(body["stream"] == .bool(true))
        #expect(body["stream_options"] == .object(["include_usage": .bool(true)]))
    }

    @Test func aStreamWithoutDoneIsCut() async throws {
        let server = try StandInServer { _, w in w.stream(String(Self.stream.prefix(400)), pieces: 50) }
        await expectError(.cutStream) {
            for try await _ in try provider(server).stream(ChatRequest(model: "m", messages: [.user("Hi")])) {}
        }
    }

    @Test func aConnectionCutMidStreamIsCut() async throws {
        let server = try StandInServer { _, w in w.stream(Self.stream, pieces: 20, cutAfter: 200) }
        await expectError(.cutStream) {
            for try await _ in try provider(server).stream(ChatRequest(model: "m", messages: [.user("Hi")])) {}
        }
    }

    @Test func rateLimitCarriesRetryAfter() async throws {
        let server = try StandInServer { _, w in
            w.error(
                status: 429,
                body: #"{"error":{"message":"Rate limit reached for gpt-4o-mini","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#,
                headers: [("Retry-After", "2")])
        }
        let e = await expectError(.rateLimit) { _ = try await provider(server).complete(ChatRequest(model: "m", messages: [.user("x")])) }
        #expect(e?.retryAfter == .seconds(2))
        #expect(e?.isRetryable == true)
        #expect(e?.status == 429)
        #expect(e?.message == "Rate limit reached for gpt-4o-mini")
    }

    @Test(arguments: [
        (
            401,
            #"{"error":{"message":"Incorrect API key provided: sk-test-0123456789abcdef.","type":"invalid_request_error","code":"invalid_api_key"}}"#,
            ProviderError.Kind.auth
        ),
        (500, #"{"error":{"message":"The server had an error","type":"server_error"}}"#, .server),
        (
            400,
            #"{"error":{"message":"This model's maximum context length is 128000 tokens.","type":"invalid_request_error","code":"context_length_exceeded"}}"#,
            .contextTooLong
        ),
        (400, #"{"error":{"message":"Invalid value for 'temperature'","type":"invalid_request_error"}}"#, .badRequest),
        (404, #"{"error":{"message":"The model 'gpt-9' does not exist","type":"invalid_request_error","code":"model_not_found"}}"#, .notFound),
        (400, #"{"error":{"message":"flagged","code":"content_filter"}}"#, .contentFilter),
        (503, "<html>upstream unavailable</html>", .server),
    ])
    func errorKinds(_ status: Int, _ body: String, _ kind: ProviderError.Kind) async throws {
        let server = try StandInServer { _, w in w.error(status: status, body: body) }
        let e = await expectError(kind) { _ = try await provider(server).complete(ChatRequest(model: "m", messages: [.user("x")])) }
        #expect(e.map { !$0.description.contains(Self.key) } ?? false, "the key leaked: \(String(describing: e))")
    }

    @Test func malformedJSONIsAnInvalidResponse() async throws {
        let server = try StandInServer { _, w in w.respond(body: "{\"choices\": [") }
        await expectError(.invalidResponse) { _ = try await provider(server).complete(ChatRequest(model: "m", messages: [.user("x")])) }
        let streaming = try StandInServer { _, w in w.stream("data: {not json}\n\n") }
        await expectError(.invalidResponse) {
            for try await _ in try provider(streaming).stream(ChatRequest(model: "m", messages: [.user("x")])) {}
        }
    }

    @Test func slowFirstTokenTimesOut() async throws {
        let server = try StandInServer { _, w in
            w.pause(1500); w.respond(body: Self.completion)
        }
        var t = ProviderTimeouts()
        t.firstToken = .milliseconds(150)
        let e = await expectError(.timeout) { _ = try await provider(server, timeouts: t).complete(ChatRequest(model: "m", messages: [.user("x")])) }
        #expect(e?.isRetryable == true)
    }

    @Test func nothingListening() async throws {
        let server = try StandInServer { _, _ in }
        server.stop()
        await expectError(.connection) { _ = try await provider(server).complete(ChatRequest(model: "m", messages: [.user("x")])) }
    }
}

/// Runs `body`, expects a ProviderError of `kind`, and returns it.
@discardableResult
func expectError(
    _ kind: ProviderError.Kind, sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws -> Void
) async -> ProviderError? {
    do {
        try await body()
        Issue.record("expected a \(kind.rawValue) error, got success", sourceLocation: sourceLocation)
    } catch let e as ProviderError {
        #expect(e.kind == kind, "\(e)", sourceLocation: sourceLocation)
        return e
    } catch {
        Issue.record("expected a ProviderError, got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}
