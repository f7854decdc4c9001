import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PrellmCompiler
import PrellmProviderKit
import PrellmSchema
import PrellmServer
import ProviderStandIn
import Testing

/// `POST /v1/responses`: whole and streamed answers held to OpenAI's OpenAPI schemas,
/// conversations continued by `previous_response_id`, and tool calls carried across turns to
/// upstreams that check the pairing as the real APIs do.
@Suite struct ResponsesTests {
    let gw = GatewayTests()
    static let toolModels = "  oa-tools: openai/gpt-4.1-mini\n  claude-tools: anthropic/claude-haiku-4-5"

    func call(
        _ client: some TestClientProtocol, _ body: String, path: String = "/v1/responses", method: HTTPRequest.Method = .post,
        key: String? = GatewayTests.key
    ) async throws -> (TestResponse, JSONValue) {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let key { headers[.authorization] = "Bearer \(key)" }
        let r = try await client.execute(uri: path, method: method, headers: headers, body: ByteBuffer(string: body))
        return (r, (try? JSONParser.parse(String(buffer: r.body))) ?? .null)
    }

    /// A stream's events, in order, each as its `event:` name and its data.
    static func events(_ text: String) -> [(name: String, data: JSONValue)] {
        text.components(separatedBy: "\n\n").compactMap { block in
            let lines = block.split(separator: "\n")
            guard let name = lines.first(where: { $0.hasPrefix("event: ") })?.dropFirst(7),
                let data = lines.first(where: { $0.hasPrefix("data: ") })?.dropFirst(6), let json = try? JSONParser.parse(String(data))
            else { return nil }
            return (String(name), json)
        }
    }

    static let eventSchemas = [
        "response.created": "ResponseCreatedEvent", "response.in_progress": "ResponseInProgressEvent",
        "response.output_item.added": "ResponseOutputItemAddedEvent", "response.output_item.done": "ResponseOutputItemDoneEvent",
        "response.content_part.added": "ResponseContentPartAddedEvent", "response.content_part.done": "ResponseContentPartDoneEvent",
        "response.output_text.delta": "ResponseTextDeltaEvent", "response.output_text.done": "ResponseTextDoneEvent",
        "response.function_call_arguments.delta": "ResponseFunctionCallArgumentsDeltaEvent",
        "response.function_call_arguments.done": "ResponseFunctionCallArgumentsDoneEvent",
        "response.completed": "ResponseCompletedEvent", "response.incomplete": "ResponseIncompleteEvent",
        "response.failed": "ResponseFailedEvent",
    ]

    /// Every event validates against its schema, and the sequence numbers count from 0.
    static func checkEvents(_ events: [(name: String, data: JSONValue)]) throws {
        for (i, e) in events.enumerated() {
            #expect(e.data["type"]?.stringValue == e.name)
            #expect(e.data["sequence_number"] == .number(Double(i)), "event \(i) \(e.name)")
            let name = try #require(eventSchemas[e.name], "an event OpenAI does not send: \(e.name)")
            if let schema = try GatewayTests.openAISchema(name) {
                #expect(schema.validate(e.data).isEmpty, "\(e.name): \(schema.validate(e.data))")
            }
        }
    }

