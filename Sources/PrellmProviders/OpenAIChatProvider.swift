import PrellmHTTP
import PrellmProviderKit
import PrellmSchema

/// OpenAI Chat Completions: `POST {base}/chat/completions`, bearer key. The same format serves
/// OpenRouter, vLLM, llama.cpp's server, LM Studio, Groq, Together, DeepSeek and Mistral by
/// base URL. Streams are SSE `data:` lines ending with `data: [DONE]`; with
/// `stream_options.include_usage` the last chunk before it carries the usage.
public struct OpenAIChatProvider: ChatProvider, EmbeddingProvider {
    public let name: String
    let transport: ProviderTransport

    public init(configuration: ProviderConfiguration, client: HTTPClient = .shared) {
        name = configuration.name
        transport = ProviderTransport(configuration: configuration, client: client, classify: Self.classify)
    }

    var headers: [(name: String, value: String)] {
        transport.configuration.apiKey.map { [("Authorization", "Bearer \($0)")] } ?? []
    }

    public func complete(_ request: ChatRequest) async throws(ProviderError) -> ChatResponse {
        let strict = Self.strictSchema(request)
        let json = try await transport.send(
            transport.request(
                path: "/chat/completions", body: Self.encode(request, stream: false, strict: strict),
                headers: headers, streaming: false, trace: request.traceContext))
        var response = try Self.decode(json, model: request.model, transport: transport)
        if let strict { Self.restore(&response, request, strict) }
        response.notes += Self.reasoningNotes(request)
        return response
    }

    public func stream(_ request: ChatRequest) -> AsyncThrowingStream<ChatDelta, any Error> {
        let strict = Self.strictSchema(request)
        let http = transport.request(
            path: "/chat/completions", body: Self.encode(request, stream: true, strict: strict), headers: headers, streaming: true,
            trace: request.traceContext)
        let transport = self.transport
        // An answer whose nulls must be dropped is held back and handed on whole.
        let holdBack = strict?.introducedNulls == true
        return transport.deltas { out in
            let body = try await transport.open(http)
            var decoder = OpenAIStreamDecoder(provider: transport.provider)
            var held = ""
            for try await chunk in body {
                do {
                    try decoder.feed(chunk) { delta in
                        if holdBack, case .text(let t) = delta { held += t } else { out.yield(delta) }
                    }
                } catch { throw transport.normalize(error) }
                if decoder.isDone { break }
            }
            if !decoder.isDone { throw transport.cut("data: [DONE]") }
            if holdBack, let strict, case .jsonSchema(_, let original) = request.responseFormat {
                out.yield(.text(Self.restored(held, original: original, strict)))
            }
        }
    }

    /// The catalog's word, else the model families OpenAI documents as reasoning models.
    static func isReasoning(_ r: ChatRequest) -> Bool {
        if let known = r.reasoning { return known }
        let m = r.model.lowercased()
        return m.hasPrefix("o1") || m.hasPrefix("o3") || m.hasPrefix("o4") || (m.hasPrefix("gpt-5") && !m.contains("chat"))
    }

    /// What was left out of a request for a reasoning model, for the trace.
    static func reasoningNotes(_ r: ChatRequest) -> [String] {
        guard isReasoning(r), let t = r.temperature, t != 1 else { return [] }
        return ["temperature \(JSONValue.number(t).jsonText) not sent: \(r.model) is a reasoning model, which takes only the default"]
    }

    // MARK: - Embeddings

    /// `POST {base}/embeddings`, floats; the vectors come back in input order by `index`.
    public func embed(_ request: EmbeddingRequest) async throws(ProviderError) -> EmbeddingResponse {
        var body: [String: JSONValue] = [
            "model": .string(request.model), "input": .array(request.inputs.map(JSONValue.string)), "encoding_format": "float",
        ]
        if let d = request.dimensions { body["dimensions"] = .number(Double(d)) }
        let json = try await transport.send(transport.request(path: "/embeddings", body: .object(body), headers: headers, streaming: false))
        guard let data = json["data"]?.arrayValue else { throw transport.invalid("the embeddings response has no data") }
        var vectors = [[Double]](repeating: [], count: request.inputs.count)
        for (k, item) in data.enumerated() {
            let i = item["index"]?.int ?? k
            guard i >= 0, i < vectors.count, let values = item["embedding"]?.arrayValue?.compactMap(\.numberValue) else {
                throw transport.invalid("embedding \(k) is malformed")
            }
            vectors[i] = values
        }
        let tokens = json["usage"]?["prompt_tokens"]?.int
        return EmbeddingResponse(vectors: vectors, usage: tokens.map { Usage(inputTokens: $0, outputTokens: 0) })
    }

    // MARK: - Strict structured outputs

    /// The strict-mode form of the request's contract, when it has one.
    static func strictSchema(_ r: ChatRequest) -> OpenAIStrictSchema? {
        guard case .jsonSchema(_, let schema) = r.responseFormat else { return nil }
        return OpenAIStrictSchema.translate(schema)
    }

