import Foundation
import Prellm
import PrellmCompiler
import PrellmProviderKit
import PrellmProviders
import PrellmRuntime
import PrellmSchema
import PrellmSyntax

/// A Gateway is what `prellm serve` serves: the configured model names (routed as in
/// workflows), each workflow as the model `workflow/<name>`, and the gateway keys. It is built
/// once from a config file; its handlers are in Gateway+Routes.
public final class Gateway: Sendable {
    struct ServedWorkflow: Sendable {
        var name: String
        var interpreter: Interpreter
        /// The inputs the last user message and the system message fill.
        var queryInput: String
        var contextInput: String?
    }

    public let config: ConfigFile
    let router: Interpreter
    let workflows: [String: ServedWorkflow]
    var baseContext: RunContext { contextBox }
    private let contextBox: RunContext
    let log: @Sendable (String) -> Void
    let store: any GatewayStore
    let limits: KeyLimits
    public let metrics: GatewayMetrics

    public struct StartupError: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// - Parameters:
    ///   - log: receives one JSON line per request (stderr for the command).
    ///   - store: the usage ledger; by default a SQLite file (`store.path`, else `prellm-store.sqlite`
    ///     beside the config).
    public init(config: ConfigFile, environment: [String: String], context: RunContext? = nil, store: (any GatewayStore)? = nil,
                log: @escaping @Sendable (String) -> Void = { _ in }) throws(StartupError) {
        self.config = config
        self.log = log
        if let store {
            self.store = store
        } else {
            do { self.store = try SQLiteGatewayStore(path: Self.defaultStorePath(config)) } catch { throw StartupError(message: error.message) }
        }
        limits = KeyLimits(store: self.store) { message in
            log(JSONValue.object(["level": "error", "error": .string(message), "error_kind": "store"]).jsonText)
        }
        do { router = try Interpreter(models: config.models, file: config.file) } catch {
            throw StartupError(message: error.message)
        }
        // The config's prices count for the workflows it serves, at compile time as at run time.
        let catalog = ModelCatalog.builtin.overriding(pricesIn: config.models)
        let compiler = WorkflowCompiler()
        compiler.catalog = catalog
        var served: [String: ServedWorkflow] = [:]
        for entry in config.workflows {
            let path = entry.path
            let result = compiler.compile(path: path)
            guard let workflow = result.workflow, result.graph != nil, !result.hasErrors, let interpreter = try? Interpreter(result) else {
                throw StartupError(message: "workflow \(path) does not compile:\n" + DiagnosticRenderer.text(result.diagnostics, sources: result.sources))
            }
            let name = workflow.name ?? URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
            let inputs = workflow.inputs.map(\.name.value)
            // The last user message goes to `query`, or to the one input that has no default.
            let required = workflow.inputs.filter { !$0.hasDefault }.map(\.name.value)
            guard let query = entry.queryInput ?? inputs.first(where: { $0 == "query" }) ?? (required.count == 1 ? required.first : nil) else {
                throw StartupError(message: "workflow \(path) has no 'query' input, nor exactly one input without a default: the gateway passes the last user message to it (set workflows: [{path: …, query: <input>}])")
            }
            for named in [entry.queryInput, entry.contextInput].compactMap({ $0 }) where !inputs.contains(named) {
                throw StartupError(message: "workflow \(path) has no input '\(named)'")
            }
            if served[name] != nil { throw StartupError(message: "two workflows are named '\(name)'") }
            served[name] = ServedWorkflow(name: name, interpreter: interpreter, queryInput: query,
                                          contextInput: entry.contextInput ?? (inputs.contains("user_context") ? "user_context" : nil))
        }
        workflows = served
        let overrides = config.providerOverrides
        var baseContext: RunContext
        if let context {
            baseContext = context
        } else {
            var c = RunContext(models: CatalogModelAccess(directory: ProviderDirectory(environment: environment, overrides: overrides),
                                                          catalog: catalog, workflow: nil))
            // A gateway forwards each request: identical requests are not answered from a cache
            // unless a later config option asks for it.
            c.cache = nil
            baseContext = c
        }
        metrics = GatewayMetrics(breakerModels: config.models.filter { $0.parameters.circuitBreaker != nil }.flatMap { $0.choices.map(\.id) },
                                 routing: baseContext.routing)
        if baseContext.trace == nil { baseContext.trace = metrics }
        contextBox = baseContext
        let loopback = ["127.0.0.1", "localhost", "::1"].contains(config.server.host)
        if config.keys.isEmpty, !loopback, !config.server.allowRemoteWithoutKeys {
            throw StartupError(message: "no gateway keys are configured, so the gateway listens on loopback only; set server.host to 127.0.0.1, add keys (prellm keys create), or set server.allow_remote_without_keys: true")
        }
    }

