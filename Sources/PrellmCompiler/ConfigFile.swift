import PrellmSyntax

/// A ConfigFile is a prellm configuration (`prellm.yaml`): settings that are not part of any
/// workflow. The `providers` section overrides what the environment says about a provider:
/// where it is, which variable or file holds its key, extra headers and timeouts (API keys
/// themselves never appear in a config file). The gateway (`prellm serve`) reads `server`,
/// `models` (served model names, routed as in workflows), `workflows` (served as
/// `workflow/<name>`) and `keys` (gateway keys, as SHA-256 hashes).
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
///   gpu-a:                       # a provider of the config's own: any name, a wire format
///     format: openai
///     base_url: http://10.0.0.5:8000/v1
/// ```
public struct ConfigFile: Sendable {
    public struct ProviderSettings: Sendable {
        public var name: Workflow.Name
        /// The wire format of a provider the config names itself (`gpu-a: {format: openai, …}`);
        /// nil for a built-in provider, which has its own.
        public var format: String?
        public var baseURL: String?
        public var apiKeyEnv: String?
        public var apiKeyFile: String?
        public var headers: [(name: String, value: String)]
        public var connectTimeout: Duration?
        public var firstTokenTimeout: Duration?
        public var idleTimeout: Duration?
        public var totalTimeout: Duration?
        /// Active health checks of the endpoint (`health:`), nil when off.
        public var health: HealthCheck?
    }

    /// `health: {interval: 10s, path: /models, timeout: 2s}` on a provider, or `health: true`
    /// for these defaults and the wire format's own path (nil here).
    public struct HealthCheck: Sendable {
        public var interval: Duration = .seconds(10)
        public var timeout: Duration = .seconds(2)
        public var path: String?
        public init() {}
    }

    /// The gateway's listening address and request bounds (`prellm serve`).
    public struct Server: Sendable {
        public var host = "127.0.0.1"
        public var port = 4000
        public var maxBodyBytes = 4 << 20
        public var maxMessages = 512
        public var requestTimeout: Duration = .seconds(600)
        /// A client's time to send a request's head once its first byte arrived, and the whole
        /// body after it; a kept-alive connection's time between requests. A client that sends
        /// a byte a second must not keep a connection (and a file descriptor) for as long as it
        /// likes.
        public var headerTimeout: Duration = .seconds(10)
        public var bodyTimeout: Duration = .seconds(60)
        public var idleTimeout: Duration = .seconds(75)
        /// Open client connections past this are answered 503 and closed at once.
        public var maxConnections = 4096
        public var allowRemoteWithoutKeys = false
        /// Origins browsers may call from (`*` for any); empty sends no CORS headers.
        public var cors: [String] = []
        /// Put prompts in the request log lines (off: logs never hold a prompt).
        public var logPrompts = false
        /// Whether clients may name any `provider/model` (`server.provider_models`); nil: yes
        /// when no model names are configured, no when some are.
        public var providerModels: Bool?
        /// `GET /v1/models` leaves out a model name whose every model is on a provider failing
        /// its health check (`server.hide_unhealthy`).
        public var hideUnhealthy = false
        /// Whose keys a request carries (`server.auth`).
        public var auth = Auth.gateway
        /// The model names a client's own provider key may be used for under `auth: hybrid`.
        public var clientKeyModels: [String] = []
    }

    /// `gateway`: a gateway key, the gateway's provider keys upstream. `client`: the client's
    /// own provider key, passed upstream (no gateway keys, budgets or spend records; the
    /// provider bills the client). `hybrid`: a gateway key, or for `client_key_models` a
    /// provider key passed upstream.
    public enum Auth: String, Sendable { case gateway, client, hybrid }

    /// A served workflow, and which of its inputs the last user message and the system
    /// message fill (nil: `query`, or its one input without a default; and `user_context`).
    public struct ServedWorkflow: Sendable {
        public var path: String
        public var queryInput: String?
        public var contextInput: String?
    }

