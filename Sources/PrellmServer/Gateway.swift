import Foundation
import NIOCore
import NIOPosix
import Prellm
import PrellmCompiler
import PrellmProviderKit
import PrellmProviders
import PrellmRuntime
import PrellmSchema
import PrellmSyntax
import PrellmTelemetry

/// A Gateway is what `prellm serve` serves: the configured model names (routed as in
/// workflows), each workflow as the model `workflow/<name>`, and the gateway keys. It is built
/// once from a config file; its handlers are in Gateway+Routes.
public final class Gateway: Sendable {
    /// A workflow served as the model `workflow/<name>`: its program, and which inputs a chat
    /// request fills.
    struct ServedWorkflow: Sendable {
        var name: String
        var program: StepGraph
        /// The input the last user message goes to, and the one the system message goes to.
        var queryInput: String
        var contextInput: String?

        func inputs(for chat: ChatWire.Request) -> [String: JSONValue] {
            var inputs: [String: JSONValue] = [queryInput: .string(chat.lastUserText)]
            if let c = contextInput, let system = chat.system { inputs[c] = .string(system) }
            return inputs
        }
    }

    /// What a request's `model` names.
    enum Target: Sendable {
        case workflow(ServedWorkflow)
        case route(ModelRoute)
    }

    public let config: ConfigFile
    /// The configured model names, as routes.
    let routes: [String: ModelRoute]
    let workflows: [String: ServedWorkflow]
    var baseContext: RunContext { contextBox }
    private let contextBox: RunContext
    let log: @Sendable (String) -> Void
    let store: any GatewayStore
    let limits: KeyLimits
    let keys: KeyDirectory
    public let metrics: GatewayMetrics
    /// Active health checks of the providers that ask for them (`providers.NAME.health`).
    let health: HealthMonitor?
    /// Answers kept in the store, for the config's `cache:` and workflow steps marked `cache:`.
    let answers: GatewayAnswerCache
    /// The providers, for requests that bring their own provider key.
    let directory: ProviderDirectory
    /// The OpenTelemetry tracer (`OTEL_EXPORTER_OTLP_ENDPOINT`…): a SERVER span per chat
    /// request, and the runs' spans under it; nil when traces are off.
    public let tracer: Tracer?

