import Foundation
import Hummingbird
import PrellmCompiler
import PrellmServer

/// `prellm serve --config prellm.yaml [--host H] [--port P]`: the OpenAI-compatible gateway.
/// SIGTERM and SIGINT stop accepting connections and let requests in flight finish.
public enum ServeCommand {
    public static func run(
        config path: String, host: String?, port: Int?, environment: [String: String],
        log: @escaping @Sendable (String) -> Void
    ) async -> CommandOutput {
        var out = CommandOutput()
        let (loaded, rendered) = ProviderSettings.load(path)
        guard var config = loaded else {
            out.stderr = rendered
            out.exitCode = CommandOutput.Exit.usage
            return out
        }
        if let host { config.server.host = host }
        if let port { config.server.port = port }
        let gateway: Gateway
        do {
            let store = try await Gateway.openStore(config)
            gateway = try Gateway(config: config, environment: environment, store: store, log: log)
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
        do { try await gateway.makeApplication().runService() } catch {
            out.stderr = "prellm serve: \(error)\n"
            out.exitCode = CommandOutput.Exit.failure
        }
        return out
    }
}

/// `prellm keys create|list|revoke`: gateway keys. A key is shown once when created; the
/// config keeps its hash; `list` shows each key's limits and spend; `revoke` disables a key
/// at once, through the store, without a config change or a restart.
public enum KeysCommand {
    public static func list(config path: String) async -> CommandOutput {
        var out = CommandOutput()
        let (loaded, rendered) = ProviderSettings.load(path)
        guard let config = loaded else { out.stderr = rendered; out.exitCode = CommandOutput.Exit.usage; return out }
        let store: any GatewayStore
        do { store = try await Gateway.openStore(config) } catch {
            out.stderr = "prellm keys: \(error.message)\n"
            out.exitCode = CommandOutput.Exit.usage
            return out
        }
        let revoked = (try? await store.revoked()) ?? []
        let (day, month) = UsagePeriod.of(Date())
        for key in config.keys {
            let spent = (try? await store.spent(key: key.id.value, day: day, month: month)) ?? (day: 0, month: 0)
            var parts = ["\(key.id.value)\(revoked.contains(key.id.value) ? " (revoked)" : "")"]
            parts.append("models: " + (key.models?.joined(separator: ",") ?? "all"))
            if let r = key.rpm { parts.append("rpm \(r)") }
            if let t = key.tpm { parts.append("tpm \(t)") }
            let dayLimit: String = key.usdPerDay.map { " of $\($0)" } ?? ""
            let monthLimit: String = key.usdPerMonth.map { " of $\($0)" } ?? ""
            parts.append("today $\(spent.day)\(dayLimit)")
            parts.append("this month $\(spent.month)\(monthLimit)")
            out.stdout += parts.joined(separator: "  ") + "\n"
        }
        if config.keys.isEmpty { out.stdout = "no keys: the gateway takes requests without a key, on loopback only\n" }
        return out
    }

    public static func revoke(id: String, config path: String) async -> CommandOutput {
        var out = CommandOutput()
        let (loaded, rendered) = ProviderSettings.load(path)
        guard let config = loaded else { out.stderr = rendered; out.exitCode = CommandOutput.Exit.usage; return out }
        guard config.keys.contains(where: { $0.id.value == id }) else {
            out.stderr = "prellm keys: no key '\(id)' in \(path)\n"
            out.exitCode = CommandOutput.Exit.usage
            return out
        }
        do { try await Gateway.openStore(config).revoke(key: id) } catch {
            out.stderr = "prellm keys: \(error)\n"
            out.exitCode = CommandOutput.Exit.usage
            return out
        }
        out.stdout = "revoked \(id): requests with it are refused from now on (remove it from the config when convenient)\n"
        return out
    }

    public static func create(id: String) -> CommandOutput {
        var out = CommandOutput()
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        var rng = SystemRandomNumberGenerator()
        let key = "pk-" + String((0..<40).map { _ in alphabet[Int(rng.next(upperBound: UInt32(alphabet.count)))] })
        out.stdout = """
            key:   \(key)
            (shown once; prellm keeps only its hash)

            add to the config file's keys:
              - {id: \(id), hash: "sha256:\(SHA256.hex(key))"}

            """
        return out
    }
}
