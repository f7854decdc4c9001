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
    let baseContext: RunContext
    let log: @Sendable (String) -> Void

    public struct StartupError: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// - Parameters:
    ///   - log: receives one JSON line per request (stderr for the command).
    public init(config: ConfigFile, environment: [String: String], context: RunContext? = nil,
                log: @escaping @Sendable (String) -> Void = { _ in }) throws(StartupError) {
        self.config = config
        self.log = log
        do { router = try Interpreter(models: config.models, file: config.file) } catch {
            throw StartupError(message: error.message)
        }
        var served: [String: ServedWorkflow] = [:]
        for path in config.workflows {
            let result = WorkflowCompiler().compile(path: path)
            guard let workflow = result.workflow, result.graph != nil, !result.hasErrors, let interpreter = try? Interpreter(result) else {
                throw StartupError(message: "workflow \(path) does not compile:\n" + DiagnosticRenderer.text(result.diagnostics, sources: result.sources))
            }
            let name = workflow.name ?? URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
            let inputs = workflow.inputs.map(\.name.value)
            // The last user message goes to `query`, or to the one input that has no default.
            let required = workflow.inputs.filter { !$0.hasDefault }.map(\.name.value)
            guard let query = inputs.first(where: { $0 == "query" }) ?? (required.count == 1 ? required.first : nil) else {
                throw StartupError(message: "workflow \(path) has no 'query' input, nor exactly one input without a default: the gateway passes the last user message to it")
            }
            if served[name] != nil { throw StartupError(message: "two workflows are named '\(name)'") }
            served[name] = ServedWorkflow(name: name, interpreter: interpreter, queryInput: query,
                                          contextInput: inputs.contains("user_context") ? "user_context" : nil)
        }
        workflows = served
        var overrides: [String: ProviderDirectory.Override] = [:]
        for p in config.providers {
            overrides[p.name.value] = ProviderDirectory.Override(baseURL: p.baseURL, apiKeyVariable: p.apiKeyEnv, apiKeyFile: p.apiKeyFile,
                                                                 headers: p.headers, origin: "providers.\(p.name.value) in \(config.file)")
        }
        baseContext = context ?? RunContext(models: CatalogModelAccess(directory: ProviderDirectory(environment: environment, overrides: overrides),
                                                                       workflow: Workflow(file: config.file, models: config.models)))
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
        return found
    }

    func authorize(_ key: ConfigFile.Key?, model: String) throws(GatewayError) {
        guard let allowed = key?.models, !allowed.contains(model) else { return }
        throw GatewayError(.forbidden, "key '\(key!.id.value)' may not use model '\(model)'", code: "model_not_allowed")
    }
}
