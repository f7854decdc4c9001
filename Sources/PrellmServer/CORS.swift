import HTTPTypes
import Hummingbird

/// CORS for browser clients, from `server.cors`: the listed origins (or `*`) get
/// `Access-Control-Allow-Origin`, and preflight requests are answered without reaching a route.
struct CORS<Context: RequestContext>: RouterMiddleware {
    let origins: [String]

    func allowed(_ origin: String) -> String? {
        origins.contains("*") ? "*" : origins.contains(origin) ? origin : nil
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let origin = request.headers[.origin], let allow = allowed(origin) else { return try await next(request, context) }
        if request.method == .options {
            var h = HTTPFields()
            h[.accessControlAllowOrigin] = allow
            h[.accessControlAllowMethods] = "GET, POST, OPTIONS"
            h[.accessControlAllowHeaders] = "authorization, content-type, x-api-key, x-request-id, anthropic-version"
            h[.accessControlMaxAge] = "600"
            h[.vary] = "Origin"
            return Response(status: .noContent, headers: h)
        }
        var response = try await next(request, context)
        response.headers[.accessControlAllowOrigin] = allow
        response.headers[.accessControlExposeHeaders] = "x-request-id, x-prellm-model, x-prellm-cost-usd"
        response.headers[.vary] = "Origin"
        return response
    }
}
