import PrellmHTTP
import PrellmProviderKit

/// A ProviderDirectory makes providers from `provider/model` strings: it picks the wire format
/// by provider name, reads the base URL and key from the environment (or explicit overrides
/// from a config file), and fails before any request when a key is missing.
public struct ProviderDirectory: Sendable {
    public struct Override: Sendable {
        public var baseURL: String?
        public var apiKey: String?
        public init(baseURL: String? = nil, apiKey: String? = nil) { self.baseURL = baseURL; self.apiKey = apiKey }
    }

    public let environment: [String: String]
    public let overrides: [String: Override]
    public let client: HTTPClient
    public var timeouts = ProviderTimeouts()

    public init(environment: [String: String], overrides: [String: Override] = [:], client: HTTPClient = .shared) {
        self.environment = environment
        self.overrides = overrides
        self.client = client
    }

    /// Splits `openrouter/meta-llama/llama-3.1-8b-instruct` into the provider and the model
    /// (everything after the first slash).
    public static func split(_ id: String) throws(ProviderError) -> (provider: String, model: String) {
        guard let slash = id.firstIndex(of: "/"), slash != id.startIndex, id.index(after: slash) != id.endIndex else {
            throw ProviderError(provider: "prellm", kind: .configuration,
                                message: "'\(id)' is not of the form provider/model, e.g. openai/gpt-4o-mini")
        }
        let provider = String(id[..<slash])
        guard ProviderPreset.named(provider) != nil else {
            throw ProviderError(provider: provider, kind: .configuration,
                                message: "unknown provider '\(provider)'; known: \(ProviderPreset.all.map(\.name).joined(separator: ", "))")
        }
        return (provider, String(id[id.index(after: slash)...]))
    }

    public func provider(named name: String) throws(ProviderError) -> any ChatProvider {
        guard let preset = ProviderPreset.named(name) else {
            throw ProviderError(provider: name, kind: .configuration, message: "unknown provider '\(name)'")
        }
        var config = try preset.configuration(environment: environment, baseURL: overrides[name]?.baseURL, apiKey: overrides[name]?.apiKey)
        config.timeouts = timeouts
        switch config.format {
        case .openAI: return OpenAIChatProvider(configuration: config, client: client)
        case .anthropic: return AnthropicMessagesProvider(configuration: config, client: client)
        case .gemini: return GeminiProvider(configuration: config, client: client)
        case .ollama: return OllamaChatProvider(configuration: config, client: client)
        }
    }

    /// The provider for a model string, and the model name to send it.
    public func resolve(_ id: String) throws(ProviderError) -> (provider: any ChatProvider, model: String) {
        let (p, m) = try Self.split(id)
        return (try provider(named: p), m)
    }
}
