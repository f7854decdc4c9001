import Foundation
import Hummingbird
import PrellmCompiler
import PrellmSchema
import PrellmSyntax
import Synchronization

/// A ReloadingGateway serves one Gateway at a time and replaces it when the config is read
/// again (SIGHUP, or `prellm serve --watch` when a file changes): the config, its models and
/// workflows, and the provider keys in their files. A config that does not compile is refused
/// with its diagnostics in the log, and the old one goes on serving. A request is answered by
/// the gateway that was current when it arrived, so requests in flight finish on the
/// configuration they started with. The store, the metrics and the routing state (breakers,
/// latency averages, calls in flight) carry over; the listening address, connection limits,
/// CORS origins and the store's location take effect on a restart (a reload says so).
public final class ReloadingGateway: Sendable {
    private let current: Mutex<Gateway>
    private let busy = Mutex(false)
    /// The config file; nil for a config-less start (`prellm serve --model …`), whose reload
    /// reads the served workflows again under an empty config that `adjust` fills in.
    let path: String?
    let environment: [String: String]
    /// What the command line sets over the config (`--host`, `--port`, `--model`, `--workflow`).
    let adjust: @Sendable (inout ConfigFile) -> Void
    let log: @Sendable (String) -> Void

    public init(
        _ gateway: Gateway, configPath: String?, environment: [String: String],
        adjust: @escaping @Sendable (inout ConfigFile) -> Void = { _ in }, log: @escaping @Sendable (String) -> Void
    ) {
        current = Mutex(gateway)
        path = configPath
        self.environment = environment
        self.adjust = adjust
        self.log = log
    }

    public var gateway: Gateway { current.withLock { $0 } }

    public func makeApplication() -> some ApplicationProtocol {
        let server = gateway.config.server
        return Gateway.makeApplication(server, router: Gateway.makeRouter(cors: server.cors) { [self] in gateway })
    }

    /// Reads the config again and serves it; false when it was refused (the old one serves on).
    @discardableResult
    public func reload() async -> Bool {
        guard
            busy.withLock({ b in
                defer { b = true }; return !b
            })
        else {
            log(Self.line(["level": "warning", "event": "reload_skipped", "message": "a reload is already under way"]))
            return false
        }
        defer { busy.withLock { $0 = false } }
        let old = gateway
        guard var config = compiled() else { return false }
        adjust(&config)
        let next: Gateway
        do {
            next = try Gateway(config: config, environment: environment, previous: old, log: log)
            try await next.prepare()
        } catch {
            log(Self.line(["level": "error", "event": "reload_rejected", "error": .string(error.message)]))
            return false
        }
        current.withLock { $0 = next }
        for setting in Self.restartOnly(old.config, config) {
            log(Self.line(["level": "warning", "event": "reload", "message": .string("\(setting) changed: it takes effect on a restart")]))
        }
        log(
            Self.line([
                "event": "reloaded", "models": .number(Double(next.modelNames.count)), "workflows": .number(Double(next.workflows.count)),
            ]))
        return true
    }

    /// The config file compiled, or nil with its diagnostics logged.
    func compiled() -> ConfigFile? {
        let result = path.map { WorkflowCompiler().compile(path: $0) } ?? WorkflowCompiler().compile(source: ConfigFile.empty)
        guard let config = result.config, !result.hasErrors else {
            let text = DiagnosticRenderer.text(result.diagnostics, sources: result.sources)
            let why = result.config == nil && !result.hasErrors ? "\(path ?? "the config") is not a config file" : text
            log(Self.line(["level": "error", "event": "reload_rejected", "error": .string("the config was not reloaded: " + why)]))
            return nil
        }
        return config
    }

    /// Settings a reload reads but cannot apply to a running server.
    static func restartOnly(_ a: ConfigFile, _ b: ConfigFile) -> [String] {
        var out: [String] = []
        if a.server.host != b.server.host || a.server.port != b.server.port { out.append("the listening address") }
        if a.server.cors != b.server.cors { out.append("server.cors") }
        if a.server.headerTimeout != b.server.headerTimeout || a.server.bodyTimeout != b.server.bodyTimeout
            || a.server.idleTimeout != b.server.idleTimeout || a.server.maxConnections != b.server.maxConnections
        {
            out.append("the connection limits")
        }
        if a.storePath != b.storePath || a.storeURL != b.storeURL || a.storeURLEnv != b.storeURLEnv { out.append("the store") }
        return out
    }

    /// The files a reload reads: the config, the served workflows, the provider key files.
    public var watchedFiles: [String] {
        let config = gateway.config
        return (path.map { [$0] } ?? []) + config.workflows.map(\.path) + config.providers.compactMap(\.apiKeyFile)
    }

    /// Reloads whenever a watched file changes (polled every `interval`), until cancelled.
    public func watch(every interval: Duration = .seconds(1)) async {
        var last = Self.stamps(watchedFiles)
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            let now = Self.stamps(watchedFiles)
            guard now != last else { continue }
            last = now
            await reload()
            last = Self.stamps(watchedFiles)
        }
    }

    /// Each file's modification time and size ("" when it is missing).
    static func stamps(_ files: [String]) -> [String: String] {
        var out: [String: String] = [:]
        for f in files {
            let a = try? FileManager.default.attributesOfItem(atPath: f)
            let date = (a?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            out[f] = a.map { _ in "\(date) \((a?[.size] as? Int) ?? 0)" } ?? ""
        }
        return out
    }

    static func line(_ fields: [String: JSONValue]) -> String { JSONValue.object(fields).jsonText }
}
