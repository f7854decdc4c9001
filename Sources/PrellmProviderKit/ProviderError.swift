/// A ProviderError is every way a model call can fail, normalised across providers.
///
/// It knows whether a retry may help (`isRetryable`) and how long the provider asked to wait
/// (`retryAfter`), so that retry and routing policies need not know any wire format. Its
/// message is the provider's own, with any API key redacted.
public struct ProviderError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable {
        case auth, rateLimit = "rate_limit", badRequest = "bad_request", contextTooLong = "context_too_long"
        case contentFilter = "content_filter", notFound = "not_found", server, timeout, connection
        case cutStream = "cut_stream", invalidResponse = "invalid_response", configuration
    }

    public var provider: String
    public var kind: Kind
    public var status: Int?
    public var retryAfter: Duration?
    public var message: String

    public init(provider: String, kind: Kind, status: Int? = nil, retryAfter: Duration? = nil, message: String) {
        self.provider = provider
        self.kind = kind
        self.status = status
        self.retryAfter = retryAfter
        self.message = message
    }

    /// Whether the same request may succeed if sent again.
    public var isRetryable: Bool {
        switch kind {
        case .rateLimit, .server, .timeout, .connection, .cutStream: true
        case .auth, .badRequest, .contextTooLong, .contentFilter, .notFound, .invalidResponse, .configuration: false
        }
    }

    public var description: String {
        "\(provider): \(kind.rawValue)\(status.map { " (HTTP \($0))" } ?? ""): \(message)"
    }

    /// Replaces every occurrence of the given secrets in a text.
    public static func redact(_ text: String, secrets: [String]) -> String {
        var out = text
        for s in secrets where s.count >= 4 { out = out.replacing(s, with: "[redacted]") }
        return out
    }
}
