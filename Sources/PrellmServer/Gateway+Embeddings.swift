import Foundation
import HTTPTypes
import Hummingbird
import PrellmCompiler
import PrellmProviderKit
import PrellmSchema

/// `POST /v1/embeddings` in OpenAI's shape, routed like chat: a configured name (or, when
/// served, a `provider/model`) to the first of its models whose provider embeds (OpenAI and
/// its compatible family, Gemini, Ollama), trying the next on a transient error. The key's
/// limits hold as for chat: the request is reserved at its estimate and settled at its usage.
extension Gateway {
    struct EmbeddingsBody {
        var model: String
        var inputs: [String]
        var dimensions: Int?
        var base64: Bool
    }

    static func parseEmbeddings(_ bytes: [UInt8]) throws(GatewayError) -> EmbeddingsBody {
        let json: JSONValue
        do { json = try JSONParser.parse(bytes: bytes) } catch { throw GatewayError(.badRequest, "the body is not valid JSON: \(error)") }
        guard let model = json["model"]?.stringValue, !model.isEmpty else { throw GatewayError(.badRequest, "'model' is required", param: "model") }
        let inputs: [String]
        switch json["input"] {
        case .string(let s)?: inputs = [s]
        case .array(let items)? where !items.isEmpty && items.allSatisfy({ $0.stringValue != nil }): inputs = items.compactMap(\.stringValue)
        case .array(let items)? where !items.isEmpty:
            throw GatewayError(.badRequest, "'input' must be a string or a list of strings (token arrays are not supported)", param: "input")
        default: throw GatewayError(.badRequest, "'input' must be a non-empty string or list of strings", param: "input")
        }
        guard inputs.count <= 2048 else { throw GatewayError(.badRequest, "'input' holds more than 2048 items", param: "input") }
        var dimensions: Int?
        if let d = json["dimensions"], d != .null {
            guard let n = d.int, n > 0 else { throw GatewayError(.badRequest, "'dimensions' must be a positive integer", param: "dimensions") }
            dimensions = n
        }
        let format = json["encoding_format"]?.stringValue ?? "float"
        guard format == "float" || format == "base64" else {
            throw GatewayError(.badRequest, "'encoding_format' must be float or base64", param: "encoding_format")
        }
        return EmbeddingsBody(model: model, inputs: inputs, dimensions: dimensions, base64: format == "base64")
    }

    func handleEmbeddings(_ request: Request) async -> Response {
        let started = ContinuousClock.now
        let requestID = UUID().uuidString.lowercased()
        // One log line and one count per request, as for chat: the log keeps an upstream
        // failure's whole message, the client gets it without addresses.
        var entry = RequestLog(requestID: requestID, path: "/v1/embeddings")
        do {
            let key = try await gatewayCaller(of: request, for: "/v1/embeddings")
            entry.authenticated(as: key)
            let ask = try Self.parseEmbeddings(try await body(of: request))
            entry.model = ask.model
            try authorize(key, model: ask.model)
            guard case .route(let route) = try target(ask.model) else {
                throw GatewayError(.badRequest, "'\(ask.model)' is a workflow; embeddings come from a model", param: "model")
            }
            let estimate = ask.inputs.reduce(0) { $0 + $1.utf8.count / TokenEstimate.bytesPerToken + 1 }
            // Priced by the alias the request named, as chat is (`ModelRoute.price(of:lookup:)`).
            let lookup = baseContext.models.price(for:)
            let price = route.models.compactMap { route.price(of: $0, lookup: lookup) }.map(\.input).max()
            var reservation: KeyLimits.Reservation?
            if let key {
                reservation = try await limits.admit(
                    key, estimateUSD: price.map { $0 * Double(estimate) / 1e6 }, estimateTokens: estimate, requestID: requestID)
            }
            let outcome: (EmbeddingResponse, String)
            do { outcome = try await embed(ask, route: route) } catch {
                if let reservation { await limits.settle(reservation, .init(tokens: 0, usd: 0), model: ask.model) }
                throw error
            }
            let (response, model) = outcome
            let unitPrice = route.price(of: model, lookup: lookup)?.input
            if let usage = response.usage, let problem = Usage.implausibility(of: usage, promptBound: estimate, maxTokens: 0) {
                // Billed for something the report does not say: charged the reservation's worst case.
                let usd = unitPrice.map { $0 * Double(estimate) / 1e6 }
                if let reservation { await limits.settle(reservation, .init(tokens: estimate, usd: usd), model: model) }
                throw GatewayError(.upstream, "\(model): \(problem)", code: "invalid_response")
            }
            let tokens = response.usage?.inputTokens ?? estimate
            let usd = unitPrice.map { $0 * Double(tokens) / 1e6 }
            if let reservation { await limits.settle(reservation, .init(tokens: tokens, usd: usd), model: model) }
            entry.served(model: model, tokens: tokens, cost: usd)
            complete(entry, status: 200, started: started)
            var headers = HTTPFields()
            headers[Self.modelHeader] = model
            if let usd { headers[HTTPField.Name("x-prellm-cost-usd")!] = JSONValue.number(usd).jsonText }
            return Self.json(200, Self.embeddingsBody(response, ask: ask, tokens: tokens), headers: headers)
        } catch let e as GatewayError {
            entry.failed(e)
            complete(entry, status: e.status, started: started)
            return Self.error(e, requestID: requestID)
        } catch {
            entry.failed("\(error)", kind: "internal")
            complete(entry, status: 500, started: started)
            return Self.error(GatewayError(.internal, "\(error)"), requestID: requestID)
        }
    }

