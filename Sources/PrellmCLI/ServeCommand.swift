import Foundation
import Hummingbird
import PrellmCompiler
import PrellmServer

/// `prellm serve --config prellm.yaml [--host H] [--port P]`: the OpenAI-compatible gateway.
/// SIGTERM and SIGINT stop accepting connections and let requests in flight finish.
public enum ServeCommand {
    public static func run(config path: String, host: String?, port: Int?, environment: [String: String],
                           log: @escaping @Sendable (String) -> Void) async -> CommandOutput {
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
        do { gateway = try Gateway(config: config, environment: environment, log: log) } catch {
            out.stderr = "prellm serve: \(error.message)\n"
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

/// `prellm keys create [--id NAME]`: a new gateway key, shown once, and the line to put in the config.
public enum KeysCommand {
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