    static func restore(_ response: inout ChatResponse, _ r: ChatRequest, _ strict: OpenAIStrictSchema) {
        if case .jsonSchema(_, let original) = r.responseFormat { response.text = restored(response.text, original: original, strict) }
        response.notes += strict.notes + strict.constraints.map { "stated in the prompt, not the schema: \($0)" }
    }

    static func restored(_ text: String, original: JSONValue, _ strict: OpenAIStrictSchema) -> String {
        guard strict.introducedNulls, let answer = try? JSONParser.parse(text) else { return text }
        return OpenAIStrictSchema.restore(answer, original: original).jsonText
    }

    // MARK: - Encoding

    /// - Parameter strict: the request's contract in strict form, when the caller already has it
    ///   (it also maps the answer back); otherwise it is translated here.
    static func encode(_ r: ChatRequest, stream: Bool, strict: OpenAIStrictSchema? = nil) -> JSONValue {
        let strict = strict ?? strictSchema(r)
        var messages: [JSONValue] = []
        var system = r.system
        if let strict, !strict.constraints.isEmpty {
            // What strict mode cannot say in the schema is said in words.
            let rules =
                "The JSON must also meet these constraints (JSON pointer: keyword value):\n"
                + strict.constraints.map { "- \($0)" }.joined(separator: "\n")
            system = system.map { $0 + "\n\n" + rules } ?? rules
        }
        if let system { messages.append(.object(["role": "system", "content": .string(system)])) }
        for m in r.messages { messages.append(encode(m)) }
        var body: [String: JSONValue] = ["model": .string(r.model), "messages": .array(messages)]
        if isReasoning(r) {
            // Reasoning models count their hidden reasoning in max_completion_tokens, refuse
            // max_tokens, and take only the default temperature.
            if let n = r.maxTokens { body["max_completion_tokens"] = .number(Double(n)) }
        } else {
            if let t = r.temperature { body["temperature"] = .number(t) }
            if let n = r.maxTokens { body["max_tokens"] = .number(Double(n)) }
        }
        if let p = r.topP { body["top_p"] = .number(p) }
        if !r.stop.isEmpty { body["stop"] = .array(r.stop.map(JSONValue.string)) }
        switch r.responseFormat {
        case .text: break
        case .json: body["response_format"] = .object(["type": "json_object"])
        case .jsonSchema(let name, _):
            // `strict` is this contract's translation (strictSchema gives one for every schema).
            if let strict {
                body["response_format"] = .object([
                    "type": "json_schema",
                    "json_schema": .object(["name": .string(name), "schema": strict.schema, "strict": .bool(strict.strict)]),
                ])
            }
        }
        if !r.tools.isEmpty {
            body["tools"] = .array(
                r.tools.map { t in
                    var f: [String: JSONValue] = ["name": .string(t.name), "parameters": t.parameters]
                    if let d = t.description { f["description"] = .string(d) }
                    return .object(["type": "function", "function": .object(f)])
                })
        }
        switch r.toolChoice {
        case nil: break
        case .auto?: body["tool_choice"] = "auto"
        case .none?: body["tool_choice"] = "none"
        case .required?: body["tool_choice"] = "required"
        case .tool(let n)?: body["tool_choice"] = .object(["type": "function", "function": .object(["name": .string(n)])])
        }
        if let parallel = r.parallelToolCalls, !r.tools.isEmpty { body["parallel_tool_calls"] = .bool(parallel) }
        if stream {
            body["stream"] = true
            body["stream_options"] = .object(["include_usage": true])
        }
        return .object(body)
    }

    static func encode(_ m: ChatMessage) -> JSONValue {
        var o: [String: JSONValue] = ["role": .string(m.role.rawValue)]
        let onlyText = m.content.allSatisfy { if case .text = $0 { true } else { false } }
        if onlyText {
            o["content"] = m.toolCalls.isEmpty || !m.text.isEmpty ? .string(m.text) : .null
        } else {
            o["content"] = .array(
                m.content.map { part in
                    switch part {
                    case .text(let t): .object(["type": "text", "text": .string(t)])
                    case .imageURL(let u): .object(["type": "image_url", "image_url": .object(["url": .string(u)])])
                    case .imageData(let b64, let type):
                        .object(["type": "image_url", "image_url": .object(["url": .string("data:\(type);base64,\(b64)")])])
                    }
                })
        }
        if !m.toolCalls.isEmpty {
            o["tool_calls"] = .array(
                m.toolCalls.map {
                    .object([
                        "id": .string($0.id), "type": "function",
                        "function": .object(["name": .string($0.name), "arguments": .string($0.arguments)]),
                    ])
                })
        }
        if let id = m.toolCallID { o["tool_call_id"] = .string(id) }
        return .object(o)
    }