    /// The first model of the route whose provider embeds; the next after a transient error.
    func embed(_ ask: EmbeddingsBody, route: ModelRoute) async throws(GatewayError) -> (EmbeddingResponse, String) {
        var failures: [String] = []
        var last: ProviderError?
        for model in route.models {
            let resolved: (provider: any ChatProvider, model: String)
            do { resolved = try baseContext.models.provider(for: model) } catch {
                failures.append("\(model): \(error.message)")
                continue
            }
            guard let embedder = resolved.provider as? any EmbeddingProvider else {
                failures.append("\(model): \(resolved.provider.name) serves no embeddings")
                continue
            }
            // OpenAI refuses more dimensions than a model has; so does the gateway, for every
            // model whose size the catalog knows, before a request is sent.
            if let asked = ask.dimensions, let most = baseContext.models.capabilities(for: model)?.embeddingDimensions, asked > most {
                failures.append("\(model) gives at most \(most) dimensions, not \(asked)")
                continue
            }
            do {
                let r = try await embedder.embed(EmbeddingRequest(model: resolved.model, inputs: ask.inputs, dimensions: ask.dimensions))
                return (r, model)
            } catch {
                failures.append("\(model): \(error.message)")
                last = error
                guard error.isRetryable else { break }
            }
        }
        let message = "no model could embed: " + failures.joined(separator: "; ")
        switch last?.kind {
        case .rateLimit?: throw GatewayError(.rateLimited, message, code: "rate_limit_exceeded", retryAfter: last?.retryAfter)
        case .badRequest?, .contextTooLong?: throw GatewayError(.badRequest, message)
        case nil where !failures.isEmpty: throw GatewayError(.badRequest, message, param: "model")
        default: throw GatewayError(.upstream, message, code: "upstream_error")
        }
    }

    static func embeddingsBody(_ r: EmbeddingResponse, ask: EmbeddingsBody, tokens: Int) -> JSONValue {
        .object([
            "object": "list", "model": .string(ask.model),
            "data": .array(
                r.vectors.enumerated().map { i, v in
                    .object([
                        "object": "embedding", "index": .number(Double(i)),
                        "embedding": ask.base64 ? .string(base64(v)) : .array(v.map(JSONValue.number)),
                    ])
                }),
            "usage": .object(["prompt_tokens": .number(Double(tokens)), "total_tokens": .number(Double(tokens))]),
        ])
    }

    /// OpenAI's base64 encoding: the vector as little-endian 32-bit floats.
    static func base64(_ v: [Double]) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(v.count * 4)
        for x in v {
            let bits = Float(x).bitPattern.littleEndian
            withUnsafeBytes(of: bits) { bytes.append(contentsOf: $0) }
        }
        return Data(bytes).base64EncodedString()
    }
}
