import PrellmHTTP
import PrellmProviderKit
import PrellmSchema

/// Anthropic Messages: `POST {base}/v1/messages` with `x-api-key` and `anthropic-version`.
/// Streams are typed SSE events: `message_start`, `content_block_start/delta/stop`,
/// `message_delta` (stop reason, output tokens), `message_stop`, `ping`, `error`.
///
/// The Messages API has no JSON mode; a JSON or schema response format is encoded as one
/// forced tool whose input schema is the contract, and the tool's input comes back as the text.
public struct AnthropicMessagesProvider: ChatProvider, TokenCounting {
    public static let apiVersion = "2023-06-01"
    /// Messages requires `max_tokens`; this is used when the request gives none.
    public static let defaultMaxTokens = 4096
    static let jsonTool = "respond_with_json"

    public let name: String
    let transport: ProviderTransport

    public init(configuration: ProviderConfiguration, client: HTTPClient = .shared) {
        name = configuration.name
        transport = ProviderTransport(configuration: configuration, client: client, classify: Self.classify)
    }

    var headers: [(name: String, value: String)] {
        [("anthropic-version", Self.apiVersion)] + (transport.configuration.apiKey.map { [("x-api-key", $0)] } ?? [])
    }

    public func complete(_ request: ChatRequest) async throws(ProviderError) -> ChatResponse {
        let json = try await transport.send(
            transport.request(
                path: "/v1/messages", body: Self.encode(request, stream: false),
                headers: headers, streaming: false, trace: request.traceContext))
        return try Self.decode(json, request: request, transport: transport)
    }

    /// `POST /v1/messages/count_tokens`: the request without what only generation takes
    /// (`max_tokens`, `stream`, sampling), which the endpoint refuses.
    public func countTokens(_ request: ChatRequest) async throws(ProviderError) -> Int {
        guard case .object(var body) = Self.encode(request, stream: false) else { return 0 }
        for key in ["max_tokens", "stream", "temperature", "top_p", "stop_sequences"] { body[key] = nil }
        let json = try await transport.send(
            transport.request(path: "/v1/messages/count_tokens", body: .object(body), headers: headers, streaming: false))
        guard let n = json["input_tokens"]?.int else { throw transport.invalid("count_tokens answered without input_tokens") }
        return n
    }

    public func stream(_ request: ChatRequest) -> AsyncThrowingStream<ChatDelta, any Error> {
        let http = transport.request(
            path: "/v1/messages", body: Self.encode(request, stream: true), headers: headers, streaming: true, trace: request.traceContext)
        let transport = self.transport
        let forcedJSON = request.responseFormat != .text
        return transport.deltas { out in
            let body = try await transport.open(http)
            var decoder = SSEDecoder()
            var stopped = false
            var input = 0, cached: Int?, output = 0
            var toolIndex: [Int: Int] = [:]  // content block index → tool call index
            for try await chunk in body {
                try decoder.feed(chunk) { event in
                    guard let json = try? JSONParser.parse(event.data) else {
                        throw transport.invalid("a stream event is not valid JSON: \(event.data.prefix(200))")
                    }
                    switch event.event ?? json["type"]?.stringValue {
                    case "message_start":
                        let u = json["message"]?["usage"]
                        input = u?["input_tokens"]?.int ?? 0
                        cached = u?["cache_read_input_tokens"]?.int
                        output = u?["output_tokens"]?.int ?? 0
                    case "content_block_start":
                        let block = json["content_block"]
                        if block?["type"]?.stringValue == "tool_use", !forcedJSON {
                            let i = toolIndex.count
                            toolIndex[json["index"]?.int ?? 0] = i
                            out.yield(.toolCall(index: i, id: block?["id"]?.stringValue, name: block?["name"]?.stringValue, arguments: ""))
                        } else if let t = block?["text"]?.stringValue, !t.isEmpty {
                            out.yield(.text(t))
                        }
                    case "content_block_delta":
                        let delta = json["delta"]
                        switch delta?["type"]?.stringValue {
                        case "text_delta": if let t = delta?["text"]?.stringValue { out.yield(.text(t)) }
                        case "input_json_delta":
                            let part = delta?["partial_json"]?.stringValue ?? ""
                            if forcedJSON {
                                if !part.isEmpty { out.yield(.text(part)) }
                            } else if let i = toolIndex[json["index"]?.int ?? 0] {
                                out.yield(.toolCall(index: i, id: nil, name: nil, arguments: part))
                            }
                        default: break  // thinking and signature deltas are not part of the answer
                        }
                    case "message_delta":
                        if let u = json["usage"] {
                            if let o = u["output_tokens"]?.int { output = o }
                            // Newer API versions repeat the final input count here.
                            if let i = u["input_tokens"]?.int, i > 0 { input = i }
                        }
                        if let r = Self.stopReason(json["delta"]?["stop_reason"]?.stringValue, forcedJSON: forcedJSON) { out.yield(.finish(r)) }
                    case "message_stop":
                        stopped = true
                        out.yield(.usage(Usage(inputTokens: input, outputTokens: output, cachedInputTokens: cached)))
                    case "error":
                        let (kind, message) = Self.classify(500, json, event.data)
                        throw ProviderError(provider: transport.provider, kind: kind, message: transport.redact(message))
                    default:
                        break  // ping, content_block_stop, and event types added later
                    }
                }
                if stopped { break }
            }
            if !stopped { throw transport.cut("message_stop") }
        }
    }

