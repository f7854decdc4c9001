import Foundation
import PrellmSchema

/// What the real APIs refuse, so that the stand-ins refuse it too (a stand-in that accepts
/// anything hides requests that fail in production). Each rule is from the provider's API
/// reference; the error bodies have the provider's shape.
///
/// - OpenAI chat completions: `response_format.json_schema` with `strict: true` must be an
///   object schema whose every object sets `additionalProperties: false` and lists every
///   property in `required`, without the keywords strict mode does not support; reasoning
///   models (o-series, gpt-5) refuse `max_tokens` and a temperature other than 1; a `tool`
///   message must answer a call of the assistant message before it, and every call must be
///   answered before the next turn.
/// - Anthropic messages: text content blocks must be non-empty; each `tool_use` block needs a
///   `tool_result` in the next message, and each `tool_result` a `tool_use` in the previous one.
/// - Ollama chat: `content` is a string (images go in `images`, as base64).
public enum WireRules {
    /// The status and body the real API would answer with, or nil when it would accept.
    public static func refusal(for request: RecordedRequest) -> (status: Int, body: String)? {
        guard request.method == "POST", let body = try? JSONParser.parse(request.bodyText) else { return nil }
        if request.path.hasSuffix("/embeddings") || request.path.hasSuffix("/api/embed") {
            let ok: Bool
            switch body["input"] {
            case .string(let s)?: ok = !s.isEmpty
            case .array(let items)?: ok = !items.isEmpty && items.allSatisfy { ($0.stringValue?.isEmpty == false) }
            default: ok = false
            }
            if !ok { return (400, openAIError("'input' : input must be a non-empty string or array of non-empty strings")) }
            if let f = body["encoding_format"]?.stringValue, f != "float", f != "base64" {
                return (400, openAIError("Invalid value for 'encoding_format': '\(f)'"))
            }
            return nil
        }
        if request.path.hasSuffix(":batchEmbedContents") {
            let requests = body["requests"]?.arrayValue ?? []
            let m = request.path.split(separator: "/").last.map { String($0.split(separator: ":")[0]) } ?? ""
            if requests.isEmpty || requests.contains(where: { $0["model"]?.stringValue != "models/" + m || $0["content"]?["parts"] == nil }) {
                return (
                    400,
                    #"{"error":{"code":400,"message":"* BatchEmbedContentsRequest.requests: each request needs content and the batch's model","status":"INVALID_ARGUMENT"}}"#
                )
            }
            return nil
        }
        if request.path.hasSuffix("/chat/completions") { return openAI(body).map { (400, openAIError($0)) } }
        if request.path.hasSuffix("/v1/messages") { return anthropic(body).map { (400, anthropicError($0)) } }
        if request.path.hasSuffix("/v1/messages/count_tokens") {
            // count_tokens takes the prompt only: generation parameters are extra inputs.
            if let extra = ["max_tokens", "stream", "temperature", "top_p", "stop_sequences"].first(where: { body[$0] != nil }) {
                return (400, anthropicError("\(extra): Extra inputs are not permitted"))
            }
            return anthropic(body).map { (400, anthropicError($0)) }
        }
        if request.path.hasSuffix(":countTokens"),
            body["generateContentRequest"]?["generationConfig"] != nil || body["contents"] != nil && body["generateContentRequest"] != nil
        {
            return (400, #"{"error":{"code":400,"message":"Invalid countTokens request","status":"INVALID_ARGUMENT"}}"#)
        }
        if request.path.hasSuffix("/api/chat") { return ollama(body).map { (400, #"{"error":\#(JSONValue.string($0).jsonText)}"#) } }
        return nil
    }

    static func openAIError(_ message: String) -> String {
        JSONValue.object([
            "error": .object([
                "message": .string(message), "type": "invalid_request_error", "param": .null, "code": .null,
            ])
        ]).jsonText
    }

    static func anthropicError(_ message: String) -> String {
        JSONValue.object(["type": "error", "error": .object(["type": "invalid_request_error", "message": .string(message)])]).jsonText
    }

    // MARK: - OpenAI

    static let reasoningPrefixes = ["o1", "o3", "o4", "gpt-5"]

    static func openAI(_ body: JSONValue) -> String? {
        if let fields = body.objectValue, let known = openAIChatFields, let unknown = fields.keys.filter({ !known.contains($0) }).min() {
            return "Unrecognized request argument supplied: \(unknown)"
        }
        if let problem = openAIToolPairing(body["messages"]?.arrayValue ?? []) { return problem }
        let model = body["model"]?.stringValue ?? ""
        if reasoningPrefixes.contains(where: model.hasPrefix), !model.contains("chat") {
            if body["max_tokens"] != nil {
                return "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead."
            }
            if let t = body["temperature"]?.numberValue, t != 1 {
                return
                    "Unsupported value: 'temperature' does not support \(JSONValue.number(t).jsonText) with this model. Only the default (1) value is supported."
            }
        }
        guard let format = body["response_format"], format["type"] == "json_schema", let spec = format["json_schema"],
            spec["strict"] == .bool(true)
        else { return nil }
        let name = spec["name"]?.stringValue ?? ""
        guard let schema = spec["schema"] else { return "Missing required parameter: 'response_format.json_schema.schema'." }
        if let problem = strictProblem(schema, root: true, context: []) {
            return "Invalid schema for response_format '\(name)': \(problem)"
        }
        return nil
    }

    /// The fields of CreateChatCompletionRequest in OpenAI's OpenAPI spec (`../shared/suites`),
    /// with those of the schemas it is made of (`allOf`); nil where the spec is not beside the
    /// repository.
    public static let openAIChatFields: Set<String>? = {
        let spec = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("shared/suites/openai-openapi/responses-chat-embeddings-subset.json")
        guard let text = try? String(contentsOf: spec, encoding: .utf8), let json = try? JSONParser.parse(text),
            let schemas = json["components"]?["schemas"]
        else { return nil }
        var fields: Set<String> = []
        func collect(_ s: JSONValue?) {
            guard let s else { return }
            if let ref = s["$ref"]?.stringValue { return collect(schemas[String(ref.split(separator: "/").last ?? "")]) }
            for part in s["allOf"]?.arrayValue ?? [] { collect(part) }
            fields.formUnion(s["properties"]?.objectValue?.keys ?? [:].keys)
        }
        collect(schemas["CreateChatCompletionRequest"])
        return fields.isEmpty ? nil : fields
    }()

    /// Tool messages answer the calls of the assistant message before them, all of them, and
    /// nothing else (OpenAI's messages, typo included).
    static func openAIToolPairing(_ messages: [JSONValue]) -> String? {
        var open: [String] = []
        var answering = false
        for m in messages {
            let role = m["role"]?.stringValue
            if role == "tool" {
                guard answering, let id = m["tool_call_id"]?.stringValue, let k = open.firstIndex(of: id) else {
                    return "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'."
                }
                open.remove(at: k)
                continue
            }
            if !open.isEmpty {
                return
                    "An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: \(open.joined(separator: ", "))"
            }
            open = role == "assistant" ? (m["tool_calls"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue } : []
            answering = !open.isEmpty
        }
        return nil
    }

    /// Keywords OpenAI's strict mode does not support.
    static let unsupported = [
        "allOf", "not", "if", "then", "else", "oneOf", "dependentRequired", "dependentSchemas", "patternProperties",
        "unevaluatedProperties", "propertyNames", "minProperties", "maxProperties", "unevaluatedItems", "contains",
        "minContains", "maxContains", "uniqueItems", "minLength", "maxLength",
    ]

    static func strictProblem(_ s: JSONValue, root: Bool, context: [String]) -> String? {
        guard case .object(let o) = s else { return nil }
        let where_ = "In context=(\(context.map { "'\($0)'" }.joined(separator: ", ")))"
        if root, o["type"]?.stringValue != "object" {
            return "schema must be a JSON Schema of 'type: \"object\"', got 'type: \"\(o["type"]?.stringValue ?? "None")\"'."
        }
        if let bad = unsupported.first(where: { o[$0] != nil }) { return "\(where_), '\(bad)' is not permitted." }
        let isObject = o["type"]?.stringValue == "object" || o["type"]?.arrayValue?.contains("object") == true || o["properties"] != nil
        if isObject {
            if o["additionalProperties"] != .bool(false) {
                return "\(where_), 'additionalProperties' is required to be supplied and to be false."
            }
            let properties = o["properties"]?.objectValue ?? [:]
            let required = Set(o["required"]?.arrayValue?.compactMap(\.stringValue) ?? [])
            if let missing = properties.keys.sorted().first(where: { !required.contains($0) }) {
                return "\(where_), 'required' is required to be supplied and to be an array including every key in properties. Missing '\(missing)'."
            }
            for (name, p) in properties.sorted(by: { $0.key < $1.key }) {
                if let problem = strictProblem(p, root: false, context: context + ["properties", name]) { return problem }
            }
        }
        if let items = o["items"], let problem = strictProblem(items, root: false, context: context + ["items"]) { return problem }
        for (i, branch) in (o["anyOf"]?.arrayValue ?? []).enumerated() {
            if let problem = strictProblem(branch, root: false, context: context + ["anyOf", "\(i)"]) { return problem }
        }
        for key in ["$defs", "definitions"] {
            for (name, d) in (o[key]?.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) {
                if let problem = strictProblem(d, root: false, context: context + [key, name]) { return problem }
            }
        }
        return nil
    }

    // MARK: - Anthropic

    static func anthropic(_ body: JSONValue) -> String? {
        if let problem = anthropicToolPairing(body["messages"]?.arrayValue ?? []) { return problem }
        if case .array(let blocks) = body["system"], blocks.contains(where: isEmptyText) {
            return "system: text content blocks must be non-empty"
        }
        let messages = body["messages"]?.arrayValue ?? []
        for (i, message) in messages.enumerated() {
            let prefill = i == messages.count - 1 && message["role"] == "assistant"
            switch message["content"] {
            case .string(let s)? where s.isEmpty && !prefill:
                return "messages.\(i): all messages must have non-empty content except for the optional final assistant message"
            case .array(let blocks)?:
                if let j = blocks.firstIndex(where: isEmptyText) { return "messages.\(i).content.\(j).text: text content blocks must be non-empty" }
            default: break
            }
        }
        return nil
    }

    /// Each `tool_use` is answered by a `tool_result` in the very next (user) message, and
    /// each `tool_result` answers a `tool_use` of the message before it.
    static func anthropicToolPairing(_ messages: [JSONValue]) -> String? {
        func blocks(_ m: JSONValue, _ type: String, _ field: String) -> [String] {
            (m["content"]?.arrayValue ?? []).filter { $0["type"]?.stringValue == type }.compactMap { $0[field]?.stringValue }
        }
        for (i, m) in messages.enumerated() {
            let results = blocks(m, "tool_result", "tool_use_id")
            let uses = i > 0 ? blocks(messages[i - 1], "tool_use", "id") : []
            if let k = results.firstIndex(where: { !uses.contains($0) }) {
                return
                    "messages.\(i).content.\(k): unexpected `tool_use_id` found in `tool_result` blocks: \(results[k]). Each `tool_result` block must have a corresponding `tool_use` block in the previous message."
            }
            let calls = blocks(m, "tool_use", "id")
            let answered = i + 1 < messages.count ? blocks(messages[i + 1], "tool_result", "tool_use_id") : calls
            let missing = calls.filter { !answered.contains($0) }
            if !missing.isEmpty {
                return
                    "messages.\(i): `tool_use` ids were found without `tool_result` blocks immediately after: \(missing.joined(separator: ", ")). Each `tool_use` block must have a corresponding `tool_result` block in the next message."
            }
        }
        return nil
    }

    static func isEmptyText(_ block: JSONValue) -> Bool {
        block["type"] == "text" && (block["text"]?.stringValue ?? "").isEmpty
    }

    // MARK: - Ollama

    static func ollama(_ body: JSONValue) -> String? {
        for message in body["messages"]?.arrayValue ?? [] {
            if let content = message["content"], content.stringValue == nil, content != .null {
                return "json: cannot unmarshal \(content.typeName) into Go struct field Message.messages.content of type string"
            }
            if let images = message["images"], images.arrayValue?.allSatisfy({ $0.stringValue != nil }) != true {
                return "json: cannot unmarshal into Go struct field Message.messages.images of type []api.ImageData"
            }
        }
        return nil
    }
}
