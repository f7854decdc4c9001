import Hummingbird
import PrellmCompiler
import PrellmProviders
import PrellmRuntime

/// Who a request is (`server.auth`): a gateway key's holder, or a client with its own provider
/// key.
enum Caller: Sendable {
    /// A gateway key (nil on a gateway without keys): the gateway's provider keys go upstream.
    case gateway(GatewayKey?)
    /// A client's own provider key, passed upstream.
    case client(ClientKey)

    var gatewayKey: GatewayKey? {
        if case .gateway(let k) = self { return k }
        return nil
    }
}

extension Gateway {
    /// The caller of a request, by the key it sends (`Authorization: Bearer …` or `x-api-key`).
    /// Under `hybrid` a key the gateway does not know is taken for a provider key; whether the
    /// requested model may take one is checked once the model is known (`admitClient`).
    func caller(of request: Request) async throws(GatewayError) -> Caller {
        let presented = Self.presentedKey(request)
        switch config.server.auth {
        case .gateway:
            return .gateway(try await authenticate(request))
        case .client:
            guard let presented, !presented.isEmpty else {
                throw GatewayError(
                    .unauthorized, "this gateway passes your own provider key upstream: send Authorization: Bearer <key>",
                    code: "invalid_api_key")
            }
            return .client(ClientKey(secret: presented))
        case .hybrid:
            if let presented, !presented.isEmpty, !(await keys.knows(presented)) { return .client(ClientKey(secret: presented)) }
            return .gateway(try await authenticate(request))
        }
    }

    /// The gateway key of a request to an endpoint that runs on the gateway's own provider
    /// keys only; a client's own key is refused there rather than the gateway's spent for it.
    func gatewayCaller(of request: Request, for endpoint: String) async throws(GatewayError) -> GatewayKey? {
        guard case .gateway(let key) = try await caller(of: request) else {
            throw GatewayError(
                .forbidden,
                "\(endpoint) runs on the gateway's provider keys and needs a gateway key; a client's own key is passed on only by chat endpoints",
                code: "client_key_not_supported")
        }
        return key
    }

    static func presentedKey(_ request: Request) -> String? {
        if let a = request.headers[.authorization] { return a.hasPrefix("Bearer ") ? String(a.dropFirst(7)) : nil }
        return request.headers[apiKeyHeader]
    }

    /// A client key may be used for a model name the config allows (every one under `client`,
    /// `client_key_models` under `hybrid`) whose models are all on one provider; it returns that
    /// provider. A key the gateway does not know, for any other model, is an unknown key.
    func admitClient(_ model: String, _ target: Target) throws(GatewayError) -> String {
        let allowed = config.server.auth == .client || config.server.clientKeyModels.contains(model)
        guard allowed, case .route(let route) = target, let provider = Self.soleProvider(route) else {
            if config.server.auth == .hybrid {
                throw KeyDirectory.notValid
            }
            throw GatewayError(
                .badRequest, "'\(model)' cannot be used with a client's own key: it is a workflow, or its models are on several providers",
                param: "model", code: "model_not_allowed")
        }
        return provider
    }

    /// The one provider every model of the route is on; nil when there are several.
    static func soleProvider(_ route: ModelRoute) -> String? {
        let providers = Set(route.models.compactMap { $0.split(separator: "/", maxSplits: 1).first.map(String.init) })
        return providers.count == 1 ? providers.first : nil
    }

    /// At start: under `client` no workflow is served and every name is on one provider; under
    /// `hybrid` every `client_key_models` name is a configured one on one provider. A key must
    /// never go to a provider it was not meant for.
    static func checkClientKeys(_ config: ConfigFile, routes: [String: ModelRoute]) throws(StartupError) {
        switch config.server.auth {
        case .gateway: return
        case .client:
            if !config.workflows.isEmpty {
                throw StartupError(message: "server.auth: client serves no workflows (they run on the gateway's own provider keys); use auth: hybrid")
            }
            for (name, route) in routes where soleProvider(route) == nil {
                throw StartupError(message: "model '\(name)' reaches several providers; under server.auth: client a client's key goes to one")
            }
        case .hybrid:
            for name in config.server.clientKeyModels {
                guard let route = routes[name] else {
                    throw StartupError(message: "server.client_key_models names '\(name)', which is not a configured model name")
                }
                if soleProvider(route) == nil {
                    throw StartupError(message: "model '\(name)' in server.client_key_models reaches several providers; a client's key goes to one")
                }
            }
        }
    }
}
