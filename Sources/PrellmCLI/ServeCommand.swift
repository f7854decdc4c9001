import Foundation
import Hummingbird
import PrellmCompiler
import PrellmSchema
import PrellmServer
import PrellmTelemetry

/// `prellm serve --config prellm.yaml [--host H] [--port P] [--watch]`: the OpenAI-compatible
/// gateway. SIGTERM and SIGINT stop accepting connections and let requests in flight finish;
/// SIGHUP (and, with `--watch`, a change to the config, a served workflow or a key file) reads
/// the config again (ReloadingGateway).
public enum ServeCommand {
    public static func run(
        config path: String, host: String?, port: Int?, watch: Bool = false, environment: [String: String],
        log: @escaping @Sendable (String) -> Void
    ) async -> CommandOutput {
        var out = CommandOutput()
        let (loaded, rendered) = ProviderSettings.load(path)
        guard var config = loaded else {
            out.stderr = rendered
            out.exitCode = CommandOutput.Exit.usage
            return out
        }
        let adjust: @Sendable (inout ConfigFile) -> Void = { c in
            if let host { c.server.host = host }
            if let port { c.server.port = port }
        }
        adjust(&config)
        let gateway: Gateway
        let telemetry = Telemetry.fromEnvironment(environment, version: PrellmVersion.current) { message in
            log(JSONValue.object(["level": "error", "error": .string(message), "error_kind": "telemetry"]).jsonText)
        }
        do {
            let store = try await Gateway.openStore(config)
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
        let reloading = ReloadingGateway(gateway, configPath: path, environment: environment, adjust: adjust, log: log)
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