    @Test func aWholeResponseIsOpenAIShaped() async throws {
        let standIn = try ScriptedStandIn(["gpt-4o-mini": [Reply.openAI("Hello there.", promptTokens: 20, completionTokens: 10)]])
        let app = Application(router: try gw.gateway(standIn).makeRouter())
        try await app.test(.live) { client in
            let (r, body) = try await call(
                client,
                #"{"model": "fast", "instructions": "Be brief.", "input": "Hi", "text": {"format": {"type": "json_schema", "name": "greeting", "schema": {"type": "object", "properties": {"g": {"type": "string"}}, "required": ["g"], "additionalProperties": false}, "strict": true}}}"#
            )
            #expect(r.status == .ok, "\(body.jsonText)")
            #expect(body["object"] == "response")
            #expect(body["id"]?.stringValue?.hasPrefix("resp_") == true)
            #expect(body["status"] == "completed")
            #expect(body["output"]?[0]?["content"]?[0]?["text"] == "Hello there.")
            #expect(body["usage"]?["input_tokens"] == .number(20))
            #expect(body["usage"]?["output_tokens"] == .number(10))
            #expect(body["instructions"] == "Be brief.")
            #expect(body["text"]?["format"]?["name"] == "greeting")
            if let schema = try GatewayTests.openAISchema("Response") {
                #expect(schema.validate(body).isEmpty, "\(schema.validate(body))")
                #expect(!schema.validate(.object(["object": "response"])).isEmpty, "the schema checks something")
            }
            let upstream = try JSONParser.parse(try #require(standIn.requests.last).bodyText)
            #expect(upstream["messages"]?[0] == .object(["role": "system", "content": "Be brief."]))
            #expect(upstream["messages"]?[1]?["content"] == "Hi")
            #expect(upstream["response_format"]?["json_schema"]?["name"] == "greeting")
        }
    }

    @Test func aStreamedResponseSendsTheTypedEventsInOrder() async throws {
        let standIn = try ScriptedStandIn(["gpt-4o-mini": [Reply.openAI("One two three four", promptTokens: 7, completionTokens: 4)]])
        let app = Application(router: try gw.gateway(standIn).makeRouter())
        try await app.test(.live) { client in
            let (r, _) = try await call(client, #"{"model": "fast", "input": [{"role": "user", "content": "Count"}], "stream": true}"#)
            #expect(r.status == .ok)
            #expect(r.headers[.contentType] == "text/event-stream")
            let events = Self.events(String(buffer: r.body))
            try Self.checkEvents(events)
            let names = events.map(\.name).filter { $0 != "response.output_text.delta" }
            #expect(
                names == [
                    "response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
                    "response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed",
                ])
            let deltas = events.filter { $0.name == "response.output_text.delta" }
            #expect(deltas.count > 1, "the text streams in pieces")
            #expect(deltas.compactMap { $0.data["delta"]?.stringValue }.joined() == "One two three four")
            let completed = try #require(events.last?.data["response"])
            #expect(completed["output"]?[0]?["content"]?[0]?["text"] == "One two three four")
            #expect(completed["usage"]?["total_tokens"] == .number(11))
            #expect(events[0].data["response"]?["id"] == completed["id"])
        }
    }

    @Test func aStreamThatFailsEndsWithResponseFailed() async throws {
        let refused = Reply.status(400, #"{"error":{"message":"bad things","type":"invalid_request_error"}}"#)
        let standIn = try ScriptedStandIn(["gpt-4o-mini": [refused]])
        let app = Application(router: try gw.gateway(standIn).makeRouter())
        try await app.test(.live) { client in
            let (r, _) = try await call(client, #"{"model": "fast", "input": "Hi", "stream": true}"#)
            let events = Self.events(String(buffer: r.body))
            try Self.checkEvents(events)
            #expect(events.map(\.name) == ["response.created", "response.in_progress", "response.failed"])
            #expect(events.last?.data["response"]?["status"] == "failed")
            #expect(events.last?.data["response"]?["error"]?["message"]?.stringValue?.contains("bad things") == true)
            // Nothing was answered, so nothing is kept to continue.
            let id = try #require(events.first?.data["response"]?["id"]?.stringValue)
            let (gone, _) = try await call(client, "", path: "/v1/responses/\(id)", method: .get)
            #expect(gone.status == .notFound)
        }
    }

    @Test func previousResponseIDContinuesAKeptConversation() async throws {
        let standIn = try ScriptedStandIn(["gpt-4o-mini": [Reply.openAI("Hello there."), Reply.openAI("Still here.")]])
        let app = Application(router: try gw.gateway(standIn).makeRouter())
        try await app.test(.live) { client in
            let (_, first) = try await call(client, #"{"model": "fast", "instructions": "Be brief.", "input": "Hi"}"#)
            let id = try #require(first["id"]?.stringValue)
            let (r, second) = try await call(client, #"{"model": "fast", "previous_response_id": "\#(id)", "input": "And?"}"#)
            #expect(r.status == .ok, "\(second.jsonText)")
            #expect(second["previous_response_id"] == .string(id))
            let messages = try JSONParser.parse(try #require(standIn.requests.last).bodyText)["messages"]?.arrayValue ?? []
            // Earlier instructions are not carried over (OpenAI's rule); the turns are.
            #expect(
                messages == [
                    .object(["role": "user", "content": "Hi"]), .object(["role": "assistant", "content": "Hello there."]),
                    .object(["role": "user", "content": "And?"]),
                ])
            // Kept answers are retrievable, by their own key only, until deleted.
            let (got, object) = try await call(client, "", path: "/v1/responses/\(id)", method: .get)
            #expect(got.status == .ok)
            #expect(object == first)
            let (other, otherBody) = try await call(client, "", path: "/v1/responses/\(id)", method: .get, key: "pk-other")
            #expect(other.status == .notFound)
            #expect(otherBody["error"]?["type"] == "invalid_request_error")
            let (deleted, deletedBody) = try await call(client, "", path: "/v1/responses/\(id)", method: .delete)
            #expect(deleted.status == .ok)
            #expect(deletedBody["deleted"] == true)
            let (gone, _) = try await call(client, "", path: "/v1/responses/\(id)", method: .get)
            #expect(gone.status == .notFound)
            // An answer made with store: false is not kept.
            let (_, unkept) = try await call(client, #"{"model": "fast", "input": "Hi", "store": false}"#)
            #expect(unkept["store"] == false)
            let unkeptID = try #require(unkept["id"]?.stringValue)
            let (missing, missingBody) = try await call(client, #"{"model": "fast", "previous_response_id": "\#(unkeptID)", "input": "And?"}"#)
            #expect(missing.status == .badRequest, "as OpenAI answers it")
            #expect(missingBody["error"]?["code"] == "previous_response_not_found")
            #expect(missingBody["error"]?["param"] == "previous_response_id")
            #expect(missingBody["error"]?["message"] == .string("Previous response with id '\(unkeptID)' not found."))
        }
    }

    /// The two-turn tool call that Responses→Chat bridges break: the model calls a function,
    /// the client answers with a function_call_output, and the model sees its own call paired
    /// with the result — whether the client continues by `previous_response_id` or sends the
    /// items back itself, and whatever the upstream's wire format.
    @Test(arguments: [("oa-tools", "gpt-4.1-mini"), ("claude-tools", "claude-haiku-4-5")])
    func aToolCallCarriesAcrossTwoTurns(model: String, upstream: String) async throws {
        let first: ScriptedStandIn.Responder =
            upstream.hasPrefix("claude")
            ? Reply.anthropicToolUse(id: "toolu_1", name: "get_weather", input: #"{"city":"Paris"}"#)
            : Reply.openAIToolCall(text: "", id: "toolu_1", name: "get_weather", arguments: #"{"city":"Paris"}"#)
        let answer: ScriptedStandIn.Responder = upstream.hasPrefix("claude") ? Reply.anthropic("It is 18C.") : Reply.openAI("It is 18C.")
        let standIn = try ScriptedStandIn([upstream: [first, answer, first, answer]])
        let app = Application(router: try gw.gateway(standIn, keys: false, models: Self.toolModels).makeRouter())
        let tools = #"[{"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}]"#
        try await app.test(.live) { client in
            for stream in [false, true] {
                let (r, turn1) = try await call(
                    client, #"{"model": "\#(model)", "input": "Weather in Paris?", "tools": \#(tools), "stream": \#(stream)}"#)
                #expect(r.status == .ok)
                let response: JSONValue
                if stream {
                    let events = Self.events(String(buffer: r.body))
                    try Self.checkEvents(events)
                    #expect(events.contains { $0.name == "response.function_call_arguments.delta" })
                    response = try #require(events.last?.data["response"])
                } else {
                    response = turn1
                }
                let fc = try #require(response["output"]?.arrayValue?.first { $0["type"] == "function_call" })
                #expect(fc["call_id"] == "toolu_1")
                #expect(fc["name"] == "get_weather")
                #expect(fc["arguments"] == #"{"city":"Paris"}"#)
                let output = #"{"type": "function_call_output", "call_id": "toolu_1", "output": "18C and sunny"}"#
                let id = try #require(response["id"]?.stringValue)
                // Continued by id on the first pass, stateless (the items sent back) on the second.
                let body =
                    stream
                    ? #"{"model": "\#(model)", "tools": \#(tools), "input": [{"role": "user", "content": "Weather in Paris?"}, \#(fc.jsonText), \#(output)]}"#
                    : #"{"model": "\#(model)", "tools": \#(tools), "previous_response_id": "\#(id)", "input": [\#(output)]}"#
                let (r2, turn2) = try await call(client, body)
                #expect(r2.status == .ok, "\(turn2.jsonText)")
                #expect(turn2["output"]?[0]?["content"]?[0]?["text"] == "It is 18C.")
                let sent = try JSONParser.parse(try #require(standIn.requests.last).bodyText)["messages"]?.arrayValue ?? []
                #expect(sent.count == 3, "user, the assistant's call, its result: \(sent)")
            }
        }
    }

    @Test func whatCannotBeServedIsRefusedByName() async throws {
        let standIn = try ScriptedStandIn(["gpt-4o-mini": [Reply.openAI("unused")]])
        let app = Application(router: try gw.gateway(standIn).makeRouter())
        try await app.test(.live) { client in
            let cases: [(String, String)] = [
                (#"{"model": "fast", "input": "Hi", "tools": [{"type": "web_search"}]}"#, "tools of type 'web_search'"),
                (#"{"model": "fast", "input": [{"type": "item_reference", "id": "msg_1"}]}"#, "items of type 'item_reference'"),
                (#"{"model": "fast", "input": "Hi", "reasoning": {"effort": "high"}}"#, "'reasoning' is not supported"),
                (#"{"model": "fast"}"#, "'input' must be a string or a non-empty array"),
                (#"{"model": "fast", "input": "Hi", "max_output_tokens": 4}"#, "'max_output_tokens' must be an integer from 16"),
                (#"{"model": "fast", "input": [{"role": "user", "content": [{"type": "input_file", "file_id": "f"}]}]}"#, "input_file"),
            ]
            for (body, message) in cases {
                let (r, error) = try await call(client, body)
                #expect(r.status == .badRequest, "\(body)")
                #expect(error["error"]?["message"]?.stringValue?.contains(message) == true, "\(error.jsonText)")
            }
            let (unknown, body) = try await call(client, "", path: "/v1/responses/resp_nope", method: .get)
            #expect(unknown.status == .notFound)
            #expect(body["error"]?["message"] == "Response with id 'resp_nope' not found.")
            #expect(standIn.requests.isEmpty, "nothing refused reached the upstream")
        }
    }

    @Test func theKeepingPeriodIsConfigured() throws {
        let standIn = try ScriptedStandIn([:])
        #expect(try gw.gateway(standIn).config.responseTTL == .seconds(30 * 86400), "OpenAI's 30 days by default")
        #expect(try gw.gateway(standIn, extra: "store: {response_ttl: 1d12h}").config.responseTTL == .seconds(36 * 3600))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("prellm-ttl-\(UUID().uuidString).yaml")
        try "prellm: 1\nstore: {response_ttl: 0s}\n".write(to: dir, atomically: true, encoding: .utf8)
        let result = WorkflowCompiler().compile(path: dir.path)
        #expect(result.diagnostics.contains { $0.message.contains("'response_ttl' must be longer than zero") })
    }

    @Test func keptAnswersExpire() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("prellm-resp-\(UUID().uuidString).sqlite").path
        let store = try SQLiteGatewayStore(path: path)
        let now = Date()
        try await store.save(StoredResponse(id: "resp_a", keyID: "k", object: "{}", conversation: "[]", expires: now.addingTimeInterval(60)))
        #expect(try await store.storedResponse(id: "resp_a", keyID: "k", now: now)?.object == "{}")
        #expect(try await store.storedResponse(id: "resp_a", keyID: "other", now: now) == nil)
        #expect(try await store.storedResponse(id: "resp_a", keyID: "k", now: now.addingTimeInterval(61)) == nil)
        #expect(try await store.deleteResponse(id: "resp_a", keyID: "k"))
        #expect(try await !store.deleteResponse(id: "resp_a", keyID: "k"))
    }
}
