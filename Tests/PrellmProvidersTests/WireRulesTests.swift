import PrellmHTTP
import PrellmProviderKit
import PrellmProviders
import PrellmSchema
import ProviderStandIn
import Testing

/// The stand-ins refuse what the real APIs refuse (ProviderStandIn/WireRules), and the
/// providers send what the real APIs accept.
@Suite struct WireRulesTests {
    static func directory(_ standIn: ScriptedStandIn) -> ProviderDirectory {
        ProviderDirectory(environment: standIn.environment)
    }

    static func openAIAnswer(_ content: String) -> ScriptedStandIn.Responder {
        Reply.openAI(content)
    }

    func body(_ r: RecordedRequest?) throws -> JSONValue { try JSONParser.parse(try #require(r).bodyText) }

    // MARK: - The rules themselves

    func request(_ path: String, _ body: String) -> RecordedRequest {
        RecordedRequest(method: "POST", path: path, headers: [], body: Array(body.utf8))
    }

    @Test func theOpenAIStandInRefusesWhatStrictModeRefuses() {
        let open =
            #"{"model":"gpt-4o","messages":[],"response_format":{"type":"json_schema","json_schema":{"name":"R","strict":true,"schema":{"type":"object","properties":{"a":{"type":"string"}},"required":["a"]}}}}"#
        #expect(
            WireRules.refusal(for: request("/v1/chat/completions", open))?.body.contains(
                "Invalid schema for response_format 'R': In context=(), 'additionalProperties' is required to be supplied and to be false.")
                == true)
        let optional =
            #"{"model":"gpt-4o","messages":[],"response_format":{"type":"json_schema","json_schema":{"name":"R","strict":true,"schema":{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string"}},"required":["a"],"additionalProperties":false}}}}"#
        #expect(WireRules.refusal(for: request("/v1/chat/completions", optional))?.body.contains("Missing 'b'") == true)
        let fine =
            #"{"model":"gpt-4o","messages":[],"response_format":{"type":"json_schema","json_schema":{"name":"R","strict":true,"schema":{"type":"object","properties":{"a":{"type":["string","null"]}},"required":["a"],"additionalProperties":false}}}}"#
        #expect(WireRules.refusal(for: request("/v1/chat/completions", fine)) == nil)
        let reasoning = #"{"model":"gpt-5","messages":[],"max_tokens":10}"#
        #expect(WireRules.refusal(for: request("/v1/chat/completions", reasoning))?.body.contains("Use 'max_completion_tokens' instead") == true)
    }

    /// A field CreateChatCompletionRequest does not define, as OpenAI's spec lists them.
    @Test func theOpenAIStandInRefusesUnknownFields() throws {
        try #require(WireRules.openAIChatFields != nil, "../shared/suites/openai-openapi is not beside the repository")
        let typo = #"{"model":"gpt-4o","max_token":10,"messages":[{"role":"user","content":"hi"}]}"#
        #expect(
            WireRules.refusal(for: request("/v1/chat/completions", typo))?.body.contains("Unrecognized request argument supplied: max_token") == true)
        let fine = #"{"model":"gpt-4o","max_completion_tokens":10,"seed":1,"messages":[{"role":"user","content":"hi"}]}"#
        #expect(WireRules.refusal(for: request("/v1/chat/completions", fine)) == nil)
    }

    @Test func theAnthropicAndOllamaStandInsRefuseWhatTheirAPIsRefuse() {
        let empty = #"{"model":"claude-haiku-4-5","max_tokens":10,"messages":[{"role":"user","content":[{"type":"text","text":""}]}]}"#
        #expect(WireRules.refusal(for: request("/v1/messages", empty))?.body.contains("text content blocks must be non-empty") == true)
        let parts = #"{"model":"qwen2.5:3b","messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]}"#
        #expect(WireRules.refusal(for: request("/api/chat", parts))?.body.contains("cannot unmarshal array") == true)
    }

    // MARK: - OpenAI strict structured outputs

    static func json(_ text: String) -> JSONValue { try! JSONParser.parse(text) }

    static let reply = json(
        #"{"type": "object", "required": ["text"], "properties": {"text": {"type": "string", "maxLength": 40}, "note": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}}}}"#
    )

