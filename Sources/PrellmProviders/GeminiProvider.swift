import PrellmHTTP
import PrellmProviderKit
import PrellmSchema

/// Gemini: `POST {base}/v1beta/models/{model}:generateContent`, and
/// `:streamGenerateContent?alt=sse` for streams (SSE `data:` events, each a whole
/// GenerateContentResponse; no end marker, so a stream whose candidates never report a
/// `finishReason` was cut). The key goes in the `x-goog-api-key` header, never in the URL,
/// so it cannot leak into logs that record URLs.
public struct GeminiProvider: ChatProvider, TokenCounting, EmbeddingProvider {
    public let name: String
    let transport: ProviderTransport

    public init(configuration: ProviderConfiguration, client: HTTPClient = .shared) {
        name = configuration.name
        transport = ProviderTransport(configuration: configuration, client: client, classify: Self.classify)
    }

    var headers: [(name: String, value: String)] {
        transport.configuration.apiKey.map { [("x-goog-api-key", $0)] } ?? []
    }

    static func path(_ model: String, stream: Bool) -> String {
        let m = model.hasPrefix("models/") ? String(model.dropFirst(7)) : model
        return "/v1beta/models/\(m):" + (stream ? "streamGenerateContent?alt=sse" : "generateContent")
    }

    public func complete(_ request: ChatRequest) async throws(ProviderError) -> ChatResponse {
        let json = try await transport.send(
            transport.request(
                path: Self.path(request.model, stream: false), body: Self.encode(request),
                headers: headers, streaming: false, trace: request.traceContext))
        if let blocked = json["promptFeedback"]?["blockReason"]?.stringValue, json["candidates"] == nil {
            throw ProviderError(provider: name, kind: .contentFilter, message: "the prompt was blocked (\(blocked))")
        }
        var calls = 0
        var deltas = Self.deltas(json, callIndex: &calls)
        if !deltas.contains(where: { if case .finish = $0 { true } else { false } }) { deltas.append(.finish(.stop)) }
        var response = deltas.collected(model: json["modelVersion"]?.stringValue ?? request.model)
        response.id = json["responseId"]?.stringValue
        return response
    }

    /// `POST /v1beta/models/{model}:countTokens`, with the whole request (system instruction
    /// and tools count) as `generateContentRequest`.
    public func countTokens(_ request: ChatRequest) async throws(ProviderError) -> Int {
        let m = request.model.hasPrefix("models/") ? String(request.model.dropFirst(7)) : request.model
        guard case .object(var inner) = Self.encode(request) else { return 0 }
        inner["model"] = .string("models/" + m)
        inner["generationConfig"] = nil
        let json = try await transport.send(
            transport.request(
                path: "/v1beta/models/\(m):countTokens", body: .object(["generateContentRequest": .object(inner)]), headers: headers,
                streaming: false))
        guard let n = json["totalTokens"]?.int else { throw transport.invalid("countTokens answered without totalTokens") }
        return n
    }

    /// `POST /v1beta/models/{model}:batchEmbedContents`, one request per input; Gemini reports
    /// no usage, so the caller estimates it.
    public func embed(_ request: EmbeddingRequest) async throws(ProviderError) -> EmbeddingResponse {
        let m = request.model.hasPrefix("models/") ? String(request.model.dropFirst(7)) : request.model
        let requests = request.inputs.map { text -> JSONValue in
            var o: [String: JSONValue] = ["model": .string("models/" + m), "content": .object(["parts": .array([.object(["text": .string(text)])])])]
            if let d = request.dimensions { o["outputDimensionality"] = .number(Double(d)) }
            return .object(o)
        }
        let json = try await transport.send(
            transport.request(
                path: "/v1beta/models/\(m):batchEmbedContents", body: .object(["requests": .array(requests)]), headers: headers, streaming: false))
        guard let list = json["embeddings"]?.arrayValue, list.count == request.inputs.count else {
            throw transport.invalid("batchEmbedContents answered without an embedding for every input")
        }
        return EmbeddingResponse(vectors: list.map { $0["values"]?.arrayValue?.compactMap(\.numberValue) ?? [] }, usage: nil)
    }