    /// Every model name a client may ask for, in order: configured names, then workflows.
    public var modelNames: [String] {
        config.models.map(\.name.value) + workflows.keys.sorted().map { "workflow/" + $0 }
    }

    /// The key a request's `Authorization: Bearer …` matches, compared by hash in constant time.
    func authenticate(_ authorization: String?) throws(GatewayError) -> ConfigFile.Key? {
        guard !config.keys.isEmpty else { return nil }
        guard let header = authorization, header.hasPrefix("Bearer "), header.count > 7 else {
            throw GatewayError(.unauthorized, "a gateway key is required: send Authorization: Bearer <key>", code: "invalid_api_key")
        }
        let hash = SHA256.hex(String(header.dropFirst(7)))
        var found: ConfigFile.Key?
        for key in config.keys where SHA256.constantTimeEquals(hash, key.hash) { found = key }
        guard let found else { throw GatewayError(.unauthorized, "the gateway key is not valid", code: "invalid_api_key") }
        let revoked: Set<String>
        do { revoked = try store.revoked() } catch { throw GatewayError(.unavailable, "the key store cannot be read") }
        if revoked.contains(found.id.value) {
            throw GatewayError(.unauthorized, "the gateway key '\(found.id.value)' has been revoked", code: "invalid_api_key")
        }
        return found
    }

    /// The store a config names (`store.path`), else `prellm-store.sqlite` beside the config.
    public static func defaultStorePath(_ config: ConfigFile) -> String {
        config.storePath ?? URL(fileURLWithPath: config.file).absoluteURL.deletingLastPathComponent().appendingPathComponent("prellm-store.sqlite").path
    }

    /// The worst case of a request, for budgets and token rate limits: estimated prompt tokens
    /// plus max_tokens, priced at the dearest model it may reach (a workflow: its dry-run bound).
    func estimate(_ chat: ChatWire.Request) -> (usd: Double?, tokens: Int) {
        if chat.model.hasPrefix("workflow/"), let w = workflows[String(chat.model.dropFirst(9))] {
            var inputs: [String: JSONValue] = [w.queryInput: .string(chat.lastUserText)]
            if let c = w.contextInput, let system = chat.system { inputs[c] = .string(system) }
            let prepared = (try? w.interpreter.prepareInputs(inputs)) ?? .object(inputs)
            let plan = DryRunPlan(w.interpreter, inputs: prepared, models: baseContext.models)
            return (plan.totalUSD, plan.totalTokens)
        }
        let alias = config.models.first { $0.name.value == chat.model }
        let choices = alias?.choices.map(\.id) ?? [chat.model]
        let prompt = Interpreter.estimatedPromptTokens(system: chat.system, messages: chat.messages)
        let output = chat.maxTokens ?? alias?.parameters.maxTokens ?? Interpreter.assumedMaxTokens
        let models = baseContext.models
        return (DryRunPlan.worstCost(of: choices, promptTokens: prompt, outputTokens: output) { models.price(for: $0) }, prompt + output)
    }

    func authorize(_ key: ConfigFile.Key?, model: String) throws(GatewayError) {
        guard let allowed = key?.models, !allowed.contains(model) else { return }
        throw GatewayError(.forbidden, "key '\(key!.id.value)' may not use model '\(model)'", code: "model_not_allowed")
    }
}
