/// An EmbeddingRequest asks a model for one vector per input text.
public struct EmbeddingRequest: Sendable {
    /// The model name as the provider knows it, without the provider prefix.
    public var model: String
    public var inputs: [String]
    /// The vectors' length, for models that can shorten them (nil: the model's own).
    public var dimensions: Int?

    public init(model: String, inputs: [String], dimensions: Int? = nil) {
        self.model = model
        self.inputs = inputs
        self.dimensions = dimensions
    }
}

/// The vectors, in the order of the inputs, and the tokens the provider counted.
public struct EmbeddingResponse: Sendable, Equatable {
    public var vectors: [[Double]]
    /// Nil when the provider reports none (Gemini): the caller estimates.
    public var usage: Usage?

    public init(vectors: [[Double]], usage: Usage?) {
        self.vectors = vectors
        self.usage = usage
    }
}

/// A provider that serves embeddings beside chat (OpenAI and its compatible family, Gemini,
/// Ollama). The gateway's `/v1/embeddings` routes to it as `/v1/chat/completions` routes to a
/// ChatProvider.
public protocol EmbeddingProvider: Sendable {
    func embed(_ request: EmbeddingRequest) async throws(ProviderError) -> EmbeddingResponse
}
