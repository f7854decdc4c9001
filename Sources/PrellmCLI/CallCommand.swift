import Foundation
import Prellm
import PrellmProviderKit
import PrellmProviders

/// `prellm call provider/model "text"`: one message to one model, the answer streamed as it
/// arrives — the quickest way to check a key and a model.
public struct CallOptions: Sendable {
    public var model: String
    public var text: String
    public var system: String?
    public var maxTokens: Int?
    public var temperature: Double?
    public var stream = true
    public var json = false
    /// A config file whose `providers` section overrides the environment.
    public var config: String?

    public init(
        model: String, text: String, system: String? = nil, maxTokens: Int? = nil, temperature: Double? = nil,
        stream: Bool = true, json: Bool = false, config: String? = nil
    ) {
        self.config = config
        self.model = model
        self.text = text
        self.system = system
        self.maxTokens = maxTokens
        self.temperature = temperature
        self.stream = stream
        self.json = json
    }
}

public enum CallCommand {
    /// Runs the call; `write` receives the answer's text as it streams (stdout).
    public static func run(
        _ options: CallOptions, environment: [String: String], catalog: ModelCatalog = .builtin,
        write: @Sendable (String) -> Void
    ) async -> CommandOutput {
        var out = CommandOutput()
        var overrides: [String: ProviderDirectory.Override] = [:]
        if let path = options.config {
            let (config, rendered) = ProviderSettings.load(path)
            guard let config else {
                out.stderr = rendered
                out.exitCode = CommandOutput.Exit.usage
                return out
            }
            out.stderr += rendered
            overrides = config.providerOverrides
        }
        let resolved: (provider: any ChatProvider, model: String)
        do { resolved = try ProviderDirectory(environment: environment, overrides: overrides).resolve(options.model) } catch {
            out.stderr += "prellm call: \(error.message)\n"
            out.exitCode = CommandOutput.Exit.usage
            return out
        }
        let request = ChatRequest(
            model: resolved.model, system: options.system, messages: [.user(options.text)],
            temperature: options.temperature, maxTokens: options.maxTokens,
            responseFormat: options.json ? .json : .text)
        let start = ContinuousClock.now
        var response: ChatResponse
        do {
            if options.stream {
                var deltas: [ChatDelta] = []
                for try await d in resolved.provider.stream(request) {
                    if case .text(let t) = d { write(t) }
                    deltas.append(d)
                }
                response = deltas.collected(model: resolved.model)
            } else {
                response = try await resolved.provider.complete(request)
                write(response.text)
            }
        } catch {
            let e = error as? ProviderError
            out.stderr += "\nprellm call: \(e.map { "\($0)" } ?? "\(error)")\n"
            if let after = e?.retryAfter { out.stderr += "  the provider asks to retry after \(after)\n" }
            out.exitCode = CommandOutput.Exit.failure
            return out
        }
        write("\n")
        for call in response.toolCalls { out.stderr += "tool call \(call.name)(\(call.arguments))\n" }
        let elapsed = ContinuousClock.now - start
        var summary = "\(options.model)"
        if let u = response.usage {
            summary += " · \(u.inputTokens) in / \(u.outputTokens) out tokens"
            if let cost = catalog.cost(of: u, model: options.model) {
                summary += " · $\(Self.money(cost))"
            } else {
                summary += " · cost unknown (no price for \(options.model))"
            }
        } else {
            summary += " · no usage reported"
        }
        let ms = elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000
        summary += " · \(ms) ms"
        if response.finishReason == .length { summary += " · truncated at max_tokens" }
        out.stderr += summary + "\n"
        return out
    }

    static func money(_ d: Double) -> String {
        if d == 0 { return "0" }
        var digits = 6
        while digits < 10, (d * pow10(digits)).rounded() == 0 { digits += 1 }
        // Fixed-point, never an exponent: "$0.000009", not "$9e-06".
        var text = String(format: "%.\(digits)f", d)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }

    static func pow10(_ n: Int) -> Double { (0..<n).reduce(1.0) { a, _ in a * 10 } }
}
