import Foundation
import Hummingbird
import PrellmCompiler
import PrellmSchema
import PrellmSyntax
import PrellmServer
import PrellmTelemetry

/// `prellm serve --config prellm.yaml [--host H] [--port P] [--model NAME=PROVIDER/MODEL]…
/// [--workflow FILE]… [--watch]`: the OpenAI-compatible gateway. With models or workflows as
/// flags and no config file it starts config-less (every setting at its default); with both,
/// the flags add to the config's, a flag's model taking the place of the config's of its name.
/// The gateway. SIGTERM and SIGINT stop accepting connections and let requests in flight finish;
/// SIGHUP (and, with `--watch`, a change to the config, a served workflow or a key file) reads
/// the config again (ReloadingGateway).
public enum ServeCommand {
    public static func run(
        config path: String, configGiven: Bool = true, host: String?, port: Int?, models: [String] = [], workflows: [String] = [],
        watch: Bool = false, environment: [String: String], log: @escaping @Sendable (String) -> Void
    ) async -> CommandOutput {
        var out = CommandOutput()
        let flags: ConfigFile?
        do { flags = try ServeFlags.config(models: models, workflows: workflows) } catch {
            out.stderr = "prellm serve: " + error.message
            out.exitCode = CommandOutput.Exit.usage
            return out
        }
        // Config-less: flags name what to serve, and no config file was asked for or is there.
        let fileThere = configGiven || FileManager.default.fileExists(atPath: path)
        if flags == nil, !fileThere {
            out.stderr =
                "prellm serve: no \(path) here: give one with --config FILE, or name what to serve: --model fast=openai/gpt-4o-mini, --workflow FILE\n"
            out.exitCode = CommandOutput.Exit.usage
            return out
        }
        let file: String? = fileThere ? path : nil
        let (loaded, rendered) = file.map(ProviderSettings.load) ?? ProviderSettings.load(source: ConfigFile.empty)
        guard var config = loaded else {
            out.stderr = rendered
            out.exitCode = CommandOutput.Exit.usage
            return out
        }
        // The address: a flag, else PRELLM_HOST / PRELLM_PORT (the container image sets them, so
        // that `docker run … IMAGE serve --model …` listens beyond the container), else the config.
        let host = host ?? environment["PRELLM_HOST"].flatMap { $0.isEmpty ? nil : $0 }
        var port = port
        if port == nil, let given = environment["PRELLM_PORT"], !given.isEmpty {
            guard let n = Int(given), (1...65535).contains(n) else {
                out.stderr = "prellm serve: PRELLM_PORT must be a port number (1 to 65535), found '\(given.prefix(20))'\n"
                out.exitCode = CommandOutput.Exit.usage
                return out
            }
            port = n
        }
        // The container image sets it: inside a container every interface must listen, and what
        // is reachable is what `-p` publishes (docs/deploying.md).
        let remoteWithoutKeys = environment["PRELLM_ALLOW_REMOTE_WITHOUT_KEYS"] == "1"
        let adjust: @Sendable (inout ConfigFile) -> Void = { [port] c in
            if remoteWithoutKeys { c.server.allowRemoteWithoutKeys = true }
            if let host { c.server.host = host }
            if let port { c.server.port = port }
            if let flags { ServeFlags.merge(flags, into: &c) }
        }
        adjust(&config)
        let gateway: Gateway
        let telemetry = Telemetry.fromEnvironment(environment, version: PrellmVersion.current) { message in
            log(JSONValue.object(["level": "error", "error": .string(message), "error_kind": "telemetry"]).jsonText)
        }
        do {
            let store = try await Gateway.openStore(config, environment: environment)
            gateway = try Gateway(config: config, environment: environment, store: store, tracer: telemetry?.tracer, log: log)
            try await gateway.prepare()
        } catch let e as StoreError {
            out.stderr = "prellm serve: \(e.message)\n"
            out.exitCode = CommandOutput.Exit.usage
            return out
        } catch {
            out.stderr = "prellm serve: \(error)\n"
            out.exitCode = CommandOutput.Exit.usage
            return out
        }
        log(#"{"event":"listening","host":"\#(config.server.host)","port":\#(config.server.port),"models":\#(gateway.modelNames.count)}"#)
        let reloading = ReloadingGateway(gateway, configPath: file, environment: environment, adjust: adjust, log: log)
        let hangup = reloadOnHangup(reloading)
        let watcher = watch ? Task { await reloading.watch() } : nil
        defer {
            hangup.cancel()
            watcher?.cancel()
        }
        do { try await reloading.makeApplication().runService() } catch {
            out.stderr = "prellm serve: \(error)\n"
            out.exitCode = CommandOutput.Exit.failure
        }
        // The last requests' spans go out before the gateway does.
        await telemetry?.exporter.shutdown(timeout: .seconds(5))
        return out
    }

    /// SIGHUP reloads the config, as daemons do.
    static func reloadOnHangup(_ reloading: ReloadingGateway) -> any DispatchSourceSignal {
        signal(SIGHUP, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        source.setEventHandler { Task { await reloading.reload() } }
        source.resume()
        return source
    }
}

/// `--model NAME=PROVIDER/MODEL` and `--workflow FILE`, read as the config section they stand
/// for (`models: {NAME: PROVIDER/MODEL}`, `workflows: [{path: FILE}]`), so that they are checked
/// exactly as a config's are.
enum ServeFlags {
    struct Failure: Error { var message: String }

    static let source = "(--model and --workflow flags)"

    static func config(models: [String], workflows: [String]) throws(Failure) -> ConfigFile? {
        guard !models.isEmpty || !workflows.isEmpty else { return nil }
        var yaml = ConfigFile.empty.text
        if !models.isEmpty { yaml += "models:\n" }
        var seen = Set<String>()
        for flag in models {
            let parts = flag.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw Failure(message: "--model takes NAME=PROVIDER/MODEL (e.g. fast=openai/gpt-4o-mini), found '\(flag)'\n")
            }
            guard seen.insert(parts[0]).inserted else { throw Failure(message: "--model names '\(parts[0])' twice\n") }
            yaml += "  \(JSONValue.string(parts[0]).jsonText): \(JSONValue.string(parts[1]).jsonText)\n"
        }
        if !workflows.isEmpty { yaml += "workflows:\n" }
        for file in workflows {
            yaml += "  - {path: \(JSONValue.string(URL(fileURLWithPath: file).standardizedFileURL.path).jsonText)}\n"
        }
        let (config, rendered) = ProviderSettings.load(source: Source(path: source, text: yaml))
        guard let config else { throw Failure(message: "\n" + rendered) }
        return config
    }

    /// The flags' models and workflows over the config's: a model of the same name is replaced.
    static func merge(_ flags: ConfigFile, into config: inout ConfigFile) {
        let names = Set(flags.models.map(\.name.value))
        config.models = config.models.filter { !names.contains($0.name.value) } + flags.models
        config.workflows += flags.workflows
    }
}
