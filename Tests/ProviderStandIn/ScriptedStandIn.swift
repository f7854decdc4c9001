import Foundation
import PrellmSchema
import Synchronization

/// A StandInServer that answers from a script: for each model (read from the request body's
/// `model`, or from a Gemini path), a queue of responders taken in order; the last one repeats.
/// One server can play every provider at once, since each provider has its own path.
public final class ScriptedStandIn: @unchecked Sendable {
    public typealias Responder = @Sendable (RecordedRequest, ResponseWriter) -> Void

    final class Scripts: Sendable {
        let queues: Mutex<[String: [Responder]]>
        init(_ q: [String: [Responder]]) { queues = Mutex(q) }
    }

    public let server: StandInServer

    public init(_ scripts: [String: [Responder]], port: Int = 0) throws {
        let box = Scripts(scripts)
        server = try StandInServer(port: port) { request, writer in
            // The model lists each API serves (what a health check asks for).
            if request.method == "GET", let list = Self.modelList(request.path) {
                writer.respond(body: list)
                return
            }
            // First what the real API would refuse, whatever the script says.
            if let (status, body) = WireRules.refusal(for: request) {
                writer.error(status: status, body: body)
                return
            }
            let model = Self.model(of: request)
            let responder: Responder? = box.queues.withLock { s in
                guard var queue = s[model], !queue.isEmpty else { return nil }
                let r = queue.removeFirst()
                s[model] = queue.isEmpty ? [r] : queue
                return r
            }
            if let responder {
                responder(request, writer)
            } else {
                writer.error(status: 404, body: #"{"error":{"message":"no script for model \#(model)","code":"model_not_found"}}"#)
            }
        }
    }

    public var baseURL: String { server.baseURL }
    public var requests: [RecordedRequest] { server.requests }

    /// A list of no models in the shape of the API `path` belongs to, or nil.
    static func modelList(_ path: String) -> String? {
        switch path.split(separator: "?").first.map(String.init) ?? path {
        case "/v1/models": #"{"object":"list","data":[],"has_more":false}"#
        case "/v1beta/models": #"{"models":[]}"#
        case "/api/tags": #"{"models":[]}"#
        default: nil
        }
    }

    static func model(of r: RecordedRequest) -> String {
        if let range = r.path.range(of: "/models/"), let colon = r.path[range.upperBound...].firstIndex(of: ":") {
            return String(r.path[range.upperBound..<colon])
        }
        let body = r.bodyText
        guard let key = body.range(of: "\"model\":\"") else { return "" }
        return String(body[key.upperBound...].prefix { $0 != "\"" })
    }

    /// The environment that points every provider at this server.
    public var environment: [String: String] {
        [
            "OPENAI_BASE_URL": baseURL + "/v1", "OPENAI_API_KEY": "sk-standin", "ANTHROPIC_BASE_URL": baseURL,
            "ANTHROPIC_API_KEY": "sk-ant-standin", "GEMINI_BASE_URL": baseURL, "GEMINI_API_KEY": "standin",
            "OLLAMA_HOST": baseURL, "PATH": "/usr/bin:/bin",
        ]
    }
}

/// Responders in each provider's wire format.
public enum Reply {
    /// An OpenAI chat completion (streamed when the request asks for a stream).
    public static func openAI(
        _ text: String, promptTokens: Int = 20, completionTokens: Int = 10, finish: String = "stop"
    ) -> ScriptedStandIn.Responder {
        { request, w in
            let content = jsonString(text)
            if request.bodyText.contains("\"stream\":true") {
                w.stream(
                    openAITextEvents(text) + openAITail(finish: finish, promptTokens: promptTokens, completionTokens: completionTokens), pieces: 16)
            } else {
                w.respond(
                    body:
                        "{\"id\":\"c\",\"object\":\"chat.completion\",\"model\":\"m\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\(content)},\"finish_reason\":\"\(finish)\"}],\"usage\":{\"prompt_tokens\":\(promptTokens),\"completion_tokens\":\(completionTokens),\"total_tokens\":\(promptTokens + completionTokens)}}"
                )
            }
        }
    }

    /// An OpenAI answer with some text and one tool call; streamed as OpenAI streams it (the id
    /// and name in the first fragment, the arguments in pieces) when the request asks.
    public static func openAIToolCall(text: String, id: String, name: String, arguments: String) -> ScriptedStandIn.Responder {
        { request, w in
            if request.bodyText.contains("\"stream\":true") {
                var s = openAITextEvents(text)
                s +=
                    "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\(jsonString(id)),\"type\":\"function\",\"function\":{\"name\":\(jsonString(name)),\"arguments\":\"\"}}]},\"finish_reason\":null}]}\n\n"
                var rest = Substring(arguments)
                while !rest.isEmpty {
                    let piece = rest.prefix(5)
                    rest = rest.dropFirst(5)
                    s +=
                        "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\(jsonString(String(piece)))}}]},\"finish_reason\":null}]}\n\n"
                }
                w.stream(s + openAITail(finish: "tool_calls", promptTokens: 9, completionTokens: 7), pieces: 16)
            } else {
                w.respond(
                    body:
                        "{\"id\":\"c\",\"object\":\"chat.completion\",\"model\":\"m\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\(jsonString(text)),\"tool_calls\":[{\"id\":\(jsonString(id)),\"type\":\"function\",\"function\":{\"name\":\(jsonString(name)),\"arguments\":\(jsonString(arguments))}}]},\"finish_reason\":\"tool_calls\"}],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":7,\"total_tokens\":16}}"
                )
            }
        }
    }

