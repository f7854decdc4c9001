import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PrellmCompiler
import PrellmProviderKit
import PrellmProviders
import PrellmRuntime
import PrellmSchema
import PrellmServer
import PrellmSyntax
import ProviderStandIn
import Testing

@Suite struct GatewayTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let key = "pk-test-0123456789abcdefghij"

    func gateway(
        _ standIn: ScriptedStandIn, keys: Bool = true, extra: String = "", models: String = "", server: String = "{host: 127.0.0.1, port: 0}"
    ) throws -> Gateway {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("prellm-gw-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let yaml = """
            prellm: 1
            server: \(server)
            models:
              fast: openai/gpt-4o-mini
              smart: {use: [openai/gpt-4o, anthropic/claude-haiku-4-5], policy: fallback}
            \(models)
            workflows: [\(Self.root.path)/workflows/support-triage.yaml]
            \(keys ? "keys:\n  - {id: team-a, hash: \"sha256:\(SHA256.hex(Self.key))\", models: [fast, smart, workflow/support-triage]}\n  - {id: team-b, hash: \"sha256:\(SHA256.hex("pk-other"))\", models: [fast]}" : "")
            \(extra)
            """
        let path = dir.appendingPathComponent("prellm.yaml").path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        let result = WorkflowCompiler().compile(path: path)
        let config = try #require(result.config, "\(result.diagnostics)")
        #expect(!result.hasErrors, "\(DiagnosticRenderer.text(result.diagnostics, sources: result.sources))")
        var env = standIn.environment
        env["PATH"] = nil
        return try Gateway(config: config, environment: env)
    }

    func post(_ client: some TestClientProtocol, _ body: String, key: String? = GatewayTests.key) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let key { headers[.authorization] = "Bearer \(key)" }
        return try await client.execute(uri: "/v1/chat/completions", method: .post, headers: headers, body: ByteBuffer(string: body))
    }

    @Test func chatCompletionIsOpenAIShaped() async throws {
        let standIn = try ScriptedStandIn(["gpt-4o-mini": [Reply.openAI("Hello there.", promptTokens: 1000, completionTokens: 2000)]])
        let app = Application(router: try gateway(standIn).makeRouter())
        try await app.test(.live) { client in
            let r = try await post(
                client, #"{"model": "fast", "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]}"#)
            #expect(r.status == .ok)
            #expect(r.headers[HTTPField.Name("x-prellm-model")!] == "openai/gpt-4o-mini")
            #expect(r.headers[HTTPField.Name("x-prellm-cost-usd")!] == "0.00135")
            #expect(r.headers[HTTPField.Name("x-request-id")!] != nil)
            let body = try JSONParser.parse(String(buffer: r.body))
            #expect(body["object"] == "chat.completion")
            #expect(body["model"] == "fast")
            #expect(body["choices"]?[0]?["message"]?["content"] == "Hello there.")
            #expect(body["choices"]?[0]?["finish_reason"] == "stop")
            #expect(body["usage"]?["total_tokens"] == .number(3000))
            try Self.expectConforms(body, to: "CreateChatCompletionResponse")
            let upstream = try JSONParser.parse(try #require(standIn.requests.first).bodyText)
            #expect(upstream["messages"]?[0] == .object(["role": "system", "content": "Be brief."]))
        }
    }

    @Test func streamingSendsChunksUsageAndDone() async throws {
        let standIn = try ScriptedStandIn(["gpt-4o-mini": [Reply.openAI("One two three", promptTokens: 5, completionTokens: 3)]])
        let app = Application(router: try gateway(standIn).makeRouter())
        try await app.test(.live) { client in
            let r = try await post(
                client,
                #"{"model": "fast", "stream": true, "stream_options": {"include_usage": true}, "messages": [{"role": "user", "content": "Count"}]}"#)
            #expect(r.status == .ok)
            #expect(r.headers[.contentType] == "text/event-stream")
            let events = String(buffer: r.body).components(separatedBy: "\n\n").filter { !$0.isEmpty }
            #expect(events.last == "data: [DONE]")
            let chunks = try events.dropLast().map { try JSONParser.parse(String($0.dropFirst(6))) }
            #expect(chunks.first?["choices"]?[0]?["delta"] == .object(["role": "assistant", "content": ""]))
            let text = chunks.compactMap { $0["choices"]?[0]?["delta"]?["content"]?.stringValue }.joined()
            #expect(text == "One two three")
            #expect(chunks.contains { $0["choices"]?[0]?["finish_reason"] == "stop" })
            #expect(chunks.last?["usage"]?["total_tokens"] == .number(8))
            #expect(chunks.last?["choices"] == .array([]))
            for chunk in chunks { try Self.expectConforms(chunk, to: "CreateChatCompletionStreamResponse") }
        }
    }

    @Test func workflowsAreVirtualModels() async throws {
        let standIn = try ScriptedStandIn(["qwen2.5:3b": [Reply.ollama(#"{"label": "bug", "confidence": 0.9}"#)]])
        let app = Application(router: try gateway(standIn).makeRouter())
        try await app.test(.live) { client in
            let models = try await client.execute(uri: "/v1/models", method: .get, headers: [.authorization: "Bearer \(Self.key)"])
            let ids = try JSONParser.parse(String(buffer: models.body))["data"]?.arrayValue?.compactMap { $0["id"]?.stringValue }
            #expect(ids == ["fast", "smart", "workflow/support-triage"])
            let r = try await post(client, #"{"model": "workflow/support-triage", "messages": [{"role": "user", "content": "The app crashes"}]}"#)
            #expect(r.status == .ok)
            let body = try JSONParser.parse(String(buffer: r.body))
            #expect(body["choices"]?[0]?["message"]?["content"]?.stringValue?.hasPrefix("Thanks for the report.") == true)
            #expect(r.headers[HTTPField.Name("x-prellm-model")!] == "ollama/qwen2.5:3b")
        }
    }

    /// A served workflow whose output is a choice among steps streams the chosen step's text as
    /// it arrives, in both the Chat Completions and the Responses dialect.
    @Test func aServedWorkflowStreamsTheStepItsOutputChose() async throws {
        let answer = "Open Settings, then Profile, then Change password."
        let standIn = try ScriptedStandIn([
            "qwen2.5:3b": [Reply.ollama(#"{"label": "how_to", "confidence": 0.9}"#)], "gpt-4o-mini": [Reply.openAI(answer)],
        ])
        let app = Application(router: try gateway(standIn).makeRouter())
        try await app.test(.live) { client in
            let r = try await post(
                client, #"{"model": "workflow/support-triage", "stream": true, "messages": [{"role": "user", "content": "How do I reset it?"}]}"#)
            let deltas = String(buffer: r.body).components(separatedBy: "\n\n").filter { $0.hasPrefix("data: {") }.compactMap {
                try? JSONParser.parse(String($0.dropFirst(6)))["choices"]?[0]?["delta"]?["content"]?.stringValue
            }.filter { !$0.isEmpty }
            #expect(deltas.count > 2, "the general reply arrives in pieces, not whole at the end: \(String(buffer: r.body))")
            #expect(deltas.joined() == answer)
            var headers: HTTPFields = [.contentType: "application/json", .authorization: "Bearer \(Self.key)"]
            headers[.accept] = "text/event-stream"
            let responses = try await client.execute(
                uri: "/v1/responses", method: .post, headers: headers,
                body: ByteBuffer(string: #"{"model": "workflow/support-triage", "stream": true, "input": "How do I reset it?"}"#))
            let events = ResponsesTests.events(String(buffer: responses.body))
            try ResponsesTests.checkEvents(events)
            #expect(events.filter { $0.name == "response.output_text.delta" }.count > 2)
            #expect(events.last?.data["response"]?["output"]?[0]?["content"]?[0]?["text"] == .string(answer))
        }
    }

    @Test func fallbackAfterAnUpstream500() async throws {
        let standIn = try ScriptedStandIn([
            "gpt-4o": [Reply.status(500, #"{"error":{"message":"boom","type":"server_error"}}"#)],
            "claude-haiku-4-5": [Reply.anthropic("From the fallback.")],
        ])
        let app = Application(router: try gateway(standIn).makeRouter())
        try await app.test(.live) { client in
            // Retries first (500 is retryable), then the fallback; the test keeps the attempt count small.
            let r = try await post(client, #"{"model": "smart", "messages": [{"role": "user", "content": "Hi"}]}"#)
            #expect(r.status == .ok)
            #expect(try JSONParser.parse(String(buffer: r.body))["choices"]?[0]?["message"]?["content"] == "From the fallback.")
            #expect(r.headers[HTTPField.Name("x-prellm-model")!] == "anthropic/claude-haiku-4-5")
        }
    }

    /// A model the catalog lists without vision is passed over for a request with an image;
    /// the next model of the route takes it.
    @Test func aModelWithoutVisionIsSkippedForAnImage() async throws {
        let standIn = try ScriptedStandIn(["gpt-4o-mini": [Reply.openAI("A cat.")]])
        let app = Application(
            router: try gateway(standIn, keys: false, models: "  local: {use: [ollama/qwen2.5:3b, openai/gpt-4o-mini], policy: fallback}")
                .makeRouter())
        try await app.test(.live) { client in
            let image = #"{"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}"#
            let r = try await post(
                client, #"{"model": "local", "messages": [{"role": "user", "content": [{"type": "text", "text": "What is it?"}, \#(image)]}]}"#,
                key: nil)
            #expect(r.status == .ok, "\(String(buffer: r.body))")
            #expect(r.headers[HTTPField.Name("x-prellm-model")!] == "openai/gpt-4o-mini")
            #expect(standIn.requests.allSatisfy { !$0.path.contains("/api/chat") }, "the blind model was sent the image")
        }
    }

    /// Aliases named as tools write model names, and `models.retrieve`.
    @Test func modelNamesAsToolsWriteThemAndRetrieve() async throws {
        let standIn = try ScriptedStandIn(["claude-haiku-4-5": [Reply.anthropic("Hi from Claude.")]])
        let app = Application(
            router: try gateway(standIn, keys: false, models: "  claude-sonnet-4-5: anthropic/claude-haiku-4-5").makeRouter())
        try await app.test(.live) { client in
            let r = try await post(client, #"{"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "Hi"}]}"#, key: nil)
            #expect(r.status == .ok, "\(String(buffer: r.body))")
            #expect(r.headers[HTTPField.Name("x-prellm-model")!] == "anthropic/claude-haiku-4-5")
            let one = try await client.execute(uri: "/v1/models/claude-sonnet-4-5", method: .get)
            #expect(one.status == .ok)
            #expect(try JSONParser.parse(String(buffer: one.body))["id"] == "claude-sonnet-4-5")
            let none = try await client.execute(uri: "/v1/models/gpt-9", method: .get)
            #expect(none.status == .notFound)
            #expect(try JSONParser.parse(String(buffer: none.body))["error"]?["code"] == "model_not_found")
        }
    }

    /// `count_tokens`: the provider's own count where it has one, an estimate (said so in a
    /// header) elsewhere, never zero.
    @Test func countTokensAsksTheProviderOrEstimates() async throws {
        let standIn = try ScriptedStandIn([
            "claude-haiku-4-5": [Reply.anthropicCount(42)], "gemini-2.5-flash": [Reply.geminiCount(17)],
        ])
        let app = Application(
            router: try gateway(standIn, keys: false, models: "  claude: anthropic/claude-haiku-4-5\n  gem: gemini/gemini-2.5-flash")
                .makeRouter())
        @Sendable func count(_ client: some TestClientProtocol, _ model: String) async throws -> TestResponse {
            try await client.execute(
                uri: "/v1/messages/count_tokens", method: .post, headers: [.contentType: "application/json"],
                body: ByteBuffer(
                    string: #"{"model": "\#(model)", "system": "Be brief.", "messages": [{"role": "user", "content": "How many tokens is this?"}]}"#))
        }
        try await app.test(.live) { client in
            let claude = try await count(client, "claude")
            #expect(claude.status == .ok, "\(String(buffer: claude.body))")
            #expect(try JSONParser.parse(String(buffer: claude.body)) == .object(["input_tokens": .number(42)]))
            #expect(claude.headers[HTTPField.Name("x-prellm-token-count")!] == "provider")
            let sent = try JSONParser.parse(try #require(standIn.requests.first).bodyText)
            #expect(sent["system"] == "Be brief." && sent["max_tokens"] == nil)
            let gem = try await count(client, "gem")
            #expect(try JSONParser.parse(String(buffer: gem.body))["input_tokens"] == .number(17))
            #expect(standIn.requests.last?.path == "/v1beta/models/gemini-2.5-flash:countTokens")
            let openAI = try await count(client, "fast")
            #expect(openAI.headers[HTTPField.Name("x-prellm-token-count")!] == "estimate")
            let n = try JSONParser.parse(String(buffer: openAI.body))["input_tokens"]?.int ?? 0
            #expect(n > 0)
            #expect(standIn.requests.count == 2, "an estimate sends nothing upstream")
        }
    }

    /// The README's gateway section names every endpoint the gateway serves.
    @Test func theReadmeListsEveryEndpoint() throws {
        let readme = try String(contentsOf: Self.root.appendingPathComponent("README.md"), encoding: .utf8)
        for endpoint in Gateway.endpoints {
            #expect(readme.contains("`\(endpoint)`"), "README.md does not list `\(endpoint)`")
        }
    }

    /// `server.provider_models` makes `provider/model` names explicit: off by default beside
    /// configured names, on when asked, and what is served is what is listed.
    @Test func providerModelsAreExplicit() async throws {
        let standIn = try ScriptedStandIn(["gpt-4o": [Reply.openAI("Direct.")]])
        let off = Application(router: try gateway(standIn, keys: false).makeRouter())
        try await off.test(.live) { client in
            let r = try await post(client, #"{"model": "openai/gpt-4o", "messages": [{"role": "user", "content": "Hi"}]}"#, key: nil)
            #expect(r.status == .notFound)
            let list = try JSONParser.parse(String(buffer: try await client.execute(uri: "/v1/models", method: .get).body))
            #expect(list["data"]?.arrayValue?.contains { $0["id"] == "openai/gpt-4o" } == false)
        }
        let on = Application(router: try gateway(standIn, keys: false, server: "{host: 127.0.0.1, port: 0, provider_models: true}").makeRouter())
        try await on.test(.live) { client in
            let r = try await post(client, #"{"model": "openai/gpt-4o", "messages": [{"role": "user", "content": "Hi"}]}"#, key: nil)
            #expect(r.status == .ok, "\(String(buffer: r.body))")
            let list = try JSONParser.parse(String(buffer: try await client.execute(uri: "/v1/models", method: .get).body))
            let ids = list["data"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
            #expect(ids.prefix(2) == ["fast", "smart"] && ids.contains("openai/gpt-4o") && ids.contains("workflow/support-triage"))
            #expect(try await client.execute(uri: "/v1/models/openai/gpt-4o", method: .get).status == .ok)
        }
    }

    /// `POST /v1/embeddings`, routed to OpenAI, Ollama and Gemini in their own formats; floats and
    /// base64; usage and cost; a provider without embeddings is named; OpenAI's schema holds.
    @Test func embeddingsAreRoutedLikeChat() async throws {
        let standIn = try ScriptedStandIn([
            "text-embedding-3-small": [Reply.openAIEmbeddings(dimensions: 3, promptTokens: 8)],
            "nomic-embed-text": [Reply.ollamaEmbed([[0.5, 0.25], [1, 2]])],
            "gemini-embedding-001": [Reply.geminiEmbeddings([[0.125, 0.5]])],
        ])
        let models = """
              embed: openai/text-embedding-3-small
              local-embed: ollama/nomic-embed-text
              gem-embed: gemini/gemini-embedding-001
              claude: anthropic/claude-haiku-4-5
            """
        let app = Application(router: try gateway(standIn, keys: false, models: models).makeRouter())
        @Sendable func embed(_ client: some TestClientProtocol, _ body: String) async throws -> (TestResponse, JSONValue) {
            let r = try await client.execute(
                uri: "/v1/embeddings", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: body))
            return (r, try JSONParser.parse(String(buffer: r.body)))
        }
        try await app.test(.live) { client in
            let (r, body) = try await embed(client, #"{"model": "embed", "input": ["a", "b"], "dimensions": 3}"#)
            #expect(r.status == .ok, "\(body.jsonText)")
            #expect(body["data"]?[1]?["embedding"] == .array([.number(1), .number(1.1), .number(1.2)]))
            #expect(body["usage"]?["prompt_tokens"] == .number(8))
            #expect(r.headers[HTTPField.Name("x-prellm-model")!] == "openai/text-embedding-3-small")
            let sent = try JSONParser.parse(try #require(standIn.requests.first).bodyText)
            #expect(sent["dimensions"] == .number(3) && sent["encoding_format"] == "float")
            if let schema = try Self.openAISchema("CreateEmbeddingResponse") {
                #expect(schema.validate(body).isEmpty, "\(schema.validate(body))")
                #expect(!schema.validate(.object(["object": "embedding"])).isEmpty, "the schema checks something")
            }
            let (_, b64) = try await embed(client, #"{"model": "embed", "input": "a", "encoding_format": "base64"}"#)
            let data = try #require(Data(base64Encoded: b64["data"]?[0]?["embedding"]?.stringValue ?? ""))
            let floats = stride(from: 0, to: data.count, by: 4).map { i in
                Float(bitPattern: data[i..<i + 4].enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) })
            }
            #expect(floats == [0, 0.1, 0.2])
            let (local, localBody) = try await embed(client, #"{"model": "local-embed", "input": ["x", "y"]}"#)
            #expect(local.status == .ok)
            #expect(localBody["data"]?[0]?["embedding"] == .array([.number(0.5), .number(0.25)]))
            #expect(localBody["usage"]?["prompt_tokens"] == .number(6))
            #expect(standIn.requests.contains { $0.path == "/api/embed" })
            let (gem, gemBody) = try await embed(client, #"{"model": "gem-embed", "input": "x"}"#)
            #expect(gem.status == .ok, "\(gemBody.jsonText)")
            #expect(gemBody["data"]?[0]?["embedding"] == .array([.number(0.125), .number(0.5)]))
            #expect((gemBody["usage"]?["prompt_tokens"]?.int ?? 0) > 0, "Gemini reports no usage: estimated, never zero")
            let (claude, claudeBody) = try await embed(client, #"{"model": "claude", "input": "x"}"#)
            #expect(claude.status == .badRequest)
            #expect(claudeBody["error"]?["message"]?.stringValue?.contains("serves no embeddings") == true)
            let (bad, _) = try await embed(client, #"{"model": "embed", "input": [1, 2]}"#)
            #expect(bad.status == .badRequest)
            // More dimensions than the catalogued model has: refused before anything is sent.
            let sentBefore = standIn.requests.count
            let (wide, wideBody) = try await embed(client, #"{"model": "embed", "input": "a", "dimensions": 4096}"#)
            #expect(wide.status == .badRequest)
            #expect(wideBody["error"]?["message"]?.stringValue?.contains("gives at most 1536 dimensions, not 4096") == true, "\(wideBody)")
            #expect(standIn.requests.count == sentBefore)
        }
    }

    /// OpenAI's OpenAPI spec in ../shared/suites, read once (nil when it is not beside the repository).
    static let openAIDocument: [String: JSONValue]? = {
        let url = root.deletingLastPathComponent().appendingPathComponent("shared/suites/openai-openapi/responses-chat-embeddings-subset.json")
        guard let text = try? String(contentsOf: url, encoding: .utf8), case .object(let doc)? = try? JSONParser.parse(text) else { return nil }
        return doc.mapValues(nullableAsJSONSchema)
    }()

    /// The spec is OpenAPI 3.1 but keeps some 3.0 `nullable: true` (the stream chunk's
    /// `finish_reason` and `logprobs`), which JSON Schema does not know: as JSON Schema, such
    /// a schema's type and enum also admit null.
    static func nullableAsJSONSchema(_ v: JSONValue) -> JSONValue {
        switch v {
        case .array(let items): return .array(items.map(nullableAsJSONSchema))
        case .object(var o):
            o = o.mapValues(nullableAsJSONSchema)
            if o["nullable"] == .bool(true) {
                o["nullable"] = nil
                if case .string(let t)? = o["type"] { o["type"] = .array([.string(t), "null"]) }
                if case .array(let e)? = o["enum"] { o["enum"] = .array(e + [.null]) }
            }
            return .object(o)
        default: return v
        }
    }

    /// Expects `value` to validate against the named schema of OpenAI's OpenAPI spec.
    static func expectConforms(_ value: JSONValue, to name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        guard let schema = try openAISchema(name) else { return }
        let problems = schema.validate(value)
        #expect(problems.isEmpty, "\(name): \(problems)", sourceLocation: sourceLocation)
    }

    /// A schema from OpenAI's OpenAPI spec (nil when the spec is not beside the repository).
    static func openAISchema(_ name: String) throws -> JSONSchema? {
        guard var doc = openAIDocument else { return nil }
        doc["$ref"] = .string("#/components/schemas/" + name)
        return JSONSchema(.object(doc))
    }

    @Test func providerTimeoutsFromTheConfigApply() async throws {
        // The upstream takes 1.5 s to its first byte; the config allows 200 ms.
        let late: ScriptedStandIn.Responder = { request, w in
            w.pause(1500); Reply.openAI("Too late.")(request, w)
        }
        let standIn = try ScriptedStandIn(["gpt-4o-mini": [late]])
        let providers = "providers:\n  openai: {timeouts: {first_token: 200ms}}"
        let app = Application(router: try gateway(standIn, extra: providers).makeRouter())
        try await app.test(.live) { client in
            let r = try await post(client, #"{"model": "fast", "messages": [{"role": "user", "content": "Hi"}]}"#)
            // Without the config's timeout the answer would arrive, late, as a 200.
            #expect(r.status == .gatewayTimeout, "\(String(buffer: r.body))")
            #expect(String(buffer: r.body).contains("no response within 200ms"))
        }
    }

    @Test func anUpstreamRateLimitIsA429() async throws {
        let standIn = try ScriptedStandIn([
            "gpt-4o-mini": [Reply.status(429, #"{"error":{"message":"slow down","type":"rate_limit_error"}}"#, headers: [("retry-after", "0")])]
        ])
        let app = Application(router: try gateway(standIn).makeRouter())
        try await app.test(.live) { client in
            let r = try await post(client, #"{"model": "fast", "messages": [{"role": "user", "content": "Hi"}]}"#)
            #expect(r.status == .tooManyRequests, "\(String(buffer: r.body))")
            #expect(try JSONParser.parse(String(buffer: r.body))["error"]?["code"] == "rate_limit_exceeded")
        }
    }

    /// A malformed field is a 400 that names it, never a silent default: a `stream: "yes"`
    /// answered whole, or an audio part dropped, would answer another request than the one sent.
    @Test(arguments: [
        (#"[1, 2]"#, "the body must be a JSON object"),
        (#"{"model": "fast", "messages": ["hi"]}"#, "messages[0] must be an object"),
        (#"{"model": "fast", "stream": "yes", "messages": [{"role": "user", "content": "Hi"}]}"#, "'stream' must be true or false"),
        (
            #"{"model": "fast", "stream": true, "stream_options": {"include_usage": 1}, "messages": [{"role": "user", "content": "Hi"}]}"#,
            "'stream_options.include_usage' must be true or false"
        ),
        (#"{"model": "fast", "temperature": "hot", "messages": [{"role": "user", "content": "Hi"}]}"#, "'temperature' must be a number from 0 to 2"),
        (#"{"model": "fast", "max_tokens": 0, "messages": [{"role": "user", "content": "Hi"}]}"#, "'max_tokens' must be an integer from 1 to"),
        (#"{"model": "fast", "max_tokens": 1.5, "messages": [{"role": "user", "content": "Hi"}]}"#, "'max_tokens' must be an integer from 1 to"),
        (
            #"{"model": "fast", "max_tokens": 1000000000000, "messages": [{"role": "user", "content": "Hi"}]}"#,
            "'max_tokens' must be an integer from 1 to 10000000"
        ),
        (#"{"model": "fast", "n": 2, "messages": [{"role": "user", "content": "Hi"}]}"#, "'n' must be 1"),
        (#"{"model": "fast", "stop": 5, "messages": [{"role": "user", "content": "Hi"}]}"#, "'stop' must be a string or up to 4 strings"),
        (#"{"model": "fast", "top_p": 2, "messages": [{"role": "user", "content": "Hi"}]}"#, "'top_p' must be a number from 0 to 1"),
        (#"{"model": "fast", "seed": 7, "messages": [{"role": "user", "content": "Hi"}]}"#, "'seed' is not supported by this gateway"),
        (#"{"model": "fast", "presence_penalty": 0.5, "messages": [{"role": "user", "content": "Hi"}]}"#, "'presence_penalty' is not supported"),
        (#"{"model": "fast", "response_format": {"type": "yaml"}, "messages": [{"role": "user", "content": "Hi"}]}"#, "response_format.type must be"),
        (#"{"model": "fast", "tools": [{"type": "function"}], "messages": [{"role": "user", "content": "Hi"}]}"#, "tools[0] needs function.name"),
        (
            #"{"model": "fast", "messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}]}"#,
            "unsupported content part type 'input_audio'"
        ),
        (#"{"model": "fast", "foo_bar": 1, "messages": [{"role": "user", "content": "Hi"}]}"#, "Unrecognized request argument supplied: foo_bar"),
        (
            #"{"model": "fast", "messages": [{"role": "user", "content": "Hi"}, {"role": "tool", "content": "18C"}]}"#,
            "Missing required parameter: 'messages[1].tool_call_id'"
        ),
        (
            #"{"model": "fast", "messages": [{"role": "user", "content": "Hi"}, {"role": "tool", "tool_call_id": "call_9", "content": "18C"}]}"#,
            "no assistant message before it made that call"
        ),
    ])
    func malformedRequestsAreRefusedByName(body: String, message: String) async throws {
        let error = try await refused("/v1/chat/completions", body)["error"]
        #expect(error?["type"] == "invalid_request_error")
        #expect(error?["message"]?.stringValue?.contains(message) == true, "\(String(describing: error))")
    }

    /// Posts `body` to `uri` and returns the error body, having checked that it is a 400 and
    /// that nothing went upstream.
    func refused(_ uri: String, _ body: String) async throws -> JSONValue {
        let standIn = try ScriptedStandIn(["gpt-4o-mini": [Reply.openAI("unused")]])
        let app = Application(router: try gateway(standIn).makeRouter())
        let json = try await app.test(.router) { client in
            let r = try await client.execute(
                uri: uri, method: .post,
                headers: [.contentType: "application/json", .authorization: "Bearer \(Self.key)"],
                body: ByteBuffer(string: body))
            #expect(r.status == .badRequest)
            return try JSONParser.parse(String(buffer: r.body))
        }
        #expect(standIn.requests.isEmpty)
        return json
    }

    @Test(arguments: [
        (
            #"{"model": "fast", "max_tokens": 50, "tools": [{"input_schema": {}}], "messages": [{"role": "user", "content": "Hi"}]}"#,
            "tools.0.name: Field required"
        ),
        (
            #"{"model": "fast", "max_tokens": 50, "tool_choice": {"type": "sometimes"}, "messages": [{"role": "user", "content": "Hi"}]}"#,
            "tool_choice.type: must be"
        ),
        (
            #"{"model": "fast", "max_tokens": 50, "messages": [{"role": "user", "content": [{"type": "document", "source": {}}]}]}"#,
            "'document' is not supported"
        ),
        (
            #"{"model": "fast", "max_tokens": 50, "messages": [{"role": "user", "content": [{"type": "tool_use", "id": "t", "name": "f", "input": {}}]}]}"#,
            "'tool_use' is not supported"
        ),
        (
            #"{"model": "fast", "max_tokens": 50, "stream": "true", "messages": [{"role": "user", "content": "Hi"}]}"#,
            "'stream' must be true or false"
        ),
        (#"{"model": "fast", "max_tokens": 50, "top_k": 5, "messages": [{"role": "user", "content": "Hi"}]}"#, "'top_k' is not supported"),
        (#"{"model": "fast", "max_tokens": 99999999999, "messages": [{"role": "user", "content": "Hi"}]}"#, "max_tokens: must be at most"),
    ])
    func malformedMessagesRequestsAreRefusedInAnthropicShape(body: String, message: String) async throws {
        let json = try await refused("/v1/messages", body)
        #expect(json["type"] == "error")
        #expect(json["error"]?["type"] == "invalid_request_error")
        #expect(json["error"]?["message"]?.stringValue?.contains(message) == true, "\(json)")
    }

    @Test func anUnknownRouteIsAnOpenAIShaped404() async throws {
        let standIn = try ScriptedStandIn([:])
        let app = Application(router: try gateway(standIn).makeRouter())
        try await app.test(.router) { client in
            for (uri, method) in [("/chat/completions", HTTPRequest.Method.post), ("/v1/chat/completions", .get)] {
                let r = try await client.execute(uri: uri, method: method)
                #expect(r.status == .notFound)
                let error = try JSONParser.parse(String(buffer: r.body))["error"]
                #expect(error?["code"] == "unknown_url")
                #expect(error?["message"]?.stringValue?.contains("no route \(method) \(uri)") == true, "\(String(describing: error))")
            }
        }
    }

    /// A served workflow may take a model's price from the gateway's config: it compiles under
    /// its USD budget (no PL505) and its cost is known.
    @Test func aServedWorkflowUsesTheConfigsPrices() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("prellm-gw-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try """
        prellm: 1
        inputs: {query: {type: string}}
        budget: {max_usd: 0.5}
        steps:
          - id: answer
            call: {model: openai/gpt-7-turbo, prompt: "{{ inputs.query }}"}
        """.write(to: dir.appendingPathComponent("priced.yaml"), atomically: true, encoding: .utf8)
        let path = dir.appendingPathComponent("prellm.yaml").path
        try """
        prellm: 1
        models:
          newest: {use: openai/gpt-7-turbo, price: {input: 1, output: 2}}
        workflows: [\(dir.path)/priced.yaml]
        store: {path: \(dir.path)/store.sqlite}
        """.write(toFile: path, atomically: true, encoding: .utf8)
        let standIn = try ScriptedStandIn(["gpt-7-turbo": [Reply.openAI("Priced.", promptTokens: 1000, completionTokens: 500)]])
        let result = WorkflowCompiler().compile(path: path)
        let gateway = try Gateway(config: try #require(result.config), environment: standIn.environment)
        try await Application(router: gateway.makeRouter()).test(.router) { client in
            let r = try await post(client, #"{"model": "workflow/priced", "messages": [{"role": "user", "content": "Hi"}]}"#, key: nil)
            #expect(r.status == .ok, "\(String(buffer: r.body))")
            #expect(r.headers[HTTPField.Name("x-prellm-cost-usd")!] == "0.002")
        }
    }

    @Test func keysAndErrorsInOpenAIShape() async throws {
        let standIn = try ScriptedStandIn(["gpt-4o-mini": [Reply.openAI("x")]])
        let app = Application(router: try gateway(standIn).makeRouter())
        try await app.test(.live) { client in
            let none = try await post(client, #"{"model": "fast", "messages": [{"role": "user", "content": "Hi"}]}"#, key: nil)
            #expect(none.status == .unauthorized)
            #expect(try JSONParser.parse(String(buffer: none.body))["error"]?["code"] == "invalid_api_key")
            let wrong = try await post(client, #"{"model": "fast", "messages": [{"role": "user", "content": "Hi"}]}"#, key: "pk-nope")
            #expect(wrong.status == .unauthorized)
            let forbidden = try await post(client, #"{"model": "smart", "messages": [{"role": "user", "content": "Hi"}]}"#, key: "pk-other")
            #expect(forbidden.status == .forbidden)
            let unknown = try await post(client, #"{"model": "nope", "messages": [{"role": "user", "content": "Hi"}]}"#)
            #expect(unknown.status == .notFound)
            #expect(try JSONParser.parse(String(buffer: unknown.body))["error"]?["code"] == "model_not_found")
            let bad = try await post(client, #"{"model": "fast"}"#)
            #expect(bad.status == .badRequest)
            #expect(try JSONParser.parse(String(buffer: bad.body))["error"]?["param"] == "messages")
            let garbage = try await post(client, "{not json")
            #expect(garbage.status == .badRequest)
            #expect(standIn.requests.isEmpty)
        }
    }

    @Test func aRemoteAddressWithoutKeysIsRefused() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("prellm-gw-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("prellm.yaml").path
        try "prellm: 1\nserver: {host: 0.0.0.0}\nmodels:\n  fast: openai/gpt-4o-mini\n".write(toFile: path, atomically: true, encoding: .utf8)
        let config = try #require(WorkflowCompiler().compile(path: path).config)
        let gateway = try Gateway(config: config, environment: [:])
        await #expect(throws: Gateway.StartupError.self) { try await gateway.prepare() }
    }
}

@Suite struct GatewayMetricsTests {
    /// A retry on the same model is counted as a retry, and only as one.
    @Test func retriesAreCountedApartFromFallbacks() async throws {
        let standIn = try ScriptedStandIn([
            "gpt-4o-mini": [
                Reply.status(500, #"{"error":{"message":"overloaded","type":"server_error"}}"#),
                Reply.openAI("Hello", promptTokens: 3, completionTokens: 2),
            ]
        ])
        let app = Application(router: try GatewayTests().gateway(standIn).makeRouter())
        try await app.test(.live) { client in
            let r = try await GatewayTests().post(client, #"{"model": "fast", "messages": [{"role": "user", "content": "Hi"}]}"#)
            #expect(r.status == .ok)
            let text = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
            #expect(text.contains(#"prellm_retries_total{model="openai/gpt-4o-mini"} 1"#))
            #expect(text.contains(#"prellm_upstream_calls_total{model="openai/gpt-4o-mini",status="error"} 1"#))
            #expect(text.contains(#"prellm_upstream_calls_total{model="openai/gpt-4o-mini",status="ok"} 1"#))
            #expect(!text.contains("prellm_fallbacks_total"))
        }
    }

    @Test func prometheusMetrics() async throws {
        let standIn = try ScriptedStandIn([
            "gpt-4o-mini": [Reply.openAI("Hello", promptTokens: 3, completionTokens: 2)],
            "gpt-4o": [Reply.status(400, #"{"error":{"message":"bad","type":"invalid_request_error"}}"#)],
            "claude-haiku-4-5": [Reply.anthropic("Fallback")],
        ])
        let app = Application(router: try GatewayTests().gateway(standIn).makeRouter())
        try await app.test(.live) { client in
            _ = try await GatewayTests().post(client, #"{"model": "fast", "messages": [{"role": "user", "content": "Hi"}]}"#)
            _ = try await GatewayTests().post(client, #"{"model": "fast", "stream": true, "messages": [{"role": "user", "content": "Hi"}]}"#)
            _ = try await GatewayTests().post(client, #"{"model": "smart", "messages": [{"role": "user", "content": "Hi"}]}"#)
            _ = try await GatewayTests().post(client, #"{"model": "nope", "messages": [{"role": "user", "content": "Hi"}]}"#)
            let text = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
            #expect(text.contains(#"prellm_requests_total{model="fast",key="team-a",status="200"} 2"#))
            #expect(text.contains(#"prellm_requests_total{model="nope",key="team-a",status="404"} 1"#))
            #expect(text.contains(#"prellm_errors_total{kind="model_not_found"} 1"#))
            #expect(text.contains(#"prellm_tokens_total{model="fast",key="team-a"} 10"#))
            #expect(text.contains(#"prellm_fallbacks_total{model="anthropic/claude-haiku-4-5"} 1"#))
            #expect(text.contains(#"prellm_upstream_calls_total{model="openai/gpt-4o",status="error"} 1"#))
            // A fallback is not a retry (the second attempt of a call used to count as one).
            #expect(!text.contains("prellm_retries_total"))
            #expect(text.contains("# TYPE prellm_time_to_first_token_seconds histogram"))
            #expect(text.contains(#"prellm_request_duration_seconds_count{model="fast"} 2"#))
        }
    }
}

@Suite struct GatewayServerOptionsTests {
    @Test func corsAndRequestTimeoutAndInputMapping() async throws {
        let standIn = try ScriptedStandIn([
            "gpt-4o-mini": [
                // Far past the limit, which a loaded CI machine still meets for the workflow below.
                { _, w in
                    w.pause(5000); w.respond(body: "{}")
                }
            ],
            "qwen2.5:3b": [Reply.ollama(#"{"label": "bug", "confidence": 0.9}"#)],
        ])
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("prellm-opt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("prellm.yaml").path
        try """
        prellm: 1
        server: {cors: ["https://app.example.com"]}
        limits: {request_timeout: 1500ms, max_body_bytes: 65536}
        models:
          fast: openai/gpt-4o-mini
        workflows:
          - {path: \(GatewayTests.root.path)/workflows/support-triage.yaml, query: message}
        """.write(toFile: path, atomically: true, encoding: .utf8)
        let compiled = WorkflowCompiler().compile(path: path)
        let config = try #require(compiled.config)
        #expect(!compiled.hasErrors, "\(compiled.diagnostics)")
        let app = Application(router: try Gateway(config: config, environment: standIn.environment).makeRouter())
        try await app.test(.live) { client in
            let preflight = try await client.execute(
                uri: "/v1/chat/completions", method: .options,
                headers: [.origin: "https://app.example.com", .accessControlRequestMethod: "POST"])
            #expect(preflight.status == .noContent)
            #expect(preflight.headers[.accessControlAllowOrigin] == "https://app.example.com")
            let stranger = try await client.execute(uri: "/healthz", method: .get, headers: [.origin: "https://evil.example"])
            #expect(stranger.headers[.accessControlAllowOrigin] == nil)

            let slow = try await client.execute(
                uri: "/v1/chat/completions", method: .post, headers: [.contentType: "application/json", .origin: "https://app.example.com"],
                body: ByteBuffer(string: #"{"model": "fast", "messages": [{"role": "user", "content": "Hi"}]}"#))
            #expect(slow.status == .gatewayTimeout)
            #expect(slow.headers[.accessControlAllowOrigin] == "https://app.example.com")

            let mapped = try await client.execute(
                uri: "/v1/chat/completions", method: .post, headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"model": "workflow/support-triage", "messages": [{"role": "user", "content": "It crashes"}]}"#))
            #expect(mapped.status == .ok)
        }
    }
}

@Suite struct GatewayToolsTests {
    /// A streamed request with tools streams the tool call as OpenAI does: the id and name
    /// first, then the arguments in fragments (read back with prellm's own OpenAI client).
    @Test func toolCallsStreamInFragments() async throws {
        let standIn = try ScriptedStandIn([
            "gpt-4o-mini": [
                Reply.openAIToolCall(
                    text: "Checking.", id: "call_9", name: "get_weather",
                    arguments: #"{"city":"Paris","unit":"C"}"#)
            ]
        ])
        let app = Application(
            router: try GatewayTests().gateway(standIn).makeRouter(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let openAI = try ProviderDirectory(environment: [
                "OPENAI_BASE_URL": "http://127.0.0.1:\(port)/v1",
                "OPENAI_API_KEY": GatewayTests.key,
            ]).provider(named: "openai")
            var request = ChatRequest(model: "fast", messages: [.user("Weather?")])
            request.tools = [ToolDefinition(name: "get_weather", parameters: .object(["type": "object"]))]
            var deltas: [ChatDelta] = []
            for try await d in openAI.stream(request) { deltas.append(d) }
            let fragments = deltas.filter { if case .toolCall = $0 { true } else { false } }
            #expect(fragments.count > 2, "the arguments arrive in pieces: \(fragments)")
            let answer = deltas.collected(model: "fast")
            #expect(answer.text == "Checking.")
            #expect(answer.toolCalls == [ToolCall(id: "call_9", name: "get_weather", arguments: #"{"city":"Paris","unit":"C"}"#)])
            #expect(answer.finishReason == .toolCalls)
        }
    }

    @Test func toolsAndClientParametersPassThrough() async throws {
        let standIn = try ScriptedStandIn([
            "gpt-4o-mini": [
                { _, w in
                    w.respond(
                        body:
                            #"{"id":"c","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":9,"completion_tokens":7,"total_tokens":16}}"#
                    )
                },
                Reply.openAIToolCall(text: "Checking.", id: "call_2", name: "get_weather", arguments: #"{"city":"Paris"}"#),
            ]
        ])
        let app = Application(router: try GatewayTests().gateway(standIn).makeRouter())
        try await app.test(.live) { client in
            let r = try await GatewayTests().post(
                client,
                """
                {"model": "fast", "temperature": 0.3, "max_tokens": 77, "top_p": 0.9, "stop": ["END"],
                 "presence_penalty": 0, "parallel_tool_calls": true, "user": "u-1", "seed": null,
                 "messages": [{"role": "user", "content": "Weather in Paris?"}],
                 "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
                 "tool_choice": "auto"}
                """)
            #expect(r.status == .ok)
            let body = try JSONParser.parse(String(buffer: r.body))
            #expect(body["choices"]?[0]?["finish_reason"] == "tool_calls")
            #expect(body["choices"]?[0]?["message"]?["tool_calls"]?[0]?["function"]?["name"] == "get_weather")
            #expect(body["choices"]?[0]?["message"]?["tool_calls"]?[0]?["function"]?["arguments"] == #"{"city":"Paris"}"#)
            let upstream = try JSONParser.parse(try #require(standIn.requests.first).bodyText)
            #expect(upstream["tools"]?[0]?["function"]?["name"] == "get_weather")
            #expect(upstream["tool_choice"] == "auto")
            #expect(upstream["temperature"] == .number(0.3))
            #expect(upstream["max_tokens"] == .number(77))
            #expect(upstream["top_p"] == .number(0.9))
            #expect(upstream["stop"] == .array(["END"]))
            #expect(upstream["parallel_tool_calls"] == true)
            // As OpenAI answers: refusal present, content null beside tool calls.
            let message = body["choices"]?[0]?["message"]
            #expect(message?["refusal"] == .null && message?.objectValue?["refusal"] != nil)
            #expect(message?["content"] == .null)
            try GatewayTests.expectConforms(body, to: "CreateChatCompletionResponse")
            // And streamed: each chunk, the tool call's fragments among them.
            let streamed = try await GatewayTests().post(
                client,
                #"{"model": "fast", "stream": true, "stream_options": {"include_usage": true}, "messages": [{"role": "user", "content": "Weather?"}]}"#
            )
            let chunks = String(buffer: streamed.body).components(separatedBy: "\n\n").filter { $0.hasPrefix("data: {") }
            #expect(chunks.count > 3)
            for chunk in chunks {
                try GatewayTests.expectConforms(try JSONParser.parse(String(chunk.dropFirst(6))), to: "CreateChatCompletionStreamResponse")
            }
        }
    }

    /// Issue 12's bugs in the request fields frameworks send: `tool_choice: "none"` reaches the
    /// upstream, `parallel_tool_calls: false` is passed on (as `disable_parallel_tool_use` to
    /// Anthropic), and an upstream 429's Retry-After reaches the client.
    @Test func toolChoiceNoneParallelToolCallsAndRetryAfterPassThrough() async throws {
        let standIn = try ScriptedStandIn([
            "gpt-4o-mini": [
                Reply.openAI("No tools."),
                Reply.status(429, #"{"error":{"message":"slow down","type":"rate_limit"}}"#, headers: [("Retry-After", "1")]),
            ],
            "gpt-4o": [Reply.status(429, #"{"error":{"message":"slow down","type":"rate_limit"}}"#, headers: [("Retry-After", "1")])],
            "claude-haiku-4-5": [Reply.anthropic("Fine.")],
        ])
        let app = Application(
            router: try GatewayTests().gateway(standIn, keys: false, models: "  claude: anthropic/claude-haiku-4-5\n  solo: openai/gpt-4o")
                .makeRouter())
        let tools = #""tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]"#
        try await app.test(.live) { client in
            let none = try await GatewayTests().post(
                client,
                #"{"model": "fast", "messages": [{"role": "user", "content": "Hi"}], "tool_choice": "none", "parallel_tool_calls": false, \#(tools)}"#,
                key: nil)
            #expect(none.status == .ok, "\(String(buffer: none.body))")
            let upstream = try JSONParser.parse(try #require(standIn.requests.first).bodyText)
            #expect(upstream["tool_choice"] == "none")
            #expect(upstream["parallel_tool_calls"] == false)
            let claude = try await GatewayTests().post(
                client, #"{"model": "claude", "messages": [{"role": "user", "content": "Hi"}], "parallel_tool_calls": false, \#(tools)}"#,
                key: nil)
            #expect(claude.status == .ok, "\(String(buffer: claude.body))")
            let sent = try JSONParser.parse(try #require(standIn.requests.last).bodyText)
            #expect(sent["tool_choice"]?["disable_parallel_tool_use"] == true)
            let limited = try await GatewayTests().post(client, #"{"model": "solo", "messages": [{"role": "user", "content": "Hi"}]}"#, key: nil)
            #expect(limited.status == .tooManyRequests)
            #expect(limited.headers[.retryAfter] == "1")
        }
    }
}