    public struct StartupError: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// - Parameters:
    ///   - log: receives one JSON line per request (stderr for the command).
    ///   - store: the usage ledger; by default a SQLite file (`store.path`, else `prellm-store.sqlite`
    ///     beside the config).
    public init(
        config: ConfigFile, environment: [String: String], context: RunContext? = nil, store: (any GatewayStore)? = nil,
        previous: Gateway? = nil, tracer: Tracer? = nil, log: @escaping @Sendable (String) -> Void = { _ in }
    ) throws(StartupError) {
        self.config = config
        self.log = log
        self.tracer = tracer ?? previous?.tracer
        if let store = store ?? previous?.store {
            self.store = store
        } else {
            do { self.store = try SQLiteGatewayStore(path: Self.defaultStorePath(config)) } catch { throw StartupError(message: error.message) }
        }
        // A hold outlives the longest request by the margin (a minute) before it lapses.
        limits = KeyLimits(store: self.store, holdLifetime: config.server.requestTimeout + config.holdMargin) { event in
            switch event {
            case .error(let m): log(JSONValue.object(["level": "error", "error": .string(m), "error_kind": "store"]).jsonText)
            case .recovered(let m): log(JSONValue.object(["level": "info", "message": .string(m), "kind": "store"]).jsonText)
            }
        }
        keys = KeyDirectory(store: self.store, configKeys: config.keys.map(ConfigKey.init)) { message in
            log(JSONValue.object(["level": "error", "error": .string(message), "error_kind": "store"]).jsonText)
        }
        routes = Dictionary(config.models.map { ($0.name.value, ModelRoute($0)) }, uniquingKeysWith: { a, _ in a })
        // The config's prices count for the workflows it serves, at compile time as at run time.
        let catalog = ModelCatalog.builtin.overriding(pricesIn: config.models.map(ModelRoute.init))
        let compiler = WorkflowCompiler()
        compiler.catalog = catalog
        compiler.providers = config.providerNames
        var served: [String: ServedWorkflow] = [:]
        for entry in config.workflows {
            let path = entry.path
            let result = compiler.compile(path: path)
            guard let workflow = result.workflow, let program = result.graph, !result.hasErrors else {
                throw StartupError(
                    message: "workflow \(path) does not compile:\n" + DiagnosticRenderer.text(result.diagnostics, sources: result.sources))
            }
            let name = workflow.name ?? URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
            let inputs = workflow.inputs.map(\.name.value)
            // The last user message goes to `query`, or to the one input that has no default.
            let required = workflow.inputs.filter { !$0.hasDefault }.map(\.name.value)
            guard let query = entry.queryInput ?? inputs.first(where: { $0 == "query" }) ?? (required.count == 1 ? required.first : nil) else {
                throw StartupError(
                    message:
                        "workflow \(path) has no 'query' input, nor exactly one input without a default: the gateway passes the last user message to it (set workflows: [{path: …, query: <input>}])"
                )
            }
            for named in [entry.queryInput, entry.contextInput].compactMap({ $0 }) where !inputs.contains(named) {
                throw StartupError(message: "workflow \(path) has no input '\(named)'")
            }
            if served[name] != nil { throw StartupError(message: "two workflows are named '\(name)'") }
            served[name] = ServedWorkflow(
                name: name, program: program, queryInput: query,
                contextInput: entry.contextInput ?? (inputs.contains("user_context") ? "user_context" : nil))
        }
        workflows = served
        try Self.checkClientKeys(config, routes: routes)
        let directory = ProviderDirectory(environment: environment, overrides: config.providerOverrides)
        self.directory = directory
        var baseContext: RunContext
        if let context {
            baseContext = context
        } else {
            // Each request gets the cache of its key (GatewayAnswerCache.forRequest). A reload
            // keeps the breakers, latency averages and calls in flight of the gateway before.
            baseContext = RunContext(
                models: CatalogModelAccess(directory: directory, catalog: catalog, program: nil),
                routing: previous?.baseContext.routing ?? RoutingState(), cache: nil)
        }
        if baseContext.memory == nil, served.values.contains(where: { $0.program.usesContexts }) {
            do { baseContext.memory = try ContextStores.open(config.memory, environment: environment) } catch {
                throw StartupError(message: "the context store (memory:): \(error.message)")
            }
        }
        let breakers = config.models.filter { $0.parameters.circuitBreaker != nil }.flatMap { $0.choices.map(\.id) }
        if let previous, previous.baseContext.routing === baseContext.routing {
            // The counters go on across a reload.
            metrics = previous.metrics
            metrics.setBreakerModels(breakers)
        } else {
            metrics = GatewayMetrics(breakerModels: breakers, routing: baseContext.routing)
        }
        if baseContext.events == nil { baseContext.events = metrics }
        answers = GatewayAnswerCache(store: self.store, metrics: metrics, maxAnswerBytes: (config.cache ?? .init()).maxAnswerBytes, log: log)
        if let tracer = self.tracer {
            baseContext.events = FanOut((baseContext.events.map { [$0] } ?? []) + [tracer])
            baseContext.tracing = tracer
        }
        contextBox = baseContext
        health = try Self.healthMonitor(config, directory, routing: baseContext.routing)
    }

    /// The monitor of the providers whose config asks for health checks; nil when none does.
    static func healthMonitor(_ config: ConfigFile, _ directory: ProviderDirectory, routing: RoutingState) throws(StartupError) -> HealthMonitor? {
        var upstreams: [HealthMonitor.Upstream] = []
        for p in config.providers {
            guard let check = p.health else { continue }
            let provider: any ChatProvider
            do { provider = try directory.provider(named: p.name.value) } catch {
                throw StartupError(message: "provider '\(p.name.value)' has health checks but cannot be set up: \(error.message)")
            }
            guard let probe = provider as? any HealthProbing else {
                throw StartupError(message: "provider '\(p.name.value)' cannot be health-checked")
            }
            upstreams.append(.init(name: p.name.value, probe: probe, path: check.path ?? probe.defaultHealthPath, check: check))
        }
        return upstreams.isEmpty ? nil : HealthMonitor(upstreams: upstreams, routing: routing)
    }

    /// Runs the process's Swift tasks on the gateway's event loops instead of a thread pool of
    /// their own: a request then no longer hops from the thread that read it to another that
    /// handles it and back to write the answer. Called once, by `prellm serve`, before it
    /// starts anything else; nothing the gateway runs may block a thread (SQLite and the HTTP
    /// client have threads of their own).
    public static func runTasksOnEventLoops() {
        NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
    }

    /// Whether any `provider/model` may be asked for, besides the configured names.
    var servesProviderModels: Bool { config.server.providerModels ?? config.models.isEmpty }

    /// Every model name a client may ask for, in order: configured names, workflows, then —
    /// when `provider/model` names are served — the catalogued models (any other
    /// `provider/model` works too, but cannot be listed).
    public var modelNames: [String] {
        let named = config.models.map(\.name.value) + workflows.keys.sorted().map { "workflow/" + $0 }
        guard servesProviderModels else { return named }
        return named + ModelCatalog.builtin.entries.keys.sorted().filter { !named.contains($0) }
    }

