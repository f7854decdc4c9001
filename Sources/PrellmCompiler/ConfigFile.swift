import PrellmSyntax

/// A ConfigFile is a prellm configuration (`prellm.yaml`): settings that are not part of any
/// workflow. Today it holds the `providers` section, which overrides what the environment
/// says about a provider: where it is, which variable or file holds its key, extra headers
/// and timeouts. Keys themselves never appear in a config file.
///
/// ```yaml
/// prellm: 1
/// providers:
///   openai:
///     base_url: https://llm-proxy.internal/v1
///     api_key_env: CORP_OPENAI_KEY
///     headers: {OpenAI-Organization: org-123}
///     timeouts: {connect: 5s, first_token: 60s, idle: 30s, total: 10m}
///   ollama:
///     base_url: http://gpu-box:11434
/// ```
public struct ConfigFile: Sendable {
    public struct ProviderSettings: Sendable {
        public var name: Workflow.Name
        public var baseURL: String?
        public var apiKeyEnv: String?
        public var apiKeyFile: String?
        public var headers: [(name: String, value: String)]
        public var connectTimeout: Duration?
        public var firstTokenTimeout: Duration?
        public var idleTimeout: Duration?
        public var totalTimeout: Duration?
    }

    public var file: String
    public var providers: [ProviderSettings] = []

    /// The top-level keys that make a file a config file rather than a workflow.
    static let markers = ["providers"]
    static let topLevelKeys = ["prellm", "providers"]

    static func isConfig(_ root: YAMLNode) -> Bool {
        root["steps"] == nil && markers.contains { root[$0] != nil }
    }
}

/// Reads a config file's YAML with the same positioned diagnostics as workflows.
struct ConfigDecoder {
    var d: Decoder

    mutating func decode(_ root: YAMLNode) -> ConfigFile {
        var config = ConfigFile(file: d.source.path)
        guard let f = d.fields(root, "the config file", allowed: ConfigFile.topLevelKeys, required: ["prellm"]) else { return config }
        if let v = f["prellm"], v.resolved != .int(1) {
            d.bag.add(.unsupportedVersion, v.span, "'prellm' must be the format version 1, found '\(v.scalar?.value ?? v.kindName)'")
        }
        if let v = f["providers"] {
            for (name, node) in d.namedEntries(v, "'providers' must map provider names to settings") {
                if let p = provider(name, node) { config.providers.append(p) }
            }
        }
        return config
    }

    static let providerKeys = ["base_url", "api_key_env", "api_key_file", "headers", "timeouts"]

    mutating func provider(_ name: Workflow.Name, _ node: YAMLNode) -> ConfigFile.ProviderSettings? {
        let known = WorkflowDecoder.knownProviders
        if !known.contains(name.value) {
            d.bag.add(.unknownProvider, name.span, "unknown provider '\(name.value)'",
                      hint: Spelling.hint(name.value, in: known) ?? "providers are \(known.joined(separator: ", "))")
        }
        if let keySpan = node.mapping?.first(where: { $0.key.scalar?.value == "api_key" })?.key.span {
            var diagnostic = Diagnostic(.unknownKey, file: d.source.path, span: keySpan, message: "API keys do not go in config files",
                                        hint: "name the variable that holds it (api_key_env) or a file (api_key_file)")
            diagnostic.hidesSourceLine = true
            d.bag.add(diagnostic)
        }
        guard let f = d.fields(node, "provider '\(name.value)'", allowed: Self.providerKeys + (node["api_key"] != nil ? ["api_key"] : [])) else { return nil }
        var s = ConfigFile.ProviderSettings(name: name, headers: [])
        if let v = f["base_url"], let url = d.string(v, "'base_url'") {
            if !(url.hasPrefix("http://") || url.hasPrefix("https://")) {
                d.bag.add(.badValue, v.span, "'base_url' must start with http:// or https://, found '\(url)'")
            }
            s.baseURL = url
        }
        if let v = f["api_key_env"] { s.apiKeyEnv = d.string(v, "'api_key_env'") }
        if let v = f["api_key_file"] { s.apiKeyFile = d.string(v, "'api_key_file'").map { FilePaths.resolve($0, relativeTo: d.source.path) } }
        if f.has("api_key_env"), f.has("api_key_file") {
            d.bag.add(.conflictingKeys, f.keySpan("api_key_file")!, "give either 'api_key_env' or 'api_key_file', not both")
        }
        if let v = f["headers"] {
            s.headers = d.namedEntries(v, "'headers' must map header names to values").compactMap { n, value in
                d.string(value, "header '\(n.value)'").map { (n.value, $0) }
            }
        }
        if let v = f["timeouts"], let t = d.fields(v, "'timeouts'", allowed: ["connect", "first_token", "idle", "total"]) {
            s.connectTimeout = t["connect"].flatMap { d.duration($0, "'connect'") }
            s.firstTokenTimeout = t["first_token"].flatMap { d.duration($0, "'first_token'") }
            s.idleTimeout = t["idle"].flatMap { d.duration($0, "'idle'") }
            s.totalTimeout = t["total"].flatMap { d.duration($0, "'total'") }
        }
        return s
    }
}