    /// A gateway key: who may call, stored only as a SHA-256 hash, and which models it may use.
    public struct Key: Sendable {
        public var id: Workflow.Name
        /// Lower-case hex SHA-256 of the key.
        public var hash: String
        /// Model names the key may use; nil allows every configured name.
        public var models: [String]?
        /// Requests and tokens per minute; nil is unlimited.
        public var rpm: Int?
        public var tpm: Int?
        /// US dollars per UTC day and per UTC month; nil is unlimited.
        public var usdPerDay: Double?
        public var usdPerMonth: Double?
    }

    /// The gateway's answer cache (`cache: {ttl: 10m, scope: key}`): identical requests are
    /// answered from the store, at no cost, until the answer is `ttl` old.
    public struct AnswerCache: Sendable {
        public enum Scope: String, Sendable { case key, global }
        public var ttl: Duration = .seconds(600)
        /// `key`: a gateway key reads only the answers its own requests got; `global`: every
        /// key shares them (for a gateway whose keys all serve one team).
        public var scope = Scope.key
        /// Answers larger than this are not kept.
        public var maxAnswerBytes = 1 << 20
        public init() {}
    }

    /// The gateway's answer cache; nil: only workflow steps marked `cache:` are cached.
    public var cache: AnswerCache?

    /// Named user contexts (`memory: {embed: openai/text-embedding-3-small, store: contexts.sqlite}`):
    /// the model that embeds new contexts, and the SQLite file they are kept in.
    public struct Memory: Sendable {
        /// `provider/model`; a context keeps the model it was made with.
        public var embed: String?
        /// Absolute (resolved from the config file's folder).
        public var storePath: String?
        /// A ChromaDB server instead of the SQLite file.
        public var chroma: Chroma?
        public init() {}

        public struct Chroma: Sendable, Equatable {
            public var url: String
            public var tenant = "default_tenant"
            public var database = "default_database"
        }
    }

    public var memory: Memory?

    /// Where the gateway keeps its usage ledger (a SQLite file, relative to the config).
    public var storePath: String?
    /// A PostgreSQL store shared by gateway replicas (`store.url`, `postgres://user@host:5432/db`).
    public var storeURL: String?
    /// The environment variable that holds that URL (`store.url_env`), so that its password can
    /// come from a secret rather than the config.
    public var storeURLEnv: String?
    /// How long the gateway keeps a Responses answer for `previous_response_id`
    /// (`store.response_ttl`; 30 days, as OpenAI keeps them).
    public var responseTTL: Duration = .seconds(30 * 24 * 3600)
    /// How long past `request_timeout` a budget hold lasts if its request never settles (a
    /// replica that died mid-request): `store.hold_margin`, a minute by default.
    public var holdMargin: Duration = .seconds(60)

    public var file: String

    /// A config that says nothing (every default), as a source: what a config-less start
    /// (`prellm serve --model fast=openai/gpt-4o-mini`) builds on.
    public static let empty = Source(path: "(no config file)", text: "prellm: 1\nserver: {}\n")
    public var providers: [ProviderSettings] = []
    public var server = Server()
    /// Model names the gateway serves, with the same syntax as a workflow's `models:`.
    public var models: [Workflow.ModelAlias] = []
    /// Workflow files (globs expanded, paths absolute) served as `workflow/<name>`.
    public var workflows: [ServedWorkflow] = []
    public var keys: [Key] = []

    /// The top-level keys that make a file a config file rather than a workflow.
    static let markers = ["providers", "server", "workflows", "keys", "store", "limits", "cache", "memory"]
    static let topLevelKeys = ["prellm", "providers", "server", "models", "workflows", "keys", "limits", "store", "cache", "memory"]

    /// The providers built in: each has its own wire format, address and key variable.
    public static let builtinProviders = [
        "openai", "anthropic", "gemini", "ollama", "openrouter", "vllm", "llamacpp",
        "lmstudio", "groq", "together", "deepseek", "mistral",
    ]

