import PrellmHTTP
import PrellmProviderKit
import PrellmSchema

/// Ollama's native API: `POST {host}/api/chat`. Streams are NDJSON, one JSON object per line,
/// the last with `"done": true` and the token counts; a stream without it was cut.
public struct OllamaChatProvider: ChatProvider, EmbeddingProvider {
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
        let json = try await transport.send(
            transport.request(
                path: "/api/chat", body: try Self.encode(request, stream: false),
                headers: headers, streaming: false, trace: request.traceContext))
        if let e = json["error"]?.stringValue { throw ProviderError(provider: name, kind: .server, message: transport.redact(e)) }
        var calls = 0
        return Self.deltas(json, toolCallsSoFar: &calls).collected(model: json["model"]?.stringValue ?? request.model)
    }

    public func stream(_ request: ChatRequest) -> AsyncThrowingStream<ChatDelta, any Error> {
        let body: JSONValue
        do { body = try Self.encode(request, stream: true) } catch {
            return AsyncThrowingStream { $0.finish(throwing: error) }
        }
        var prepared = transport.request(path: "/api/chat", body: body, headers: headers, streaming: true, trace: request.traceContext)
        prepared.headers = prepared.headers.map { $0.name == "Accept" ? ("Accept", "application/x-ndjson") : $0 }
        let http = prepared
        let transport = self.transport
        return transport.deltas { out in
            let body = try await transport.open(http)
            var decoder = NDJSONDecoder()
            var done = false
            var calls = 0
            func handle(_ line: [UInt8]) throws {
                guard let json = try? JSONParser.parse(bytes: line) else {
                    throw transport.invalid("a stream line is not valid JSON: \(String(decoding: line.prefix(200), as: UTF8.self))")
                }
                if let e = json["error"]?.stringValue {
                    let (kind, message) = Self.classify(500, json, e)
                    throw ProviderError(provider: transport.provider, kind: kind, message: transport.redact(message))
                }
                for d in Self.deltas(json, toolCallsSoFar: &calls) { out.yield(d) }
                if json["done"] == .bool(true) { done = true }
            }
            for try await chunk in body {
                try decoder.feed(chunk, handle)
                if done { break }
            }
            if !done { try decoder.finish(handle) }
            if !done { throw transport.cut("a line with \"done\": true") }
        }
    }

    // MARK: - Encoding

    /// The base64 payload of a `data:…;base64,` URL.
    static func base64(ofDataURL url: String) -> String? {
        guard url.hasPrefix("data:"), let comma = url.firstIndex(of: ","), url[..<comma].hasSuffix(";base64") else { return nil }
        return String(url[url.index(after: comma)...])
    }

    /// `POST /api/embed`: every input at once; `prompt_eval_count` is the tokens.
    public func embed(_ request: EmbeddingRequest) async throws(ProviderError) -> EmbeddingResponse {
        var body: [String: JSONValue] = ["model": .string(request.model), "input": .array(request.inputs.map(JSONValue.string))]
        if let d = request.dimensions { body["dimensions"] = .number(Double(d)) }
        let json = try await transport.send(transport.request(path: "/api/embed", body: .object(body), headers: headers, streaming: false))
        if let e = json["error"]?.stringValue { throw ProviderError(provider: name, kind: .server, message: transport.redact(e)) }
        guard let list = json["embeddings"]?.arrayValue, list.count == request.inputs.count else {
            throw transport.invalid("the embed response has no embedding for every input")
        }
        let vectors = list.map { $0.arrayValue?.compactMap(\.numberValue) ?? [] }
        return EmbeddingResponse(vectors: vectors, usage: json["prompt_eval_count"]?.int.map { Usage(inputTokens: $0, outputTokens: 0) })
    }

    static func encode(_ r: ChatRequest, stream: Bool) throws(ProviderError) -> JSONValue {
        var messages: [JSONValue] = []
        if let s = r.system { messages.append(.object(["role": "system", "content": .string(s)])) }
        for m in r.messages {
            var o: [String: JSONValue] = ["role": .string(m.role.rawValue), "content": .string(m.text)]
            // Ollama takes images as base64 in `images`, beside the text; it cannot fetch a URL.
            var images: [JSONValue] = []
            for part in m.content {
                switch part {
                case .text: break
                case .imageData(let b64, _): images.append(.string(b64))
                case .imageURL(let url):
                    guard let data = Self.base64(ofDataURL: url) else {
                        throw ProviderError(
                            provider: "ollama", kind: .badRequest,
                            message: "Ollama takes images as base64 data and cannot fetch '\(url.prefix(60))'; send the image itself (a data: URL)")
                    }
                    images.append(.string(data))
                }
            }
            if !images.isEmpty { o["images"] = .array(images) }
            if !m.toolCalls.isEmpty {
                o["tool_calls"] = .array(
                    m.toolCalls.map {
                        .object(["function": .object(["name": .string($0.name), "arguments": (try? JSONParser.parse($0.arguments)) ?? .object([:])])])
                    })
            }
            messages.append(.object(o))
        }
        var body: [String: JSONValue] = ["model": .string(r.model), "messages": .array(messages), "stream": .bool(stream)]
        var options: [String: JSONValue] = [:]
        if let t = r.temperature { options["temperature"] = .number(t) }
        if let n = r.maxTokens { options["num_predict"] = .number(Double(n)) }
        if let p = r.topP { options["top_p"] = .number(p) }
        if !r.stop.isEmpty { options["stop"] = .array(r.stop.map(JSONValue.string)) }
        if !options.isEmpty { body["options"] = .object(options) }
        switch r.responseFormat {
        case .text: break
        case .json: body["format"] = "json"
        case .jsonSchema(_, let schema): body["format"] = schema
        }
        if !r.tools.isEmpty {
            body["tools"] = .array(
                r.tools.map { t in
                    var f: [String: JSONValue] = ["name": .string(t.name), "parameters": t.parameters]
                    if let d = t.description { f["description"] = .string(d) }
                    return .object(["type": "function", "function": .object(f)])
                })
        }
        return .object(body)
    }

    // MARK: - Decoding

    /// The deltas in one response object (a whole answer, or one line of a stream). Ollama sends
    /// each tool call whole, in whichever line it is ready, so calls are numbered across the
    /// stream (`toolCallsSoFar`), and a stream that made calls finished for them even though its
    /// last line says `stop`.
    static func deltas(_ json: JSONValue, toolCallsSoFar calls: inout Int) -> [ChatDelta] {
        var out: [ChatDelta] = []
        let message = json["message"]
        if let t = message?["content"]?.stringValue, !t.isEmpty { out.append(.text(t)) }
        for call in message?["tool_calls"]?.arrayValue ?? [] {
            let f = call["function"]
            // Ollama's calls carry no id (recent versions may); ids must still be unique per answer.
            out.append(
                .toolCall(
                    index: calls, id: call["id"]?.stringValue ?? "call_\(calls)", name: f?["name"]?.stringValue,
                    arguments: f?["arguments"]?.jsonText ?? "{}"))
            calls += 1
        }
        if json["done"] == .bool(true) {
            let reason: FinishReason =
                switch json["done_reason"]?.stringValue {
                case "length"?: .length
                case nil, "stop"?: calls == 0 ? .stop : .toolCalls
                case let other?: .other(other)
                }
            out.append(.finish(reason))
            if let input = json["prompt_eval_count"]?.int {
                out.append(.usage(Usage(inputTokens: input, outputTokens: json["eval_count"]?.int ?? 0)))
            }
        }
        return out
    }

    // MARK: - Errors

    /// `{"error": "…"}`; a missing model is a 404.
    static let classify: ProviderTransport.Classifier = { status, body, text in
        let message = body?["error"]?.stringValue ?? text
        let kind: ProviderError.Kind
        if message.contains("context length") || message.contains("too long") { kind = .contextTooLong } else { kind = .forStatus(status) }
        return (kind, message.contains("not found") && status == 404 ? message + " (pull it with: ollama pull <model>)" : message)
    }
}

extension OllamaChatProvider: HealthProbing {
    /// The local models: answers only when the server is up and the key is accepted.
    public var defaultHealthPath: String { "/api/tags" }

    public func probe(path: String, timeout: Duration) async throws(ProviderError) {
        try await transport.probe(path: path, headers: headers, timeout: timeout)
    }
}