    /// An Ollama /api/chat answer (NDJSON when streamed).
    public static func ollama(_ text: String, promptTokens: Int = 15, evalTokens: Int = 5) -> ScriptedStandIn.Responder {
        { request, w in
            let done =
                "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done\":true,\"done_reason\":\"stop\",\"prompt_eval_count\":\(promptTokens),\"eval_count\":\(evalTokens)}"
            if request.bodyText.contains("\"stream\":true") {
                let lines = chunks(text).map {
                    "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\(jsonString($0))},\"done\":false}\n"
                }.joined()
                w.stream(lines + done + "\n", contentType: "application/x-ndjson")
            } else {
                w.respond(
                    body:
                        "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\(jsonString(text))},\"done\":true,\"done_reason\":\"stop\",\"prompt_eval_count\":\(promptTokens),\"eval_count\":\(evalTokens)}"
                )
            }
        }
    }

    /// An Anthropic Messages answer (typed SSE events when streamed).
    public static func anthropic(_ text: String, inputTokens: Int = 5, outputTokens: Int = 3) -> ScriptedStandIn.Responder {
        { request, w in
            if request.bodyText.contains("\"stream\":true") {
                var s =
                    "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":\(inputTokens),\"output_tokens\":1}}}\n\n"
                for piece in chunks(text) {
                    s +=
                        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\(jsonString(piece))}}\n\n"
                }
                s +=
                    "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":\(outputTokens)}}\n\n"
                s += "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
                w.stream(s, pieces: 24)
            } else {
                w.respond(
                    body:
                        "{\"id\":\"msg\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude\",\"content\":[{\"type\":\"text\",\"text\":\(jsonString(text))}],\"stop_reason\":\"end_turn\",\"usage\":{\"input_tokens\":\(inputTokens),\"output_tokens\":\(outputTokens)}}"
                )
            }
        }
    }

    /// An Anthropic answer that is one tool_use block (streamed as Anthropic streams it: the
    /// block opened with empty input, then input_json_delta pieces).
    public static func anthropicToolUse(id: String, name: String, input: String) -> ScriptedStandIn.Responder {
        { request, w in
            if request.bodyText.contains("\"stream\":true") {
                var s =
                    "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":12,\"output_tokens\":1}}}\n\n"
                s +=
                    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\(jsonString(id)),\"name\":\(jsonString(name)),\"input\":{}}}\n\n"
                for piece in chunks(input) {
                    s +=
                        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\(jsonString(piece))}}\n\n"
                }
                s += "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
                s +=
                    "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_tokens\":9}}\n\n"
                s += "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
                w.stream(s, pieces: 24)
            } else {
                w.respond(
                    body:
                        "{\"id\":\"msg\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude\",\"content\":[{\"type\":\"tool_use\",\"id\":\(jsonString(id)),\"name\":\(jsonString(name)),\"input\":\(input)}],\"stop_reason\":\"tool_use\",\"usage\":{\"input_tokens\":12,\"output_tokens\":9}}"
                )
            }
        }
    }

    /// OpenAI's `POST /v1/embeddings` answer: one vector of `dimensions` per input, `i + k/10`.
    public static func openAIEmbeddings(dimensions: Int = 3, promptTokens: Int = 8) -> ScriptedStandIn.Responder {
        { request, w in
            let n = (try? JSONParser.parse(request.bodyText))?["input"]?.arrayValue?.count ?? 1
            let data = (0..<n).map { i in
                #"{"object":"embedding","index":\#(i),"embedding":[\#((0..<dimensions).map { k in "\(Double(i) + Double(k) / 10)" }.joined(separator: ","))]}"#
            }
            w.respond(
                body:
                    #"{"object":"list","data":[\#(data.joined(separator: ","))],"model":"text-embedding-3-small","usage":{"prompt_tokens":\#(promptTokens),"total_tokens":\#(promptTokens)}}"#
            )
        }
    }

    /// OpenAI's `POST /v1/embeddings` answer with vectors that follow the words: each word
    /// (lower-cased letters and digits) adds one to a bucket chosen by its hash, so texts that
    /// share words point the same way — enough meaning to test retrieval end to end.
    public static func wordEmbeddings(dimensions: Int = 64) -> ScriptedStandIn.Responder {
        { request, w in
            let body = try? JSONParser.parse(request.bodyText)
            let inputs = body?["input"]?.arrayValue?.compactMap(\.stringValue) ?? body?["input"]?.stringValue.map { [$0] } ?? []
            let data = inputs.enumerated().map { i, text in
                let v = wordVector(text, dimensions: dimensions).map { "\($0)" }.joined(separator: ",")
                return #"{"object":"embedding","index":\#(i),"embedding":[\#(v)]}"#
            }
            let tokens = inputs.reduce(0) { $0 + $1.split(separator: " ").count }
            w.respond(
                body:
                    #"{"object":"list","data":[\#(data.joined(separator: ","))],"model":"text-embedding-3-small","usage":{"prompt_tokens":\#(tokens),"total_tokens":\#(tokens)}}"#
            )
        }
    }

    public static func wordVector(_ text: String, dimensions: Int) -> [Double] {
        var v = [Double](repeating: 0, count: dimensions)
        v[0] = 0.01  // never the zero vector
        for word in text.lowercased().split(whereSeparator: { !($0.isLetter || $0.isNumber) }) {
            var h: UInt64 = 0xcbf2_9ce4_8422_2325
            for b in word.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
            v[Int(h % UInt64(dimensions))] += 1
        }
        return v
    }

    /// Ollama's `POST /api/embed` answer.
    public static func ollamaEmbed(_ vectors: [[Double]], promptEvalCount: Int = 6) -> ScriptedStandIn.Responder {
        { _, w in
            let list = vectors.map { "[" + $0.map { "\($0)" }.joined(separator: ",") + "]" }.joined(separator: ",")
            w.respond(
                body:
                    #"{"model":"nomic-embed-text","embeddings":[\#(list)],"total_duration":1,"load_duration":1,"prompt_eval_count":\#(promptEvalCount)}"#
            )
        }
    }

    /// Gemini's `:batchEmbedContents` answer.
    public static func geminiEmbeddings(_ vectors: [[Double]]) -> ScriptedStandIn.Responder {
        { _, w in
            let list = vectors.map { #"{"values":["# + $0.map { "\($0)" }.joined(separator: ",") + "]}" }.joined(separator: ",")
            w.respond(body: #"{"embeddings":[\#(list)]}"#)
        }
    }

    /// Anthropic's `POST /v1/messages/count_tokens` answer.
    public static func anthropicCount(_ n: Int) -> ScriptedStandIn.Responder {
        { _, w in w.respond(body: #"{"input_tokens":\#(n)}"#) }
    }

    /// Gemini's `:countTokens` answer.
    public static func geminiCount(_ n: Int) -> ScriptedStandIn.Responder {
        { _, w in w.respond(body: #"{"totalTokens":\#(n),"promptTokensDetails":[{"modality":"TEXT","tokenCount":\#(n)}]}"#) }
    }

    public static func status(_ code: Int, _ body: String, headers: [(String, String)] = []) -> ScriptedStandIn.Responder {
        { _, w in w.error(status: code, body: body, headers: headers) }
    }

    /// A slow OpenAI stream: `count` deltas ("<word> 0 ", "<word> 1 ", …) one every `pauseMs`,
    /// then the finish and `[DONE]`. It stops as soon as the client has gone, and says so to
    /// `onClientGone`.
    public static func openAIDrip(
        _ word: String, count: Int, pauseMs: Int,
        onClientGone: @escaping @Sendable () -> Void = {}
    ) -> ScriptedStandIn.Responder {
        { _, w in
            w.startChunked()
            for i in 0..<count {
                w.chunk("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\(word) \(i) \"},\"finish_reason\":null}]}\n\n")
                if w.isClosed { onClientGone(); return }
                w.pause(pauseMs)
            }
            w.chunk(openAITail(finish: "stop", promptTokens: 5, completionTokens: count))
            w.end()
        }
    }

    /// An OpenAI stream cut after its first event.
    public static func openAICut(_ text: String) -> ScriptedStandIn.Responder {
        { _, w in
            w.startChunked()
            w.chunk("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\(jsonString(text))},\"finish_reason\":null}]}\n\n")
            w.pause(20)
            w.cut()
        }
    }

    /// OpenAI stream events carrying `text`, a word at a time.
    static func openAITextEvents(_ text: String) -> String {
        chunks(text).map { "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\(jsonString($0))},\"finish_reason\":null}]}\n\n" }.joined()
    }

    /// The end of an OpenAI stream: the finish reason, the usage chunk and `[DONE]`.
    static func openAITail(finish: String, promptTokens: Int, completionTokens: Int) -> String {
        "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"\(finish)\"}]}\n\n"
            + "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":\(promptTokens),\"completion_tokens\":\(completionTokens)}}\n\ndata: [DONE]\n\n"
    }

    static func chunks(_ text: String) -> [String] {
        var out: [String] = []
        var current = ""
        for ch in text {
            current.append(ch)
            if ch == " " { out.append(current); current = "" }
        }
        if !current.isEmpty { out.append(current) }
        return out
    }

    public static func jsonString(_ s: String) -> String { JSONValue.string(s).jsonText }
}
