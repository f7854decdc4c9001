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
        let request = ChatRequest(model: "qwen2.5:3b", system: "Be brief.", messages: [.user("Why is the sky blue?")], temperature: 0,
                                  maxTokens: 100, responseFormat: .json)
        for try await d in try provider(server).stream(request) { deltas.append(d) }
        #expect(deltas == [.text("The"), .text(" sky"), .finish(.stop), .usage(Usage(inputTokens: 26, outputTokens: 2))])
        let sent = try #require(server.requests.first)
        #expect(sent.path == "/api/chat")
        #expect(sent.header("authorization") == nil)
        let expected = try JSONParser.parse("""
            {"model":"qwen2.5:3b","stream":true,"format":"json","options":{"temperature":0,"num_predict":100},
             "messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Why is the sky blue?"}]}
            """)
        #expect(try JSONParser.parse(sent.bodyText) == expected)
    }

    @Test func wholeResponse() async throws {
        let server = try StandInServer { _, w in
            w.respond(body: #"{"model":"qwen2.5:3b","message":{"role":"assistant","content":"Blue."},"done":true,"done_reason":"length","prompt_eval_count":5,"eval_count":1}"#)
        }
        let r = try await provider(server).complete(ChatRequest(model: "qwen2.5:3b", messages: [.user("?")]))
        #expect(r.text == "Blue.")
        #expect(r.finishReason == .length)
        #expect(r.usage == Usage(inputTokens: 5, outputTokens: 1))
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
