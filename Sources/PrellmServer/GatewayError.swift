import PrellmProviderKit
import PrellmRuntime
import PrellmSchema

/// A GatewayError knows its HTTP status and renders as OpenAI's error body
/// (`{"error": {"message", "type", "param", "code"}}`), so OpenAI clients raise the right exception.
public struct GatewayError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable {
        case badRequest, unauthorized, forbidden, notFound, tooLarge, rateLimited, upstream, timeout, unavailable
        /// prellm itself went wrong (a bug it caught rather than ran).
        case `internal`
    }

    public var kind: Kind
    /// What the client is told: `detail` without the addresses of the network behind the
    /// gateway (`Redaction`).
    public var message: String
    /// The whole message, for the gateway's log.
    public var detail: String
    public var param: String?
    public var code: String?
    public var retryAfter: Duration?

    init(_ kind: Kind, _ message: String, param: String? = nil, code: String? = nil, retryAfter: Duration? = nil) {
        self.kind = kind
        self.message = Redaction.forClient(message)
        self.detail = message
        self.param = param
        self.code = code
        self.retryAfter = retryAfter
    }

    public var description: String { detail }

    var status: Int {
        switch kind {
        case .badRequest: 400
        case .unauthorized: 401
        case .forbidden: 403
        case .notFound: 404
        case .tooLarge: 413
        case .rateLimited: 429
        case .upstream: 502
        case .timeout: 504
        case .unavailable: 503
        case .internal: 500
        }
    }

    var type: String {
        switch kind {
        case .badRequest, .notFound, .tooLarge: "invalid_request_error"
        case .unauthorized: "authentication_error"
        case .forbidden: "permission_error"
        case .rateLimited: "rate_limit_error"
        case .upstream, .timeout, .unavailable, .internal: "api_error"
        }
    }

    var body: JSONValue {
        .object([
            "error": .object([
                "message": .string(message), "type": .string(type),
                "param": param.map(JSONValue.string) ?? .null, "code": code.map(JSONValue.string) ?? .null,
            ])
        ])
    }

    /// What a failed run or call means for the client.
    static func from(_ e: RunError) -> GatewayError {
        switch e.kind {
        case .budgetExceeded: return GatewayError(.forbidden, e.message, code: "budget_exceeded")
        case .invalidInput: return GatewayError(.badRequest, e.message)
        case .timeout: return GatewayError(.timeout, e.message)
        case .cancelled: return GatewayError(.unavailable, e.message)
        case .modelsFailed:
            // Answer as the upstream did when every model failed the same way; a mix is a 502.
            let kinds = Set(e.causes)
            if kinds.contains(.contextTooLong) { return GatewayError(.badRequest, e.message, code: "context_length_exceeded") }
            if kinds.contains(.badRequest) { return GatewayError(.badRequest, e.message) }
            if kinds == [.rateLimit] {
                // The upstream's own Retry-After reaches the client.
                return GatewayError(.rateLimited, e.message, code: "rate_limit_exceeded", retryAfter: e.retryAfter)
            }
            if kinds == [.timeout] { return GatewayError(.timeout, e.message, code: "upstream_timeout") }
            // The upstream refused the key: the gateway's own is a 502 (the client cannot fix
            // it); a client's own key makes it a 401 (Gateway.handleChat).
            if kinds == [.auth] { return GatewayError(.upstream, e.message, code: "upstream_auth") }
            return GatewayError(.upstream, e.message, code: "upstream_error")
        case .validationFailed, .truncated, .evaluation: return GatewayError(.upstream, e.message, code: e.kind.rawValue)
        case .internalError: return GatewayError(.internal, e.message, code: "internal_error")
        // The store's messages name no host (ChromaContextStore says how it failed, not where).
        case .memory: return GatewayError(.upstream, e.message, code: "context_error")
        }
    }
}
