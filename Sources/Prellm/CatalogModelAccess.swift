import Foundation
import PrellmCompiler
import PrellmProviderKit
import PrellmProviders
import PrellmRuntime
import PrellmSchema
import Synchronization

/// The runtime's view of models from the CLI: providers from the environment (and a config
/// file's overrides), prices and capabilities from the catalog, with a program's own prices
/// (its aliases' `price:`) applied. Providers are made once per model and reused.
public final class CatalogModelAccess: ModelAccess {
    let directory: ProviderDirectory
    let catalog: ModelCatalog
    private let made = Mutex<[String: (any ChatProvider, String)]>([:])

    public init(directory: ProviderDirectory, catalog: ModelCatalog = .builtin, program: StepGraph?) {
        self.directory = directory
        self.catalog = catalog.overriding(pricesIn: program?.routes ?? [])
    }

    public func provider(for model: String) throws(ProviderError) -> (provider: any ChatProvider, model: String) {
        if let hit = made.withLock({ $0[model] }) { return hit }
        let resolved = try directory.resolve(model)
        made.withLock { $0[model] = (resolved.provider, resolved.model) }
        return resolved
    }

    public func price(for model: String) -> ModelPrice? { catalog.entry(for: model)?.price }
    public func capabilities(for model: String) -> ModelCapabilities? { catalog.entry(for: model)?.capabilities }
}

/// Writes a run's events as JSON lines to a file (the JSONL trace), flushing each line so an
/// interrupted run still leaves everything up to the interruption.
public final class FileTrace: RunEventSink {
    private let handle: FileHandle
    private let lock = Mutex<Void>(())

    public init?(path: String) {
        guard FileManager.default.createFile(atPath: path, contents: nil), let h = FileHandle(forWritingAtPath: path) else { return nil }
        handle = h
    }

    public func record(_ event: RunEvent) {
        guard let line = event.traceLine else { return }
        lock.withLock { _ in handle.write(Data((line.jsonText + "\n").utf8)) }
    }

    deinit { try? handle.close() }
}

extension ModelCatalog {
    /// The catalog with the prices that model aliases give (`price: {input, output}`), for each
    /// of their models, where a call names the model itself rather than an alias. A call through
    /// an alias is priced by that alias (`ModelRoute.price(of:lookup:)`), in its reservation and
    /// its bill alike; a model that two aliases price differently keeps the catalog's price for
    /// calls that name it directly, since neither alias's price is more its own than the other's
    /// (and which alias came last in the file must not decide a bill).
    public func overriding(pricesIn routes: [ModelRoute]) -> ModelCatalog {
        var prices: [String: ModelPrice] = [:]
        var disputed: Set<String> = []
        for route in routes {
            guard let price = route.price else { continue }
            for m in route.models {
                if let other = prices[m], other != price { disputed.insert(m) }
                prices[m] = price
            }
        }
        for m in disputed { prices[m] = nil }
        return overriding(prices: prices)
    }
}
