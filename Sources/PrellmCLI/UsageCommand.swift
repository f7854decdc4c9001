import Foundation
import PrellmCompiler
import PrellmSchema
import PrellmServer

/// `prellm usage --config F [--key ID] [--since DAY] [--by model|key|day]`: the gateway's spend
/// records, summed; and `prellm store migrate --config F`.
public enum UsageCommand {
    public enum Grouping: String, Sendable, CaseIterable { case model, key, day }

    public static func run(config path: String, key: String?, since: String?, by: Grouping) async -> CommandOutput {
        var out = CommandOutput()
        let (loaded, rendered) = ProviderSettings.load(path)
        guard let config = loaded else { out.stderr = rendered; out.exitCode = CommandOutput.Exit.usage; return out }
        let from = since ?? String(UsagePeriod.of(Date()).month) + "-01"
        guard from.count == 10, from.split(separator: "-").count == 3, from.allSatisfy({ $0.isNumber || $0 == "-" }) else {
            out.stderr = "prellm usage: --since takes a day, YYYY-MM-DD, found '\(from)'\n"
            out.exitCode = CommandOutput.Exit.usage
            return out
        }
        let rows: [UsageRow]
        do { rows = try await Gateway.openStore(config).usage(since: from, key: key) } catch {
            out.stderr = "prellm usage: \(error.message)\n"
            out.exitCode = CommandOutput.Exit.usage
            return out
        }
        out.stdout = table(rows, by: by, since: from)
        return out
    }

    /// One line per group, dearest first, and the total.
    static func table(_ rows: [UsageRow], by: Grouping, since: String) -> String {
        let groups = Dictionary(grouping: rows) { r in
            switch by {
            case .model: r.model
            case .key: r.key
            case .day: r.day
            }
        }
        var lines = [[by.rawValue.uppercased(), "REQUESTS", "TOKENS", "COST"]]
        let sums = groups.map { name, rs in (name, rs.reduce(0) { $0 + $1.requests }, rs.reduce(0) { $0 + $1.tokens }, rs.reduce(0.0) { $0 + $1.usd })
        }
        let ordered = by == .day ? sums.sorted { $0.0 < $1.0 } : sums.sorted { $0.3 != $1.3 ? $0.3 > $1.3 : $0.0 < $1.0 }
        for (name, requests, tokens, usd) in ordered {
            lines.append([name.isEmpty ? "(none)" : name, "\(requests)", "\(tokens)", "$" + JSONValue.number(usd).jsonText])
        }
        let total = rows.reduce(0.0) { $0 + $1.usd }
        lines.append([
            "total since \(since)", "\(rows.reduce(0) { $0 + $1.requests })", "\(rows.reduce(0) { $0 + $1.tokens })",
            "$" + JSONValue.number(total).jsonText,
        ])
        return PrellmCLI.table(lines)
    }

    /// Opens the config's store, which applies the migrations it lacks, and says its version.
    public static func migrate(config path: String) async -> CommandOutput {
        var out = CommandOutput()
        let (loaded, rendered) = ProviderSettings.load(path)
        guard let config = loaded else { out.stderr = rendered; out.exitCode = CommandOutput.Exit.usage; return out }
        do { _ = try await Gateway.openStore(config) } catch {
            out.stderr = "prellm store migrate: \(error.message)\n"
            out.exitCode = CommandOutput.Exit.usage
            return out
        }
        out.stdout =
            "the store (\(config.storeURL == nil && config.storeURLEnv == nil ? Gateway.defaultStorePath(config) : "PostgreSQL")) is at the current schema\n"
        return out
    }
}