    /// The key a request's `Authorization: Bearer …` names, from the gateway's copy of the
    /// store's keys (no store read).
    func authenticate(_ authorization: String?) async throws(GatewayError) -> GatewayKey? {
        let bearer = authorization.flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil }
        return try await keys.authenticate(bearer)
    }

    /// Loads the keys (the config's into the store first) and checks that a gateway without
    /// any listens on loopback only; `prellm serve` calls it before it listens.
    public func prepare() async throws(StartupError) {
        let snapshot: KeyDirectory.Snapshot
        do { snapshot = try await keys.snapshot() } catch { throw StartupError(message: error.message) }
        let loopback = ["127.0.0.1", "localhost", "::1"].contains(config.server.host)
        // Under auth: client the upstream checks each request's own key.
        if snapshot.count == 0, !loopback, !config.server.allowRemoteWithoutKeys, config.server.auth != .client {
            throw StartupError(
                message:
                    "no gateway keys are configured, so the gateway listens on loopback only; set server.host to 127.0.0.1, add keys (prellm keys create), or set server.allow_remote_without_keys: true"
            )
        }
    }

    /// The store a config names: PostgreSQL at `store.url`, else the SQLite file at
    /// `store.path` (default `prellm-store.sqlite` beside the config).
    /// `environment` holds the variable `store.url_env` names.
    public static func openStore(
        _ config: ConfigFile, environment: [String: String] = ProcessInfo.processInfo.environment
    )
        async throws(StoreError) -> any GatewayStore
    {
        if let url = config.storeURL { return try await PostgresGatewayStore.connect(url) }
        if let name = config.storeURLEnv {
            // The value holds a password: it is never quoted back.
            guard let url = environment[name], !url.isEmpty else { throw StoreError("store.url_env names \(name), which is not set") }
            guard url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") else {
                throw StoreError("\(name) (store.url_env) must hold a PostgreSQL URL, postgres://user:password@host:5432/db")
            }
            return try await PostgresGatewayStore.connect(url)
        }
        return try SQLiteGatewayStore(path: defaultStorePath(config))
    }

    /// The store a config names (`store.path`), else `prellm-store.sqlite` beside the config.
    public static func defaultStorePath(_ config: ConfigFile) -> String {
        config.storePath
            ?? URL(fileURLWithPath: config.file).absoluteURL.deletingLastPathComponent().appendingPathComponent("prellm-store.sqlite").path
    }

    /// The route or workflow a request's `model` names: a configured name, `workflow/<name>`,
    /// or, when no names are configured, any `provider/model`.
    func target(_ model: String) throws(GatewayError) -> Target {
        if model.hasPrefix("workflow/"), let w = workflows[String(model.dropFirst(9))] { return .workflow(w) }
        if let r = routes[model] { return .route(r) }
        if servesProviderModels, !model.hasPrefix("workflow/"), let r = ModelRoute(naming: model, providers: config.providerNames) {
            return .route(r)
        }
        throw GatewayError(.notFound, "the model '\(model)' does not exist", param: "model", code: "model_not_found")
    }

    /// The most a request can cost, for budgets, and the tokens it counts against a per-minute
    /// limit. A workflow's is its program's CostBound for the request's inputs (nil where it has
    /// no bound); a routed call's is CostBound's rule for one call: every model it can reach,
    /// each with its retries. Its tokens are one attempt's: a rate limit counts throughput.
    func bound(_ chat: ChatWire.Request, _ target: Target) -> (usd: Double?, tokens: Int?) {
        let models = baseContext.models
        switch target {
        case .workflow(let w):
            let b = w.program.costBound(CostContext(program: w.program, inputs: w.inputs(for: chat), price: { models.price(for: $0) }))
            return (b.maxCostUSD, b.maxTokens)
        case .route(let route):
            let prompt = TokenEstimate.promptTokens(system: chat.system, messages: chat.messages, format: chat.format, tools: chat.tools)
            let output = chat.maxTokens ?? route.maxTokens
            let b = route.callBound(promptTokens: prompt, maxTokens: output) { models.price(for: $0) }
            return (b.usd, prompt + output)
        }
    }

    func authorize(_ key: GatewayKey?, model: String) throws(GatewayError) {
        guard let allowed = key?.models, !allowed.contains(model) else { return }
        throw GatewayError(.forbidden, "key '\(key!.id)' may not use model '\(model)'", code: "model_not_allowed")
    }
}