    public func stream(_ request: ChatRequest) -> AsyncThrowingStream<ChatDelta, any Error> {
        let http = transport.request(
            path: Self.path(request.model, stream: true), body: Self.encode(request), headers: headers, streaming: true,
            trace: request.traceContext)
        let transport = self.transport
        return transport.deltas { out in
            let body = try await transport.open(http)
            var decoder = SSEDecoder()
            var finished = false
            var usage: Usage?
            var calls = 0
            for try await chunk in body {
                try decoder.feed(chunk) { event in
                    guard let json = try? JSONParser.parse(event.data) else {
                        throw transport.invalid("a stream event is not valid JSON: \(event.data.prefix(200))")
                    }
                    if let error = json["error"] {
                        let (kind, message) = Self.classify(error["code"]?.int ?? 500, json, event.data)
                        throw ProviderError(provider: transport.provider, kind: kind, message: transport.redact(message))
                    }
                    if let blocked = json["promptFeedback"]?["blockReason"]?.stringValue, json["candidates"] == nil {
                        throw ProviderError(provider: transport.provider, kind: .contentFilter, message: "the prompt was blocked (\(blocked))")
                    }
                    for d in Self.deltas(json, callIndex: &calls) {
                        switch d {
                        case .usage(let u): usage = u  // each chunk repeats the running total; report the last
                        case .finish: finished = true; out.yield(d)
                        default: out.yield(d)
                        }
                    }
                }
            }
            guard finished else { throw transport.cut("a candidate reported its finishReason") }
            if let usage { out.yield(.usage(usage)) }
        }
    }

    // MARK: - Encoding

    static func encode(_ r: ChatRequest) -> JSONValue {
        var body: [String: JSONValue] = ["contents": .array(r.messages.map(encode))]
        if let s = r.system { body["systemInstruction"] = .object(["parts": .array([.object(["text": .string(s)])])]) }
        var config: [String: JSONValue] = [:]
        if let t = r.temperature { config["temperature"] = .number(t) }
        if let n = r.maxTokens { config["maxOutputTokens"] = .number(Double(n)) }
        if let p = r.topP { config["topP"] = .number(p) }
        if !r.stop.isEmpty { config["stopSequences"] = .array(r.stop.map(JSONValue.string)) }
        switch r.responseFormat {
        case .text: break
        case .json: config["responseMimeType"] = "application/json"
        case .jsonSchema(_, let schema):
            config["responseMimeType"] = "application/json"
            config["responseJsonSchema"] = schema
        }
        if !config.isEmpty { body["generationConfig"] = .object(config) }
        if !r.tools.isEmpty {
            body["tools"] = .array([
                .object([
                    "functionDeclarations": .array(
                        r.tools.map { t in
                            var o: [String: JSONValue] = ["name": .string(t.name), "parametersJsonSchema": t.parameters]
                            if let d = t.description { o["description"] = .string(d) }
                            return .object(o)
                        })
                ])
            ])
        }
        if let choice = r.toolChoice {
            let config: JSONValue =
                switch choice {
                case .auto: .object(["mode": "AUTO"])
                case .none: .object(["mode": "NONE"])
                case .required: .object(["mode": "ANY"])
                case .tool(let n): .object(["mode": "ANY", "allowedFunctionNames": .array([.string(n)])])
                }
            body["toolConfig"] = .object(["functionCallingConfig": config])
        }
        return .object(body)
    }

    static func encode(_ m: ChatMessage) -> JSONValue {
        var parts: [JSONValue] = []
        if m.role == .tool {
            let response = (try? JSONParser.parse(m.text)).flatMap { $0.objectValue != nil ? $0 : nil } ?? .object(["result": .string(m.text)])
            parts.append(.object(["functionResponse": .object(["name": .string(m.toolCallID ?? ""), "response": response])]))
            return .object(["role": "user", "parts": .array(parts)])
        }
        for part in m.content {
            switch part {
            case .text(let t): parts.append(.object(["text": .string(t)]))
            case .imageURL(let u): parts.append(.object(["fileData": .object(["mimeType": "image/*", "fileUri": .string(u)])]))
            case .imageData(let b64, let type): parts.append(.object(["inlineData": .object(["mimeType": .string(type), "data": .string(b64)])]))
            }
        }
        for call in m.toolCalls {
            parts.append(
                .object(["functionCall": .object(["name": .string(call.name), "args": (try? JSONParser.parse(call.arguments)) ?? .object([:])])]))
        }
        return .object(["role": .string(m.role == .assistant ? "model" : "user"), "parts": .array(parts)])
    }

