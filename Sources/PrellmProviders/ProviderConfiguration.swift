import Foundation
import PrellmProviderKit

/// A ProviderConfiguration says where a provider is and how to authenticate: the wire format,
/// the base URL, the API key, and the environment variable the key came from (for messages).
public struct ProviderConfiguration: Sendable {
    public enum WireFormat: String, Sendable { case openAI = "openai", anthropic, gemini, ollama }

    public var name: String
    public var format: WireFormat
    public var baseURL: String
    public var apiKey: String?
    public var extraHeaders: [(name: String, value: String)]
    public var timeouts: ProviderTimeouts

    public init(
        name: String, format: WireFormat, baseURL: String, apiKey: String? = nil,
        extraHeaders: [(name: String, value: String)] = [], timeouts: ProviderTimeouts = .init()
    ) {
        self.name = name
        self.format = format
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.apiKey = apiKey
        self.extraHeaders = extraHeaders
        self.timeouts = timeouts
    }
}

/// Timeouts for provider calls.
public struct ProviderTimeouts: Sendable, Hashable {
    public var connect: Duration = .seconds(10)
    public var firstToken: Duration = .seconds(120)
    public var idle: Duration = .seconds(60)
    public var total: Duration = .seconds(600)
    public init() {}
}

/// A ProviderPreset is a known provider: its wire format, default base URL and the
/// environment variables its own SDK reads.
public struct ProviderPreset: Sendable {
    public var name: String
    public var format: ProviderConfiguration.WireFormat
    public var defaultBaseURL: String
    public var keyVariable: String?
    public var baseURLVariable: String
    public var keyRequired: Bool

    public static let all: [ProviderPreset] = [
        .init(
            name: "openai", format: .openAI, defaultBaseURL: "https://api.openai.com/v1", keyVariable: "OPENAI_API_KEY",
            baseURLVariable: "OPENAI_BASE_URL", keyRequired: true),
        .init(
            name: "anthropic", format: .anthropic, defaultBaseURL: "https://api.anthropic.com", keyVariable: "ANTHROPIC_API_KEY",
            baseURLVariable: "ANTHROPIC_BASE_URL", keyRequired: true),
        .init(
            name: "gemini", format: .gemini, defaultBaseURL: "https://generativelanguage.googleapis.com", keyVariable: "GEMINI_API_KEY",
            baseURLVariable: "GEMINI_BASE_URL", keyRequired: true),
        .init(
            name: "ollama", format: .ollama, defaultBaseURL: "http://localhost:11434", keyVariable: nil, baseURLVariable: "OLLAMA_HOST",
            keyRequired: false),
        .init(
            name: "openrouter", format: .openAI, defaultBaseURL: "https://openrouter.ai/api/v1", keyVariable: "OPENROUTER_API_KEY",
            baseURLVariable: "OPENROUTER_BASE_URL", keyRequired: true),
        .init(
            name: "groq", format: .openAI, defaultBaseURL: "https://api.groq.com/openai/v1", keyVariable: "GROQ_API_KEY",
            baseURLVariable: "GROQ_BASE_URL", keyRequired: true),
        .init(
            name: "together", format: .openAI, defaultBaseURL: "https://api.together.xyz/v1", keyVariable: "TOGETHER_API_KEY",
            baseURLVariable: "TOGETHER_BASE_URL", keyRequired: true),
        .init(
            name: "deepseek", format: .openAI, defaultBaseURL: "https://api.deepseek.com/v1", keyVariable: "DEEPSEEK_API_KEY",
            baseURLVariable: "DEEPSEEK_BASE_URL", keyRequired: true),
        .init(
            name: "mistral", format: .openAI, defaultBaseURL: "https://api.mistral.ai/v1", keyVariable: "MISTRAL_API_KEY",
            baseURLVariable: "MISTRAL_BASE_URL", keyRequired: true),
        .init(
            name: "vllm", format: .openAI, defaultBaseURL: "http://localhost:8000/v1", keyVariable: "VLLM_API_KEY", baseURLVariable: "VLLM_BASE_URL",
            keyRequired: false),
        .init(
            name: "llamacpp", format: .openAI, defaultBaseURL: "http://localhost:8080/v1", keyVariable: "LLAMACPP_API_KEY",
            baseURLVariable: "LLAMACPP_BASE_URL", keyRequired: false),
        .init(
            name: "lmstudio", format: .openAI, defaultBaseURL: "http://localhost:1234/v1", keyVariable: "LMSTUDIO_API_KEY",
            baseURLVariable: "LMSTUDIO_BASE_URL", keyRequired: false),
    ]

    public static func named(_ name: String) -> ProviderPreset? { all.first { $0.name == name } }

    /// Resolves the configuration from the environment (and a `<VAR>_FILE` key file), with
    /// explicit overrides (a config file's provider section) taking precedence. A missing
    /// key is an error naming the variable, raised before any request is made.
    public func configuration(
        environment: [String: String], baseURL: String? = nil, apiKey: String? = nil
    )
        throws(ProviderError) -> ProviderConfiguration
    {
        var url = baseURL ?? environment[baseURLVariable].flatMap { $0.isEmpty ? nil : $0 } ?? defaultBaseURL
        if format == .ollama, !url.contains("://") { url = "http://" + url }  // OLLAMA_HOST=host:port
        var key = apiKey
        if key == nil, let v = keyVariable {
            if let k = environment[v], !k.isEmpty {
                key = k
            } else if let file = environment[v + "_FILE"], !file.isEmpty {
                guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                    throw ProviderError(provider: name, kind: .configuration, message: "cannot read the key file named by \(v)_FILE (\(file))")
                }
                key = text.trimmingCharacters(in: .whitespacesAndNewlines)
            }
        }
        if keyRequired, key?.isEmpty ?? true {
            throw ProviderError(
                provider: name, kind: .configuration,
                message: "no API key: set \(keyVariable ?? "the key") (or \(keyVariable ?? "KEY")_FILE to a file holding it)")
        }
        return ProviderConfiguration(name: name, format: format, baseURL: url, apiKey: key)
    }
}
