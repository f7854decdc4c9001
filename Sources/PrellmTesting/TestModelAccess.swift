import PrellmCompiler
import PrellmProviderKit
import PrellmRuntime
import PrellmSchema
import Synchronization

/// Where a test's unmocked model calls are answered.
public enum AnswerSource: Sendable {
    /// From the workflow's cassette only: offline, free, deterministic. A call it does not
    /// hold makes the test an error (never a silent live call).
    case replay
    /// By the real providers, each answer written to the cassette.
    case record
    /// By the real providers, nothing written (nightly runs).
    case live
}

/// The ModelAccess a test runs with: prices and capabilities from the real one, answers from
/// the source the command chose. It notes every call it could not answer, so the runner can
/// tell "the workflow failed" from "the test had no answer for a step".
final class TestModelAccess: ModelAccess {
    let base: any ModelAccess
    let source: AnswerSource
    let cassette: Cassette?
    let misses = Mutex<[String]>([])

    init(base: any ModelAccess, source: AnswerSource, cassette: Cassette?) {
        self.base = base
        self.source = source
        self.cassette = cassette
    }

    func price(for model: String) -> ModelPrice? { base.price(for: model) }
    func capabilities(for model: String) -> ModelCapabilities? { base.capabilities(for: model) }

    func provider(for model: String) throws(ProviderError) -> (provider: any ChatProvider, model: String) {
        let provider = String(model.prefix { $0 != "/" })
        switch source {
        case .live: return try base.provider(for: model)
        case .record:
            let (real, name) = try base.provider(for: model)
            return (RecordingProvider(real: real, id: model, cassette: cassette), name)
        case .replay:
            guard let cassette, !cassette.isEmpty else {
                let message =
                    "no mock answers this step, and there is no cassette (\(cassette.map { FilePaths.display($0.path) } ?? "none")): add a mock, or record answers with --record"
                misses.withLock { $0.append(message) }
                throw ProviderError(provider: provider, kind: .configuration, message: message)
            }
            return (ReplayProvider(id: model, cassette: cassette, access: self), String(model.dropFirst(provider.count + 1)))
        }
    }
}

/// Answers from the cassette; a request it does not hold fails with the nearest recorded one
/// and a diff, so a reviewer sees what changed.
struct ReplayProvider: ChatProvider {
    let id: String
    let cassette: Cassette
    let access: TestModelAccess
    var name: String { String(id.prefix { $0 != "/" }) }

    func complete(_ request: ChatRequest) async throws(ProviderError) -> ChatResponse {
        let sent = request.normalized
        if let entry = cassette.answer(model: id, request: sent) { return entry.response }
        var message =
            "\(id): this request is not in the cassette \(FilePaths.display(cassette.path)) (a prompt, model or contract changed?); re-record with --record"
        if let near = cassette.nearest(model: id, request: sent) {
            let diff = LineDiff.render(Cassette.lines(near.request), Cassette.lines(sent))
            message += "\nnearest recorded request (\(near.model)), - recorded, + sent:\n" + diff
        }
        access.misses.withLock { $0.append(message) }
        throw ProviderError(provider: name, kind: .configuration, message: message)
    }

    func stream(_ request: ChatRequest) -> AsyncThrowingStream<ChatDelta, any Error> {
        Self.whole { () async throws(ProviderError) -> ChatResponse in try await complete(request) }
    }
}

/// Sends to the real provider and writes each answer to the cassette.
struct RecordingProvider: ChatProvider {
    let real: any ChatProvider
    let id: String
    let cassette: Cassette?
    var name: String { real.name }

    func complete(_ request: ChatRequest) async throws(ProviderError) -> ChatResponse {
        let response = try await real.complete(request)
        cassette?.record(
            Cassette.Entry(
                model: id, request: request.normalized, response: response, usage: response.usage))
        return response
    }

    /// A recording run does not stream: the whole answer is what is kept.
    func stream(_ request: ChatRequest) -> AsyncThrowingStream<ChatDelta, any Error> {
        ReplayProvider.whole { () async throws(ProviderError) -> ChatResponse in try await complete(request) }
    }
}

extension ReplayProvider {
    /// A whole answer as a stream of deltas.
    static func whole(_ answer: @escaping @Sendable () async throws(ProviderError) -> ChatResponse) -> AsyncThrowingStream<ChatDelta, any Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    let r = try await answer()
                    if !r.text.isEmpty { continuation.yield(.text(r.text)) }
                    for (i, c) in r.toolCalls.enumerated() { continuation.yield(.toolCall(index: i, id: c.id, name: c.name, arguments: c.arguments)) }
                    if let u = r.usage { continuation.yield(.usage(u)) }
                    continuation.yield(.finish(r.finishReason))
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}