    // MARK: - Decoding

    static func finishReason(_ s: String?) -> FinishReason? {
        switch s {
        case nil, "FINISH_REASON_UNSPECIFIED"?: nil
        case "STOP"?: .stop
        case "MAX_TOKENS"?: .length
        case "SAFETY"?, "RECITATION"?, "BLOCKLIST"?, "PROHIBITED_CONTENT"?, "SPII"?, "IMAGE_SAFETY"?: .contentFilter
        case let other?: .other(other)
        }
    }

    /// The deltas in one response object (a whole answer, or one event of a stream). Each
    /// functionCall part is a whole call; calls are numbered across the stream's events
    /// (`callIndex`), and an answer that made calls finished for them.
    static func deltas(_ json: JSONValue, callIndex: inout Int) -> [ChatDelta] {
        var out: [ChatDelta] = []
        if let candidate = json["candidates"]?[0] {
            for part in candidate["content"]?["parts"]?.arrayValue ?? [] {
                if part["thought"] == .bool(true) { continue }  // thought summaries are not the answer
                if let t = part["text"]?.stringValue, !t.isEmpty { out.append(.text(t)) }
                if let call = part["functionCall"] {
                    out.append(
                        .toolCall(
                            index: callIndex, id: call["id"]?.stringValue ?? call["name"]?.stringValue,
                            name: call["name"]?.stringValue, arguments: call["args"]?.jsonText ?? "{}"))
                    callIndex += 1
                }
            }
            if var f = finishReason(candidate["finishReason"]?.stringValue) {
                if f == .stop, callIndex > 0 { f = .toolCalls }
                out.append(.finish(f))
            }
        }
        if let u = json["usageMetadata"], let input = u["promptTokenCount"]?.int {
            out.append(
                .usage(
                    Usage(
                        inputTokens: input, outputTokens: (u["candidatesTokenCount"]?.int ?? 0) + (u["thoughtsTokenCount"]?.int ?? 0),
                        cachedInputTokens: u["cachedContentTokenCount"]?.int)))
        }
        return out
    }

    // MARK: - Errors

    /// `{"error": {"code", "message", "status", "details"}}` by status string; an invalid key is
    /// a 400 INVALID_ARGUMENT whose details say API_KEY_INVALID.
    static let classify: ProviderTransport.Classifier = { status, body, text in
        let error = body?["error"]
        let message = error?["message"]?.stringValue ?? text
        let reasons = (error?["details"]?.arrayValue ?? []).compactMap { $0["reason"]?.stringValue }
        let kind: ProviderError.Kind
        if reasons.contains("API_KEY_INVALID") || message.contains("API key not valid") {
            kind = .auth
        } else {
            switch error?["status"]?.stringValue {
            case "UNAUTHENTICATED"?, "PERMISSION_DENIED"?: kind = .auth
            case "RESOURCE_EXHAUSTED"?: kind = .rateLimit
            case "NOT_FOUND"?: kind = .notFound
            case "DEADLINE_EXCEEDED"?: kind = .timeout
            case "INTERNAL"?, "UNAVAILABLE"?: kind = .server
            case "INVALID_ARGUMENT"?, "FAILED_PRECONDITION"?:
                kind = message.contains("exceeds the maximum number of tokens") || message.contains("token count") ? .contextTooLong : .badRequest
            default: kind = .forStatus(status)
            }
        }
        return (kind, message)
    }
}

extension GeminiProvider: HealthProbing {
    /// The model list: answers only when the server is up and the key is accepted.
    public var defaultHealthPath: String { "/v1beta/models" }

    public func probe(path: String, timeout: Duration) async throws(ProviderError) {
        try await transport.probe(path: path, headers: headers, timeout: timeout)
    }
}
