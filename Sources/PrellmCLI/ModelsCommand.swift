import Foundation
import PrellmProviderKit
import PrellmProviders
import PrellmSchema

/// `prellm models [--json]`: the known models with their provider, capabilities and price.
public enum ModelsCommand {
    public static func run(json: Bool, catalog: ModelCatalog = .builtin) -> CommandOutput {
        var out = CommandOutput()
        let entries = catalog.sortedEntries
        if json {
            out.stdout =
                JSONValue.array(
                    entries.map { e in
                        let c = e.capabilities
                        return .object([
                            "id": .string(e.id), "provider": .string(e.provider), "model": .string(e.model),
                            "context_window": c.contextWindow.map { .number(Double($0)) } ?? .null,
                            "json_mode": .bool(c.jsonMode), "structured_output": .bool(c.structuredOutput), "tools": .bool(c.tools),
                            "vision": .bool(c.vision), "streaming": .bool(c.streaming), "embedding": .bool(c.embedding),
                            "dimensions": c.embeddingDimensions.map { .number(Double($0)) } ?? .null,
                            "price": e.price.map { p in
                                .object([
                                    "input": .number(p.input), "output": .number(p.output),
                                    "cached_input": p.cachedInput.map(JSONValue.number) ?? .null,
                                ])
                            } ?? .null,
                        ])
                    }
                ).prettyJSONText + "\n"
            return out
        }
        var rows = [["MODEL", "CONTEXT", "JSON", "SCHEMA", "TOOLS", "VISION", "EMBED", "IN $/M", "OUT $/M", "CACHED $/M"]]
        for e in entries {
            let c = e.capabilities
            func yes(_ b: Bool) -> String { b ? "yes" : "-" }
            func money(_ d: Double?) -> String { d.map { $0 == 0 ? "0" : String(format2: $0) } ?? "-" }
            rows.append([
                e.id, c.contextWindow.map(Self.tokens) ?? "?", yes(c.jsonMode), yes(c.structuredOutput), yes(c.tools),
                yes(c.vision), c.embedding ? c.embeddingDimensions.map { "\($0)d" } ?? "yes" : "-", e.price.map { money($0.input) } ?? "unknown",
                e.price.map { money($0.output) } ?? "unknown",
                money(e.price?.cachedInput),
            ])
        }
        out.stdout += table(rows)
        out.stdout +=
            "\nPrices are US dollars per million tokens (stdlib/models.json). Any provider/model works; unlisted models have an unknown price.\n"
        return out
    }

    static func tokens(_ n: Int) -> String {
        n >= 1_000_000 ? "\(n / 1_000_000)M" : n >= 1000 ? "\(n / 1000)k" : "\(n)"
    }
}

/// Rows as aligned columns: the first left-aligned, the others (figures) right-aligned.
func table(_ rows: [[String]]) -> String {
    let widths = rows[0].indices.map { i in rows.map { $0[i].count }.max()! }
    return rows.map { row in
        row.enumerated().map { i, cell in
            i == 0 ? cell.padding(toLength: widths[i]) : String(repeating: " ", count: widths[i] - cell.count) + cell
        }.joined(separator: "  ") + "\n"
    }.joined()
}

extension String {
    /// Dollars with two decimals, or three where the price has a tenth of a cent.
    init(format2 value: Double) {
        let hundredths = value * 100
        self = String(format: abs(hundredths - hundredths.rounded()) < 1e-9 ? "%.2f" : "%.3f", value)
    }

    func padding(toLength n: Int) -> String { self + String(repeating: " ", count: max(0, n - count)) }
}
