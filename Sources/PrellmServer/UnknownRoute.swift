import HTTPTypes
import Hummingbird

/// Answers a path or method the gateway does not serve in OpenAI's error shape, so that a
/// client with a wrong base URL (a missing `/v1`, say) is told what it asked for, not given an
/// empty 404.
struct UnknownRoute<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let e = GatewayError(
                .notFound,
                "no route \(request.method) \(request.uri.path): the gateway serves POST /v1/chat/completions, POST /v1/messages, GET /v1/models, GET /v1/models/{id}, /healthz, /readyz and /metrics",
                code: "unknown_url")
            return Gateway.error(e, requestID: request.headers[Gateway.requestID])
        }
    }
}