    // MARK: - Encoding

    static func encode(_ r: ChatRequest, stream: Bool) -> JSONValue {
        var body: [String: JSONValue] = [
            "model": .string(r.model), "max_tokens": .number(Double(r.maxTokens ?? defaultMaxTokens)),
            // The Messages API refuses empty text blocks; a turn left with no content is dropped
            // (consecutive turns of one role are joined by the API).
            "messages": .array(r.messages.compactMap(encode)),
        ]
        if let s = r.system, !s.isEmpty { body["system"] = .string(s) }
        if let t = r.temperature { body["temperature"] = .number(min(t, 1)) }  // Anthropic's range is 0–1
        if let p = r.topP { body["top_p"] = .number(p) }
        if !r.stop.isEmpty { body["stop_sequences"] = .array(r.stop.map(JSONValue.string)) }
        var tools = r.tools.map { t -> JSONValue in
            var o: [String: JSONValue] = ["name": .string(t.name), "input_schema": t.parameters]
            if let d = t.description { o["description"] = .string(d) }
            return .object(o)
        }
        switch r.responseFormat {
        case .text:
            switch r.toolChoice {
            case nil: break
            case .auto?: body["tool_choice"] = .object(["type": "auto"])
            case .none?: body["tool_choice"] = .object(["type": "none"])
            case .required?: body["tool_choice"] = .object(["type": "any"])
            case .tool(let n)?: body["tool_choice"] = .object(["type": "tool", "name": .string(n)])
            }
        case .json, .jsonSchema:
            var schema: JSONValue = .object(["type": "object"])
            if case .jsonSchema(_, let s) = r.responseFormat { schema = s }
            tools = [.object(["name": .string(jsonTool), "description": "Give the answer as this tool's input.", "input_schema": schema])]
            body["tool_choice"] = .object(["type": "tool", "name": .string(jsonTool)])
        }
        if !tools.isEmpty { body["tools"] = .array(tools) }
        // Anthropic's spelling of parallel_tool_calls: false, inside tool_choice.
        if r.parallelToolCalls == false, !r.tools.isEmpty, case .text = r.responseFormat {
            var choice = body["tool_choice"]?.objectValue ?? ["type": "auto"]
            if choice["type"] != "none" { choice["disable_parallel_tool_use"] = true }
            body["tool_choice"] = .object(choice)
        }
        if stream { body["stream"] = true }
        return .object(body)
    }

