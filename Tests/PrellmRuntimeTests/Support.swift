import Foundation
import PrellmCompiler
import PrellmProviderKit
import PrellmRuntime
import PrellmSchema
import PrellmSyntax
import Synchronization

/// A clock tests control: sleeping advances it at once and records how long was asked for.
final class ManualClock: RunClock {
    private let state = Mutex<(now: ContinuousClock.Instant, sleeps: [Duration])>((.now, []))
    var now: ContinuousClock.Instant { state.withLock { $0.now } }
    var sleeps: [Duration] { state.withLock { $0.sleeps } }
    func sleep(for duration: Duration) async throws {
        state.withLock {
            $0.now += duration; $0.sleeps.append(duration)
        }
    }
    func advance(_ d: Duration) { state.withLock { $0.now += d } }
}

/// A provider at the ProviderKit seam that answers from a script, per model, in order, and
/// records every request. (The wire formats are tested against real HTTP elsewhere.)
final class ScriptedProvider: ChatProvider {
    enum Reply {
        case text(String, usage: Usage? = Usage(inputTokens: 10, outputTokens: 5), finish: FinishReason = .stop)
        case error(ProviderError)
        /// Never answers; ends only when cancelled.
        case hang
        /// Streams this text, then the connection breaks.
        case cut(String)
        /// Streams this text, then waits, never finishing, until cancelled.
        case stall(String)
    }

    let name = "scripted"
    private let state = Mutex<(scripts: [String: [Reply]], requests: [(model: String, request: ChatRequest)])>(([:], []))

    init(_ scripts: [String: [Reply]]) { state.withLock { $0.scripts = scripts } }

    var requests: [(model: String, request: ChatRequest)] { state.withLock { $0.requests } }

    func next(_ r: ChatRequest) -> Reply {
        state.withLock { s in
            s.requests.append((r.model, r))
            guard var queue = s.scripts[r.model], !queue.isEmpty else {
                return .error(ProviderError(provider: name, kind: .notFound, message: "no scripted reply for \(r.model)"))
            }
            let reply = queue.removeFirst()
            s.scripts[r.model] = queue.isEmpty ? [reply] : queue  // the last reply repeats
            return reply
        }
    }

    func complete(_ request: ChatRequest) async throws(ProviderError) -> ChatResponse {
        switch next(request) {
        case .text(let t, let u, let f): return ChatResponse(model: request.model, text: t, finishReason: f, usage: u)
        case .error(let e): throw e
        case .cut: throw ProviderError(provider: name, kind: .cutStream, message: "the stream ended early")
        case .hang, .stall:
            while !Task.isCancelled { await Task.yield() }
            throw ProviderError(provider: name, kind: .connection, message: "cancelled")
        }
    }

    func stream(_ request: ChatRequest) -> AsyncThrowingStream<ChatDelta, any Error> {
        let reply = next(request)
        return AsyncThrowingStream { c in
            switch reply {
            case .text(let t, let u, let f):
                for ch in t { c.yield(.text(String(ch))) }
                c.yield(.finish(f))
                if let u { c.yield(.usage(u)) }
                c.finish()
            case .error(let e): c.finish(throwing: e)
            case .cut(let t):
                for ch in t { c.yield(.text(String(ch))) }
                c.finish(throwing: ProviderError(provider: "scripted", kind: .cutStream, message: "the stream ended early"))
            case .stall(let t):
                for ch in t { c.yield(.text(String(ch))) }
            case .hang: break
            }
        }
    }
}

struct ScriptedModels: ModelAccess {
    let provider: ScriptedProvider
    var prices: [String: ModelPrice] = [:]
    func provider(for model: String) throws(ProviderError) -> (provider: any ChatProvider, model: String) { (provider, model) }
    func price(for model: String) -> ModelPrice? { prices[model] }
    var contextWindows: [String: Int] = [:]
    func capabilities(for model: String) -> ModelCapabilities? {
        ModelCapabilities(contextWindow: contextWindows[model], jsonMode: true, structuredOutput: true)
    }
}

func interpreter(_ yaml: String, file: String = "/tmp/prellm-runtime-test/w.yaml") throws -> Interpreter {
    let result = WorkflowCompiler().compile(source: Source(path: file, text: yaml))
    if result.hasErrors { throw RunError(.invalidInput, DiagnosticRenderer.text(result.diagnostics, sources: result.sources)) }
    return try Interpreter(result)
}