    /// The names a `provider/model` may start with under this config: the built-in providers
    /// and the ones it names itself.
    public var providerNames: [String] { Self.builtinProviders + providers.filter { $0.format != nil }.map(\.name.value) }

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
        // Providers first: the models below may name the ones the config defines.
        if let v = f["providers"] {
            for (name, node) in d.namedEntries(v, "'providers' must map provider names to settings") {
                if let p = provider(name, node) { config.providers.append(p) }
            }
            d.providers += config.providers.filter { $0.format != nil }.map(\.name.value)
        }
        if let v = f["server"] { config.server = server(v) }
        if let v = f["cache"] { config.cache = cache(v) }
        if let v = f["memory"] { config.memory = memory(v) }
        if let v = f["limits"] { limits(v, into: &config.server) }
        if let v = f["models"] {
            var w = WorkflowDecoder(source: d.source, providers: d.providers) { _, _, _ in nil }
            w.d = d
            config.models = w.decodeModels(v)
            d = w.d
        }
        if let v = f["workflows"], let items = d.list(v, "'workflows'") {
            for item in items {
                var query: String?, context: String?
                var patternNode = item
                if item.mapping != nil {
                    guard let g = d.fields(item, "a served workflow", allowed: Self.workflowKeys, required: ["path"]),
                        let p = g["path"]
                    else { continue }
                    patternNode = p
                    query = g["query"].flatMap { d.string($0, "'query'") }
                    context = g["user_context"].flatMap { d.string($0, "'user_context'") }
                }
                guard let pattern = d.string(patternNode, "a workflow path or glob") else { continue }
                let found = FilePaths.glob(pattern, relativeTo: d.source.path)
                if found.isEmpty {
                    d.bag.add(.importNotFound, patternNode.span, "no workflow file matches '\(pattern)'", hint: "paths are relative to this file")
                }
                config.workflows += found.map { ConfigFile.ServedWorkflow(path: $0, queryInput: query, contextInput: context) }
            }
        }
        if let v = f["keys"], let items = d.list(v, "'keys'") {
            var seen: [String: Span] = [:]
            for item in items {
                guard let k = key(item) else { continue }
                if let first = seen[k.id.value] {
                    d.bag.add(
                        .duplicateStepID, k.id.span, "key id '\(k.id.value)' is already used",
                        related: [.init(file: d.source.path, span: first, message: "first used here")])
                }
                seen[k.id.value] = k.id.span
                config.keys.append(k)
            }
        }
        if let v = f["store"], let g = d.fields(v, "'store'", allowed: Self.storeKeys) {
            if let p = g["path"].flatMap({ d.string($0, "'path'") }) { config.storePath = FilePaths.resolve(p, relativeTo: d.source.path) }
            if let u = g["url"], let url = d.string(u, "'url'") {
                if !(url.hasPrefix("postgres://") || url.hasPrefix("postgresql://")) {
                    d.bag.add(.badValue, u.span, "'url' must be a PostgreSQL URL (postgres://user@host:5432/db), found '\(url.prefix(40))'")
                } else if g["path"] != nil {
                    d.bag.add(.badValue, u.span, "a store is a SQLite 'path' or a PostgreSQL 'url', not both")
                } else {
                    config.storeURL = url
                }
            }
            if let u = g["url_env"], let name = d.string(u, "'url_env'") {
                if g["url"] != nil || g["path"] != nil {
                    d.bag.add(.conflictingKeys, u.span, "give one of 'path', 'url' and 'url_env'")
                } else if !name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) || name.isEmpty {
                    d.bag.add(.badValue, u.span, "'url_env' names an environment variable (PRELLM_STORE_URL), found '\(name.prefix(40))'")
                } else {
                    config.storeURLEnv = name
                }
            }
            if let t = g["response_ttl"].flatMap({ d.duration($0, "'response_ttl'") }) { config.responseTTL = t }
            if let t = g["hold_margin"].flatMap({ d.duration($0, "'hold_margin'") }) { config.holdMargin = t }
        }
        return config
    }

    static let providerKeys = ["format", "base_url", "api_key_env", "api_key_file", "headers", "timeouts", "health"]
    static let serverKeys = [
        "host", "port", "allow_remote_without_keys", "cors", "log_prompts", "provider_models", "hide_unhealthy", "auth",
        "client_key_models",
    ]
    static let limitKeys = [
        "max_body_bytes", "max_messages", "request_timeout", "header_timeout", "body_timeout", "idle_timeout", "max_connections",
    ]
    static let storeKeys = ["path", "url", "url_env", "response_ttl", "hold_margin"]
    static let cacheKeys = ["ttl", "scope", "max_answer_bytes"]
    static let memoryKeys = ["embed", "store"]
    static let chromaKeys = ["chroma", "tenant", "database"]
    static let keyKeys = ["id", "hash", "models", "rpm", "tpm", "usd_per_day", "usd_per_month"]
    static let workflowKeys = ["path", "query", "user_context"]
    static let timeoutKeys = ["connect", "first_token", "idle", "total"]
    static let healthKeys = ["interval", "timeout", "path"]
    /// The keys each section of a config file takes (`timeouts` and `health` are a provider's).
    /// The README's gateway section documents every one (a test checks).
    static let sectionKeys: [String: [String]] = [
        "server": serverKeys, "limits": limitKeys, "store": storeKeys, "cache": cacheKeys, "keys": keyKeys,
        "workflows": workflowKeys, "providers": providerKeys, "timeouts": timeoutKeys, "health": healthKeys,
        "memory": memoryKeys,
    ]
    /// What a provider the config names itself may speak (ProviderConfiguration.WireFormat).
    static let wireFormats = ["openai", "anthropic", "gemini", "ollama"]

    mutating func server(_ node: YAMLNode) -> ConfigFile.Server {
        var s = ConfigFile.Server()
        guard
            let f = d.fields(
                node, "'server'", allowed: Self.serverKeys)
        else { return s }
        if let v = f["auth"], let text = d.string(v, "'auth'") {
            if let auth = ConfigFile.Auth(rawValue: text) {
                s.auth = auth
            } else {
                d.bag.add(
                    .badValue, v.span, "'auth' must be gateway, client or hybrid, found '\(text)'",
                    hint: Spelling.hint(text, in: ["gateway", "client", "hybrid"]) ?? "gateway: requests carry gateway keys")
            }
        }
        if let v = f["client_key_models"], let list = d.list(v, "'client_key_models'") {
            s.clientKeyModels = list.compactMap { d.string($0, "a model name") }
            if s.auth != .hybrid {
                d.bag.add(
                    .badValue, v.span, "'client_key_models' applies only to auth: hybrid",
                    hint: "under auth: client every model takes the client's key")
            }
        } else if s.auth == .hybrid, let v = f["auth"] {
            d.bag.add(
                .missingKey, v.span, "auth: hybrid needs 'client_key_models': the model names a client's own provider key may be used for",
                hint: "client_key_models: [fast]")
        }
        if let v = f["cors"], let list = d.list(v, "'cors'") { s.cors = list.compactMap { d.string($0, "an origin") } }
        if let v = f["host"], let h = d.string(v, "'host'") { s.host = h }
        if let v = f["port"], let p = d.int(v, "'port'", min: 0, max: 65535) { s.port = p }
        if let v = f["allow_remote_without_keys"], let b = d.bool(v, "'allow_remote_without_keys'") { s.allowRemoteWithoutKeys = b }
        if let v = f["provider_models"], let b = d.bool(v, "'provider_models'") { s.providerModels = b }
        if let v = f["log_prompts"], let b = d.bool(v, "'log_prompts'") { s.logPrompts = b }
        if let v = f["hide_unhealthy"], let b = d.bool(v, "'hide_unhealthy'") { s.hideUnhealthy = b }
        return s
    }

    /// `cache: {ttl: 10m, scope: key|global, max_answer_bytes: 1048576}`.
    mutating func cache(_ node: YAMLNode) -> ConfigFile.AnswerCache? {
        guard let f = d.fields(node, "'cache'", allowed: Self.cacheKeys) else { return nil }
        var c = ConfigFile.AnswerCache()
        if let v = f["ttl"], let t = d.duration(v, "'ttl'") { c.ttl = t }
        if let v = f["scope"], let text = d.string(v, "'scope'") {
            if let scope = ConfigFile.AnswerCache.Scope(rawValue: text) {
                c.scope = scope
            } else {
                d.bag.add(
                    .badValue, v.span, "'scope' must be key or global, found '\(text)'", hint: "key: each gateway key reads only its own answers")
            }
        }
        if let v = f["max_answer_bytes"], let n = d.int(v, "'max_answer_bytes'", min: 1, max: 64 << 20) { c.maxAnswerBytes = n }
        return c
    }

    /// `memory:` says which model embeds new contexts and where contexts are kept.
    mutating func memory(_ node: YAMLNode) -> ConfigFile.Memory? {
        guard let f = d.fields(node, "'memory'", allowed: Self.memoryKeys) else { return nil }
        var m = ConfigFile.Memory()
        if let v = f["embed"], let text = d.string(v, "'embed'"),
            WorkflowDecoder.parseModel(text, v.span, providers: d.providers, into: &d.bag) != nil
        {
            m.embed = text
        }
        if let v = f["store"] {
            if v.mapping != nil {
                guard let g = d.fields(v, "'memory.store'", allowed: Self.chromaKeys, required: ["chroma"]) else { return m }
                guard let url = g["chroma"].flatMap({ d.string($0, "'chroma'") }) else { return m }
                guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
                    d.bag.add(.badValue, g["chroma"]!.span, "'chroma' must be the server's http:// or https:// address, found '\(url)'")
                    return m
                }
                var chroma = ConfigFile.Memory.Chroma(url: url)
                if let t = g["tenant"].flatMap({ d.string($0, "'tenant'") }) { chroma.tenant = t }
                if let b = g["database"].flatMap({ d.string($0, "'database'") }) { chroma.database = b }
                m.chroma = chroma
            } else if let path = d.string(v, "'store' (a SQLite file, or {chroma: URL})") {
                m.storePath = FilePaths.resolve(path, relativeTo: d.source.path)
            }
        }
        return m
    }

    /// `limits:` bounds every request: body size, message count, time.
    mutating func limits(_ node: YAMLNode, into s: inout ConfigFile.Server) {
        guard
            let f = d.fields(
                node, "'limits'", allowed: Self.limitKeys)
        else { return }
        if let v = f["max_body_bytes"], let n = d.int(v, "'max_body_bytes'", min: 1024, max: 1 << 30) { s.maxBodyBytes = n }
        if let v = f["max_messages"], let n = d.int(v, "'max_messages'", min: 1, max: 100_000) { s.maxMessages = n }
        if let v = f["request_timeout"], let t = d.duration(v, "'request_timeout'") { s.requestTimeout = t }
        if let v = f["header_timeout"], let t = d.duration(v, "'header_timeout'") { s.headerTimeout = t }
        if let v = f["body_timeout"], let t = d.duration(v, "'body_timeout'") { s.bodyTimeout = t }
        if let v = f["idle_timeout"], let t = d.duration(v, "'idle_timeout'") { s.idleTimeout = t }
        if let v = f["max_connections"], let n = d.int(v, "'max_connections'", min: 1, max: 1_000_000) { s.maxConnections = n }
    }

    mutating func key(_ node: YAMLNode) -> ConfigFile.Key? {
        guard
            let f = d.fields(
                node, "a key", allowed: Self.keyKeys,
                required: ["id", "hash"]),
            let id = f["id"].flatMap({ d.name($0, "a key's 'id'") }), let hv = f["hash"], let raw = d.string(hv, "'hash'")
        else { return nil }
        let hex = raw.hasPrefix("sha256:") ? String(raw.dropFirst(7)) : raw
        guard hex.count == 64, hex.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else {
            d.bag.add(
                .badValue, hv.span, "'hash' must be sha256: and 64 lower-case hex digits",
                hint: "create a key with `prellm keys create`; it prints the hash line")
            return nil
        }
        var models: [String]?
        if let m = f["models"], let list = d.list(m, "'models'") { models = list.compactMap { d.string($0, "a model name") } }
        var key = ConfigFile.Key(id: id, hash: hex, models: models)
        key.rpm = f["rpm"].flatMap { d.int($0, "'rpm'", min: 1) }
        key.tpm = f["tpm"].flatMap { d.int($0, "'tpm'", min: 1) }
        key.usdPerDay = f["usd_per_day"].flatMap { d.money($0, "'usd_per_day'") }
        key.usdPerMonth = f["usd_per_month"].flatMap { d.money($0, "'usd_per_month'") }
        return key
    }

    mutating func provider(_ name: Workflow.Name, _ node: YAMLNode) -> ConfigFile.ProviderSettings? {
        let builtin = WorkflowDecoder.knownProviders.contains(name.value)
        let format = node["format"]
        if !builtin, format == nil {
            d.bag.add(
                .unknownProvider, name.span, "unknown provider '\(name.value)'",
                hint: Spelling.hint(name.value, in: WorkflowDecoder.knownProviders).map { $0 + ", or give '\(name.value)' a 'format'" }
                    ?? "a provider of your own needs a wire format and an address: \(name.value): {format: openai, base_url: http://…}")
        }
        if let keySpan = node.mapping?.first(where: { $0.key.scalar?.value == "api_key" })?.key.span {
            var diagnostic = Diagnostic(
                .unknownKey, file: d.source.path, span: keySpan, message: "API keys do not go in config files",
                hint: "name the variable that holds it (api_key_env) or a file (api_key_file)")
            diagnostic.hidesSourceLine = true
            d.bag.add(diagnostic)
        }
        guard let f = d.fields(node, "provider '\(name.value)'", allowed: Self.providerKeys + (node["api_key"] != nil ? ["api_key"] : [])) else {
            return nil
        }
        var s = ConfigFile.ProviderSettings(name: name, headers: [])
        if let v = f["format"] { s.format = wireFormat(v, of: name, builtin: builtin) }
        if s.format != nil, f["base_url"] == nil {
            d.bag.add(
                .missingKey, name.span, "provider '\(name.value)' has a 'format' but no 'base_url'", hint: "say where it is: base_url: http://…")
        }
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
        if let v = f["timeouts"], let t = d.fields(v, "'timeouts'", allowed: Self.timeoutKeys) {
            s.connectTimeout = t["connect"].flatMap { d.duration($0, "'connect'") }
            s.firstTokenTimeout = t["first_token"].flatMap { d.duration($0, "'first_token'") }
            s.idleTimeout = t["idle"].flatMap { d.duration($0, "'idle'") }
            s.totalTimeout = t["total"].flatMap { d.duration($0, "'total'") }
        }
        if let v = f["health"] { s.health = health(v) }
        return s
    }

    /// The `format` of a provider the config names: one of the wire formats, and only on a
    /// name of the config's own (a built-in provider's format is fixed).
    mutating func wireFormat(_ node: YAMLNode, of name: Workflow.Name, builtin: Bool) -> String? {
        guard let text = d.string(node, "'format'") else { return nil }
        guard Self.wireFormats.contains(text) else {
            d.bag.add(
                .badValue, node.span, "unknown wire format '\(text)'",
                hint: Spelling.hint(text, in: Self.wireFormats) ?? "formats are \(Self.wireFormats.joined(separator: ", "))")
            return nil
        }
        guard !builtin else {
            d.bag.add(
                .badValue, node.span, "'\(name.value)' is a built-in provider with a wire format of its own",
                hint: "give the endpoint a name of its own to choose its format: my-\(name.value): {format: \(text), base_url: …}")
            return nil
        }
        guard name.value.utf8.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 || $0 == 95 }) else {
            d.bag.add(
                .badValue, name.span, "provider name '\(name.value)' must be lower-case letters, digits, '-' and '_'",
                hint: "it starts model names: \(name.value.lowercased())/llama3.1:8b")
            return nil
        }
        return text
    }

    mutating func health(_ node: YAMLNode) -> ConfigFile.HealthCheck? {
        var h = ConfigFile.HealthCheck()
        if node.scalar != nil { return d.bool(node, "'health'") == true ? h : nil }
        guard let f = d.fields(node, "'health'", allowed: Self.healthKeys) else { return nil }
        if let v = f["interval"], let t = d.duration(v, "'interval'") { h.interval = t }
        if let v = f["timeout"], let t = d.duration(v, "'timeout'") { h.timeout = t }
        if let v = f["path"], let path = d.string(v, "'path'") {
            if !path.hasPrefix("/") { d.bag.add(.badValue, v.span, "'path' must start with /, found '\(path)'") }
            h.path = path
        }
        return h
    }
}