    // MARK: - Decoding

    static func finishReason(_ s: String?) -> FinishReason? {
        s.map(FinishReason.init(name:))
    }

    static func usage(_ u: JSONValue?) -> Usage? {
        guard let u, case .object = u, let input = u["prompt_tokens"]?.int else { return nil }
        return Usage(
            inputTokens: input, outputTokens: u["completion_tokens"]?.int ?? 0,
            cachedInputTokens: u["prompt_tokens_details"]?["cached_tokens"]?.int)
    }

    static func decode(_ json: JSONValue, model: String, transport: ProviderTransport) throws(ProviderError) -> ChatResponse {
        guard let choice = json["choices"]?[0], let message = choice["message"] else {
            throw transport.invalid("the response has no choices: \(json.jsonText.prefix(200))")
        }
        let calls = (message["tool_calls"]?.arrayValue ?? []).map {
            ToolCall(
                id: $0["id"]?.stringValue ?? "", name: $0["function"]?["name"]?.stringValue ?? "",
                arguments: $0["function"]?["arguments"]?.stringValue ?? "")
        }
        return ChatResponse(
            id: json["id"]?.stringValue, model: json["model"]?.stringValue ?? model,
            text: message["content"]?.stringValue ?? "", toolCalls: calls,
            finishReason: finishReason(choice["finish_reason"]?.stringValue) ?? .stop, usage: usage(json["usage"]))
    }

    static func deltas(_ chunk: JSONValue) -> [ChatDelta] {
        var out: [ChatDelta] = []
        for choice in chunk["choices"]?.arrayValue ?? [] {
            let delta = choice["delta"]
            if let t = delta?["content"]?.stringValue, !t.isEmpty { out.append(.text(t)) }
            for call in delta?["tool_calls"]?.arrayValue ?? [] {
                out.append(
                    .toolCall(
                        index: call["index"]?.int ?? 0, id: call["id"]?.stringValue,
                        name: call["function"]?["name"]?.stringValue,
                        arguments: call["function"]?["arguments"]?.stringValue ?? ""))
            }
            if let f = finishReason(choice["finish_reason"]?.stringValue) { out.append(.finish(f)) }
        }
        if let u = usage(chunk["usage"]) { out.append(.usage(u)) }
        return out
    }

    // MARK: - Errors

    /// `{"error": {"message", "type", "code"}}` by status and code.
    static let classify: ProviderTransport.Classifier = { status, body, text in
        let error = body?["error"]
        let message = error?["message"]?.stringValue ?? error?.stringValue ?? text
        let code = (error?["code"]?.stringValue ?? "") + " " + (error?["type"]?.stringValue ?? "")
        let kind: ProviderError.Kind
        if code.contains("context_length_exceeded") || status == 413 {
            kind = .contextTooLong
        } else if code.contains("content_filter") || code.contains("content_policy") {
            kind = .contentFilter
        } else if code.contains("insufficient_quota") {
            kind = .auth
        } else {
            kind = .forStatus(status)
        }
        return (kind, message)
    }
}

/// An OpenAIStreamDecoder turns the bytes of a Chat Completions stream into deltas as they
/// arrive: SSE framing, one JSON chunk per event, `[DONE]` at the end, an `error` object
/// mid-stream. It is a value with no I/O, so it can be tested and measured on its own.
public struct OpenAIStreamDecoder: Sendable {
    let provider: String
    var sse = SSEDecoder()
    public private(set) var isDone = false

    public init(provider: String = "openai") { self.provider = provider }

    public mutating func feed(_ bytes: [UInt8], _ emit: (ChatDelta) -> Void) throws(ProviderError) {
        let provider = self.provider
        var done = isDone
        do {
            try sse.feed(bytes) { event in
                if event.bytes.elementsEqual("[DONE]".utf8) { done = true; return }
                guard !done else { return }
                guard let json = try? JSONParser.parse(bytes: event.bytes) else {
                    throw ProviderError(
                        provider: provider, kind: .invalidResponse,
                        message: "a stream event is not valid JSON: \(event.data.prefix(200))")
                }
                if let error = json["error"] {
                    let (kind, message) = OpenAIChatProvider.classify(500, .object(["error": error]), event.data)
                    throw ProviderError(provider: provider, kind: kind, message: message)
                }
                for d in OpenAIChatProvider.deltas(json) { emit(d) }
            }
        } catch let e as ProviderError {
            isDone = done
            throw e
        } catch {
            throw ProviderError(provider: provider, kind: .invalidResponse, message: "\(error)")
        }
        isDone = done
    }
}

extension OpenAIChatProvider: HealthProbing {
    /// The model list: answers only when the server is up and the key is accepted.
    public var defaultHealthPath: String { "/models" }

    public func probe(path: String, timeout: Duration) async throws(ProviderError) {
        try await transport.probe(path: path, headers: headers, timeout: timeout)
    }
}
