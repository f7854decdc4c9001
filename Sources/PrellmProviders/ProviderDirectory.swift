import Foundation
import PrellmHTTP
import PrellmProviderKit

/// A ProviderDirectory makes providers from `provider/model` strings: it picks the wire format
/// by provider name, reads the base URL and key from the environment (or explicit overrides
/// from a config file), and fails before any request when a key is missing.
public struct ProviderDirectory: Sendable {
    /// What a config file's provider section changes: where the provider is, where its key is
    /// (a variable or a file; never the key itself in a file), extra headers, timeouts.
    public struct Override: Sendable {
        public var baseURL: String?
        public var apiKey: String?
        public var apiKeyVariable: String?
        public var apiKeyFile: String?
        public var headers: [(name: String, value: String)] = []
        public var timeouts: ProviderTimeouts?
        /// Where the override came from, for messages ("providers.openai in prellm.yaml").
        public var origin: String?

        public init(
            baseURL: String? = nil, apiKey: String? = nil, apiKeyVariable: String? = nil, apiKeyFile: String? = nil,
            headers: [(name: String, value: String)] = [], timeouts: ProviderTimeouts? = nil, origin: String? = nil
        ) {
            self.baseURL = baseURL
            self.apiKey = apiKey
            self.apiKeyVariable = apiKeyVariable
            self.apiKeyFile = apiKeyFile
            self.headers = headers
            self.timeouts = timeouts
            self.origin = origin
        }
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
            throw ProviderError(
                provider: "prellm", kind: .configuration,
                message: "'\(id)' is not of the form provider/model, e.g. openai/gpt-4o-mini")
        }
        let provider = String(id[..<slash])
        guard ProviderPreset.named(provider) != nil else {
            throw ProviderError(
                provider: provider, kind: .configuration,
                message: "unknown provider '\(provider)'; known: \(ProviderPreset.all.map(\.name).joined(separator: ", "))")
        }
        return (provider, String(id[id.index(after: slash)...]))
    }

    public func provider(named name: String) throws(ProviderError) -> any ChatProvider {
        guard let preset = ProviderPreset.named(name) else {
            throw ProviderError(provider: name, kind: .configuration, message: "unknown provider '\(name)'")
        }
        let o = overrides[name]
        var key = o?.apiKey
        if key == nil, let variable = o?.apiKeyVariable {
            key = environment[variable].flatMap { $0.isEmpty ? nil : $0 }
            if key == nil {
                throw ProviderError(
                    provider: name, kind: .configuration,
                    message: "no API key: set \(variable) (named by \(o?.origin ?? "the config file"))")
            }
        }
        if key == nil, let file = o?.apiKeyFile {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw ProviderError(
                    provider: name, kind: .configuration,
                    message: "cannot read the key file \(file) (named by \(o?.origin ?? "the config file"))")
            }
            key = text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        var config = try preset.configuration(environment: environment, baseURL: o?.baseURL, apiKey: key)
        config.timeouts = o?.timeouts ?? timeouts
        config.extraHeaders += o?.headers ?? []
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
