import HTTPTypes
import Hummingbird

/// Answers a path or method the gateway does not serve in OpenAI's error shape, so that a
/// client with a wrong base URL (a missing `/v1`, say) is told what it asked for, not given an
/// empty 404.
extension Gateway {
    /// Every endpoint the gateway serves, in one place: the 404 message, `prellm serve --help`
    /// and (checked by a test) the README read it.
    public static let endpoints = [
        "POST /v1/chat/completions", "POST /v1/responses", "GET /v1/responses/{id}", "DELETE /v1/responses/{id}",
        "POST /v1/messages", "POST /v1/messages/count_tokens", "POST /v1/embeddings", "GET /v1/models", "GET /v1/models/{id}",
        "GET /healthz", "GET /readyz", "GET /metrics",
    ]
}

struct UnknownRoute<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let e = GatewayError(
                .notFound,
                "no route \(request.method) \(request.uri.path): the gateway serves \(Gateway.endpoints.joined(separator: ", "))",
                code: "unknown_url")
            return Gateway.error(e, requestID: request.headers[Gateway.requestID])
        }
    }
}
