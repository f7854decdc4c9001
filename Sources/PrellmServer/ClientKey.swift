import PrellmProviderKit
import PrellmProviders
import PrellmRuntime

/// A provider key a client sent for itself (`server.auth: client`, or `hybrid` for the
/// `client_key_models`): it goes to the one provider the requested model is on, and nowhere
/// else: not to a log line, a metric, a trace, the store or a cache key. Printing it prints
/// a placeholder, so that a careless interpolation cannot leak it.
struct ClientKey: Sendable, CustomStringConvertible {
    let secret: String
    var description: String { "[client key]" }
}

/// The runtime's view of models for a request that brings its own provider key: providers are
/// made with that key, for the one provider it is meant for only; prices and capabilities are
/// the gateway's.
struct ClientKeyAccess: ModelAccess {
    let base: any ModelAccess
    let directory: ProviderDirectory
    let provider: String

    init(base: any ModelAccess, directory: ProviderDirectory, provider: String, key: ClientKey) {
        self.base = base
        self.directory = directory.withKey(key.secret, for: provider)
        self.provider = provider
    }

    func provider(for model: String) throws(ProviderError) -> (provider: any ChatProvider, model: String) {
        let (name, _) = try directory.split(model)
        guard name == provider else {
            throw ProviderError(provider: name, kind: .configuration, message: "a client's own key goes only to \(provider), not to \(name)")
        }
        return try directory.resolve(model)
    }

    func price(for model: String) -> ModelPrice? { base.price(for: model) }
    func capabilities(for model: String) -> ModelCapabilities? { base.capabilities(for: model) }
}
