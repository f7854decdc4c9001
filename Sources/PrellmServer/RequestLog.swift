import PrellmSchema
import PrellmTelemetry

/// What the gateway logs and counts about one chat request, filled in as the request goes and
/// written once when it ends (a stream's when the stream does, with its usage). The log line
/// is JSON with its keys in alphabetical order; the metrics read the same fields.
struct RequestLog: Sendable {
    var requestID: String
    var path: String
    /// Set once the request's key was checked: its id, or nil on a gateway without keys.
    var keyChecked = false
    var keyID: String?
    var model: String?
    /// The prompt's text, with `server.log_prompts` only.
    var prompt: String?
    /// Set when the request was served: the model that answered, its tokens and cost (nil
    /// when the model's price is unknown).
    var modelUsed: String?
    var tokens: Int?
    var costUSD: Double?
    var error: String?
    var errorKind: String?
    var stream = false
    var status = 0
    /// The request's SERVER span, ended when the request is (never written to the log).
    var span: Tracer.ServerSpan?

    init(requestID: String, path: String) {
        self.requestID = requestID
        self.path = path
    }

    mutating func served(model: String, tokens: Int, cost: Double?) {
        modelUsed = model
        self.tokens = tokens
        costUSD = cost
    }

    mutating func failed(_ message: String, kind: String) {
        error = message
        errorKind = kind
    }

    /// A refused or failed request: the log keeps the whole message (the client's copy is
    /// redacted), and its kind is the error's code.
    mutating func failed(_ e: GatewayError) { failed(e.detail, kind: e.code ?? e.type) }

    /// The request's key was checked: `key`, or nil on a gateway without keys.
    mutating func authenticated(as key: GatewayKey?) {
        keyChecked = true
        keyID = key?.id
    }

    /// The log line, with the request's latency.
    func jsonLine(latencyMS: Double) -> String {
        var out = "{"
        var first = true
        func key(_ name: String) {
            if !first { out += "," }
            first = false
            out += "\"" + name + "\":"
        }
        func string(_ name: String, _ value: String?) {
            guard let value else { return }
            key(name)
            JSONValue.writeString(value, to: &out)
        }
        if modelUsed != nil {
            key("cost_usd")
            out += costUSD.map(JSONValue.format) ?? "null"
        }
        string("error", error)
        string("error_kind", errorKind)
        if keyChecked {
            key("key_id")
            if let keyID { JSONValue.writeString(keyID, to: &out) } else { out += "null" }
        }
        key("latency_ms")
        out += JSONValue.format(latencyMS.rounded())
        string("model", model)
        string("model_used", modelUsed)
        string("path", path)
        string("prompt", prompt)
        string("request_id", requestID)
        key("status")
        out += String(status)
        if stream {
            key("stream")
            out += "true"
        }
        if let tokens {
            key("tokens")
            out += String(tokens)
        }
        return out + "}"
    }
}