    static func encode(_ m: ChatMessage) -> JSONValue? {
        var blocks: [JSONValue] = []
        if m.role == .tool {
            return .object([
                "role": "user",
                "content": .array([
                    .object([
                        "type": "tool_result", "tool_use_id": .string(m.toolCallID ?? ""), "content": .string(m.text),
                    ])
                ]),
            ])
        }
        for part in m.content {
            switch part {
            case .text(let t): if !t.isEmpty { blocks.append(.object(["type": "text", "text": .string(t)])) }
            case .imageURL(let u): blocks.append(.object(["type": "image", "source": .object(["type": "url", "url": .string(u)])]))
            case .imageData(let b64, let type):
                blocks.append(.object(["type": "image", "source": .object(["type": "base64", "media_type": .string(type), "data": .string(b64)])]))
            }
        }
        for call in m.toolCalls {
            let input = (try? JSONParser.parse(call.arguments)) ?? .object([:])
            blocks.append(.object(["type": "tool_use", "id": .string(call.id), "name": .string(call.name), "input": input]))
        }
        guard !blocks.isEmpty else { return nil }
        return .object(["role": .string(m.role == .assistant ? "assistant" : "user"), "content": .array(blocks)])
    }

    // MARK: - Decoding

    static func stopReason(_ s: String?, forcedJSON: Bool) -> FinishReason? {
        switch s {
        case nil: nil
        case "end_turn"?, "stop_sequence"?: .stop
        case "max_tokens"?: .length
        case "tool_use"?: forcedJSON ? .stop : .toolCalls
        case "refusal"?: .contentFilter
        case let other?: .other(other)
        }
    }

    static func decode(_ json: JSONValue, request: ChatRequest, transport: ProviderTransport) throws(ProviderError) -> ChatResponse {
        guard let content = json["content"]?.arrayValue else {
            throw transport.invalid("the response has no content: \(json.jsonText.prefix(200))")
        }
        let forcedJSON = request.responseFormat != .text
        var text = ""
        var calls: [ToolCall] = []
        for block in content {
            switch block["type"]?.stringValue {
            case "text": text += block["text"]?.stringValue ?? ""
            case "tool_use":
                let input = block["input"]?.jsonText ?? "{}"
                if forcedJSON, block["name"]?.stringValue == jsonTool {
                    text = input
                } else {
                    calls.append(ToolCall(id: block["id"]?.stringValue ?? "", name: block["name"]?.stringValue ?? "", arguments: input))
                }
            default: break
            }
        }
        let u = json["usage"]
        let usage = u.map {
            Usage(
                inputTokens: $0["input_tokens"]?.int ?? 0, outputTokens: $0["output_tokens"]?.int ?? 0,
                cachedInputTokens: $0["cache_read_input_tokens"]?.int)
        }
        return ChatResponse(
            id: json["id"]?.stringValue, model: json["model"]?.stringValue ?? request.model, text: text,
            toolCalls: calls, finishReason: stopReason(json["stop_reason"]?.stringValue, forcedJSON: forcedJSON) ?? .stop,
            usage: usage)
    }

    // MARK: - Errors

    /// `{"type": "error", "error": {"type", "message"}}`; 529 is "overloaded".
    static let classify: ProviderTransport.Classifier = { status, body, text in
        let error = body?["error"]
        let message = error?["message"]?.stringValue ?? text
        let kind: ProviderError.Kind
        switch error?["type"]?.stringValue {
        case "authentication_error"?, "permission_error"?: kind = .auth
        case "not_found_error"?: kind = .notFound
        case "rate_limit_error"?: kind = .rateLimit
        case "overloaded_error"?, "api_error"?: kind = .server
        case "request_too_large"?: kind = .contextTooLong
        case "invalid_request_error"?:
            kind = message.contains("prompt is too long") || message.contains("too many tokens") ? .contextTooLong : .badRequest
        default: kind = .forStatus(status)
        }
        return (kind, message)
    }
}

extension AnthropicMessagesProvider: HealthProbing {
    /// The model list: answers only when the server is up and the key is accepted.
    public var defaultHealthPath: String { "/v1/models" }

    public func probe(path: String, timeout: Duration) async throws(ProviderError) {
        try await transport.probe(path: path, headers: headers, timeout: timeout)
    }
}
