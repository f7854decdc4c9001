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
        /// The wire format of a provider the config names itself (`gpu-a: {format: openai}`),
        /// which then needs `baseURL`; nil for a built-in provider.
        public var format: ProviderConfiguration.WireFormat?
        public var baseURL: String?
        public var apiKey: String?
        public var apiKeyVariable: String?
        public var apiKeyFile: String?
        public var headers: [(name: String, value: String)] = []
        public var timeouts: ProviderTimeouts?
        /// Where the override came from, for messages ("providers.openai in prellm.yaml").
        public var origin: String?

        public init(
            format: ProviderConfiguration.WireFormat? = nil, baseURL: String? = nil, apiKey: String? = nil, apiKeyVariable: String? = nil,
            apiKeyFile: String? = nil, headers: [(name: String, value: String)] = [], timeouts: ProviderTimeouts? = nil, origin: String? = nil
        ) {
            self.format = format
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
    /// (everything after the first slash); the provider must be a built-in one.
    public static func split(_ id: String) throws(ProviderError) -> (provider: String, model: String) {
        try split(id, known: ProviderPreset.all.map(\.name))
    }

    /// The same, where the provider may also be one the config names (`gpu-a/llama3.1:8b`).
    public func split(_ id: String) throws(ProviderError) -> (provider: String, model: String) {
        try Self.split(id, known: ProviderPreset.all.map(\.name) + overrides.filter { $0.value.format != nil }.keys.sorted())
    }

    static func split(_ id: String, known: [String]) throws(ProviderError) -> (provider: String, model: String) {
        guard let slash = id.firstIndex(of: "/"), slash != id.startIndex, id.index(after: slash) != id.endIndex else {
            throw ProviderError(
                provider: "prellm", kind: .configuration,
                message: "'\(id)' is not of the form provider/model, e.g. openai/gpt-4o-mini")
        }
        let provider = String(id[..<slash])
        guard known.contains(provider) else {
            throw ProviderError(
                provider: provider, kind: .configuration, message: "unknown provider '\(provider)'; known: \(known.joined(separator: ", "))")
        }
        return (provider, String(id[id.index(after: slash)...]))
    }

    public func provider(named name: String) throws(ProviderError) -> any ChatProvider {
        var config = try configuration(named: name)
        let o = overrides[name]
        config.timeouts = o?.timeouts ?? timeouts
        config.extraHeaders += o?.headers ?? []
        switch config.format {
        case .openAI: return OpenAIChatProvider(configuration: config, client: client)
        case .anthropic: return AnthropicMessagesProvider(configuration: config, client: client)
        case .gemini: return GeminiProvider(configuration: config, client: client)
        case .ollama: return OllamaChatProvider(configuration: config, client: client)
        }
    }

    /// Where a provider is and its key: a built-in provider's from the environment with the
    /// config's overrides; a provider the config names, from the config alone (its key is
    /// optional: a vLLM or Ollama replica often has none).
    func configuration(named name: String) throws(ProviderError) -> ProviderConfiguration {
        let o = overrides[name]
        let key = try configuredKey(name, o)
        if let preset = ProviderPreset.named(name) {
            return try preset.configuration(environment: environment, baseURL: o?.baseURL, apiKey: key)
        }
        guard let o, let format = o.format else {
            throw ProviderError(provider: name, kind: .configuration, message: "unknown provider '\(name)'")
        }
        guard let url = o.baseURL else {
            throw ProviderError(
                provider: name, kind: .configuration, message: "provider '\(name)' has no base_url (\(o.origin ?? "the config file"))")
        }
        return ProviderConfiguration(name: name, format: format, baseURL: url, apiKey: key)
    }

    /// The key the config points at (a variable or a file), nil when it points at none.
    func configuredKey(_ name: String, _ o: Override?) throws(ProviderError) -> String? {
        if let key = o?.apiKey { return key }
        if let variable = o?.apiKeyVariable {
            guard let key = environment[variable], !key.isEmpty else {
                throw ProviderError(
                    provider: name, kind: .configuration,
                    message: "no API key: set \(variable) (named by \(o?.origin ?? "the config file"))")
            }
            return key
        }
        if let file = o?.apiKeyFile {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw ProviderError(
                    provider: name, kind: .configuration,
                    message: "cannot read the key file \(file) (named by \(o?.origin ?? "the config file"))")
            }
            return text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return nil
    }

    /// The same directory, with `key` as the key of `provider` (a gateway client's own key):
    /// no variable or file of the config's is read for it.
    public func withKey(_ key: String, for provider: String) -> ProviderDirectory {
        var overrides = self.overrides
        var o = overrides[provider] ?? Override()
        o.apiKey = key
        o.apiKeyVariable = nil
        o.apiKeyFile = nil
        overrides[provider] = o
        var copy = ProviderDirectory(environment: environment, overrides: overrides, client: client)
        copy.timeouts = timeouts
        return copy
    }

    /// The provider for a model string, and the model name to send it.
    public func resolve(_ id: String) throws(ProviderError) -> (provider: any ChatProvider, model: String) {
        let (p, m) = try split(id)
        return (try provider(named: p), m)
    }
}