    @Test func aContractWithOptionalFieldsIsSentStrictAndTheNullsAreDropped() async throws {
        let standIn = try ScriptedStandIn(["gpt-4o-mini": [Reply.openAI(#"{"text": "hi", "note": null, "tags": null}"#)]])
        let provider = try Self.directory(standIn).provider(named: "openai")
        let response = try await provider.complete(
            ChatRequest(
                model: "gpt-4o-mini", messages: [.user("Say hi")], maxTokens: 50, responseFormat: .jsonSchema(name: "Reply", schema: Self.reply)))
        // The stand-in refuses a schema strict mode refuses; it accepted this one.
        #expect(try JSONParser.parse(response.text) == Self.json(#"{"text": "hi"}"#))
        #expect(JSONSchema(Self.reply).validate(try JSONParser.parse(response.text)).isEmpty)
        let sent = try body(standIn.requests.first)
        let spec = try #require(sent["response_format"]?["json_schema"])
        #expect(spec["strict"] == true)
        #expect(spec["schema"]?["required"] == Self.json(#"["note", "tags", "text"]"#))
        #expect(spec["schema"]?["additionalProperties"] == false)
        #expect(spec["schema"]?["properties"]?["note"]?["type"] == Self.json(#"["string", "null"]"#))
        #expect(spec["schema"]?["properties"]?["text"]?["maxLength"] == nil)
        let system = sent["messages"]?[0]?["content"]?.stringValue ?? ""
        #expect(system.contains("- /text: maxLength 40"), "\(system)")
        #expect(response.notes == ["stated in the prompt, not the schema: /text: maxLength 40"])
    }

    @Test func aContractWithNoFaithfulTranslationIsSentNonStrictAndSaysSo() async throws {
        let map = Self.json(#"{"type": "object", "additionalProperties": {"type": "integer"}}"#)
        let standIn = try ScriptedStandIn(["gpt-4o-mini": [Reply.openAI(#"{"a": 1}"#)]])
        let provider = try Self.directory(standIn).provider(named: "openai")
        let response = try await provider.complete(
            ChatRequest(model: "gpt-4o-mini", messages: [.user("Count")], maxTokens: 50, responseFormat: .jsonSchema(name: "Counts", schema: map)))
        #expect(response.text == #"{"a": 1}"#)
        let spec = try body(standIn.requests.first)["response_format"]?["json_schema"]
        #expect(spec?["strict"] == false)
        #expect(spec?["schema"] == map)
        #expect(response.notes.first?.hasPrefix("sent with strict: false: the object at / allows properties by a schema") == true)
    }

    // MARK: - Reasoning models

    @Test(arguments: ["gpt-5", "o3-mini"])
    func reasoningModelsTakeMaxCompletionTokensAndTheDefaultTemperature(_ model: String) async throws {
        let standIn = try ScriptedStandIn([model: [Reply.openAI("Done.")]])
        let provider = try Self.directory(standIn).provider(named: "openai")
        var request = ChatRequest(model: model, messages: [.user("Go")], temperature: 0.2, maxTokens: 100)
        if model == "gpt-5" { request.reasoning = true }  // the catalog's word; o3-mini is known by its name
        let response = try await provider.complete(request)
        #expect(response.text == "Done.")
        let sent = try body(standIn.requests.first)
        #expect(sent["max_completion_tokens"] == .number(100))
        #expect(sent["max_tokens"] == nil && sent["temperature"] == nil)
        #expect(response.notes.first?.contains("temperature 0.2 not sent") == true)
    }

    @Test func theCatalogMarksReasoningModels() {
        #expect(ModelCatalog.builtin.entry(for: "openai/gpt-5")?.capabilities.reasoning == true)
        #expect(ModelCatalog.builtin.entry(for: "openai/o4-mini")?.capabilities.reasoning == true)
        #expect(ModelCatalog.builtin.entry(for: "openai/gpt-4o")?.capabilities.reasoning == nil)
    }

    // MARK: - Anthropic and Ollama

    @Test func anthropicIsNeverSentAnEmptyTextBlock() async throws {
        let standIn = try ScriptedStandIn(["claude-haiku-4-5": [Reply.anthropic("Fine.")]])
        let provider = try Self.directory(standIn).provider(named: "anthropic")
        let response = try await provider.complete(
            ChatRequest(
                model: "claude-haiku-4-5", system: "",
                messages: [.user("First"), ChatMessage(role: .assistant, content: [.text("")]), .user("Again")], maxTokens: 20))
        #expect(response.text == "Fine.")
        let messages = try body(standIn.requests.first)["messages"]?.arrayValue ?? []
        #expect(messages.count == 2)
        #expect(try body(standIn.requests.first)["system"] == nil)
    }

    @Test func ollamaGetsImagesInItsImagesField() async throws {
        let standIn = try ScriptedStandIn(["llava:7b": [Reply.ollama("A cat.")]])
        let provider = try Self.directory(standIn).provider(named: "ollama")
        let image = ChatMessage(role: .user, content: [.text("What is this?"), .imageURL("data:image/png;base64,iVBORw0KGgo=")])
        let response = try await provider.complete(ChatRequest(model: "llava:7b", messages: [image], maxTokens: 20))
        #expect(response.text == "A cat.")
        let sent = try body(standIn.requests.first)["messages"]?[0]
        #expect(sent?["content"] == "What is this?")
        #expect(sent?["images"] == Self.json(#"["iVBORw0KGgo="]"#))
        let remote = ChatMessage(role: .user, content: [.text("And this?"), .imageURL("https://example.com/cat.png")])
        await #expect(throws: ProviderError.self) { try await provider.complete(ChatRequest(model: "llava:7b", messages: [remote])) }
        do { _ = try await provider.complete(ChatRequest(model: "llava:7b", messages: [remote])) } catch {
            #expect(error.kind == .badRequest)
            #expect(error.message.contains("cannot fetch"))
        }
        #expect(standIn.requests.count == 1)
    }
}
