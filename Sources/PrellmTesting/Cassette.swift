import Foundation
import PrellmProviderKit
import PrellmSchema
import Synchronization

/// A Cassette is a workflow's recorded answers (`<workflow>.cassette.jsonl`, beside it): one
/// JSON line per distinct call — the model, the request as prellm sent it in provider-neutral
/// form, the answer and its usage. Requests hold what the prompt says and how it is asked,
/// never a key or a header, so a cassette can be committed and reviewed. Replaying it is
/// offline and deterministic: the same request gets the same answer.
public final class Cassette: Sendable {
    public struct Entry: Sendable, Equatable {
        /// `provider/model`.
        public var model: String
        public var request: JSONValue
        public var response: ChatResponse
        /// As the provider reported it; nil when it reported none (replay then estimates, as
        /// the live call did).
        public var usage: Usage?

        /// The line's key: model and request, as compact JSON with sorted keys.
        var key: String { model + " " + request.jsonText }
    }

    public let path: String
    private let entries: Mutex<[String: Entry]>
    /// The keys recorded in this run.
    private let recorded = Mutex<Set<String>>([])

    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// The cassette for a workflow file: its path with `.cassette.jsonl` for its extension.
    public static func path(for workflow: String) -> String {
        URL(fileURLWithPath: workflow).deletingPathExtension().path + ".cassette.jsonl"
    }

    /// Reads the cassette at `path`; a missing file is an empty cassette.
    public init(path: String) throws(Failure) {
        self.path = path
        var found: [String: Entry] = [:]
        if FileManager.default.fileExists(atPath: path) {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw Failure(message: "cannot read \(path)") }
            for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
                guard let json = try? JSONParser.parse(String(line)), let entry = Self.entry(json) else {
                    throw Failure(message: "\(path):\(n + 1): not a cassette line (model, request, response, usage)")
                }
                found[entry.key] = entry
            }
        }
        entries = Mutex(found)
    }

    public var isEmpty: Bool { entries.withLock { $0.isEmpty } }
    public var count: Int { entries.withLock { $0.count } }

    public func answer(model: String, request: JSONValue) -> Entry? {
        let key = model + " " + request.jsonText
        return entries.withLock { $0[key] }
    }

    public func record(_ entry: Entry) {
        entries.withLock { $0[entry.key] = entry }
        _ = recorded.withLock { $0.insert(entry.key) }
    }

    /// Whether this run recorded anything.
    public var changed: Bool { recorded.withLock { !$0.isEmpty } }

    /// Writes the entries, sorted by key so that a re-record diffs line by line.
    /// - Parameter prune: keep only what this run recorded (a complete re-record, so answers
    ///   no test asks for any more go); otherwise the new answers join the old.
    public func save(prune: Bool = false) throws(Failure) {
        let keep = recorded.withLock { $0 }
        let lines = entries.withLock { all in
            all.values.filter { !prune || keep.contains($0.key) }.sorted { $0.key < $1.key }.map { Self.line($0).jsonText }
        }
        do { try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8) } catch {
            throw Failure(message: "cannot write \(path): \(error.localizedDescription)")
        }
    }

    /// The recorded request nearest to `request` (same model first), for the mismatch report.
    public func nearest(model: String, request: JSONValue) -> Entry? {
        let all = entries.withLock { Array($0.values) }
        let sameModel = all.filter { $0.model == model }
        let pool = sameModel.isEmpty ? all : sameModel
        let sent = Self.lines(request)
        return pool.map { ($0, LineDiff.distance(Self.lines($0.request), sent)) }.min { $0.1 < $1.1 }?.0
    }

    /// A request as the lines a diff compares.
    static func lines(_ request: JSONValue) -> [String] {
        request.prettyJSONText.split(separator: "\n").map(String.init)
    }

    // MARK: - Lines

    static func line(_ e: Entry) -> JSONValue {
        var response: [String: JSONValue] = ["text": .string(e.response.text), "finish": .string(e.response.finishReason.name)]
        if !e.response.toolCalls.isEmpty {
            response["tool_calls"] = .array(
                e.response.toolCalls.map { .object(["id": .string($0.id), "name": .string($0.name), "arguments": .string($0.arguments)]) })
        }
        var line: [String: JSONValue] = ["model": .string(e.model), "request": e.request, "response": .object(response)]
        if let u = e.usage {
            var usage: [String: JSONValue] = ["input_tokens": .number(Double(u.inputTokens)), "output_tokens": .number(Double(u.outputTokens))]
            if let cached = u.cachedInputTokens { usage["cached_input_tokens"] = .number(Double(cached)) }
            line["usage"] = .object(usage)
        }
        return .object(line)
    }

    static func entry(_ j: JSONValue) -> Entry? {
        guard let model = j["model"]?.stringValue, let request = j["request"], let r = j["response"], let text = r["text"]?.stringValue
        else { return nil }
        var usage: Usage?
        if let u = j["usage"] {
            guard let input = u["input_tokens"]?.int, let output = u["output_tokens"]?.int else { return nil }
            usage = Usage(inputTokens: input, outputTokens: output, cachedInputTokens: u["cached_input_tokens"]?.int)
        }
        let calls = (r["tool_calls"]?.arrayValue ?? []).map {
            ToolCall(id: $0["id"]?.stringValue ?? "", name: $0["name"]?.stringValue ?? "", arguments: $0["arguments"]?.stringValue ?? "")
        }
        let response = ChatResponse(
            model: model, text: text, toolCalls: calls, finishReason: FinishReason(name: r["finish"]?.stringValue ?? "stop"), usage: usage)
        return Entry(model: model, request: request, response: response, usage: usage)
    }
}

extension ChatRequest {
    /// The request in provider-neutral form, as a cassette keys it: what is asked and how,
    /// nothing of the transport (no key, no header, no provider-specific field).
    public var normalized: JSONValue {
        var o: [String: JSONValue] = [
            "messages": .array(
                messages.map { m in
                    var message: [String: JSONValue] = ["role": .string(m.role.rawValue), "content": .string(m.text)]
                    let images = m.content.compactMap { part -> JSONValue? in
                        switch part {
                        case .text: nil
                        case .imageURL(let url): .string(url)
                        case .imageData(let data, let type): .string("data:\(type);base64,\(data)")
                        }
                    }
                    if !images.isEmpty { message["images"] = .array(images) }
                    if !m.toolCalls.isEmpty {
                        message["tool_calls"] = .array(
                            m.toolCalls.map { .object(["id": .string($0.id), "name": .string($0.name), "arguments": .string($0.arguments)]) })
                    }
                    if let id = m.toolCallID { message["tool_call_id"] = .string(id) }
                    return .object(message)
                })
        ]
        if let system { o["system"] = .string(system) }
        if let temperature { o["temperature"] = .number(temperature) }
        if let maxTokens { o["max_tokens"] = .number(Double(maxTokens)) }
        if let topP { o["top_p"] = .number(topP) }
        if !stop.isEmpty { o["stop"] = .array(stop.map(JSONValue.string)) }
        switch responseFormat {
        case .text: break
        case .json: o["response_format"] = "json"
        case .jsonSchema(let name, let schema): o["response_format"] = .object(["name": .string(name), "schema": schema])
        }
        if !tools.isEmpty {
            o["tools"] = .array(
                tools.map {
                    .object(["name": .string($0.name), "description": $0.description.map(JSONValue.string) ?? .null, "parameters": $0.parameters])
                }
            )
        }
        return .object(o)
    }
}
