import HTTPTypes
import Hummingbird

/// `X-Content-Type-Options: nosniff` on every answer, so that a browser never reads a model's
/// text (or an error echoing it) as HTML or script; and no `Server` header naming what the
/// gateway runs on.
struct SecurityHeaders<Context: RequestContext>: RouterMiddleware {
    static var noSniff: HTTPField.Name { HTTPField.Name("X-Content-Type-Options")! }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do { response = try await next(request, context) } catch let e as any HTTPResponseError {
            // An error thrown past the routes (a 405, say) gets the headers too.
            response = try e.response(from: request, context: context)
        }
        response.headers[Self.noSniff] = "nosniff"
        response.headers[.server] = nil
        return response
    }
}
