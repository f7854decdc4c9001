/// A ChatProvider sends chat requests in one wire format. The interpreter and the gateway
/// see models only through this protocol.
public protocol ChatProvider: Sendable {
    /// The provider's name as used in model strings (`openai`, `ollama`).
    var name: String { get }

    /// Sends a request and returns the whole answer.
    func complete(_ request: ChatRequest) async throws(ProviderError) -> ChatResponse

    /// Sends a request and streams the answer. The stream ends with `.finish` (and `.usage`
    /// when the provider reports it); a stream cut before its end throws `cutStream`.
    func stream(_ request: ChatRequest) -> AsyncThrowingStream<ChatDelta, any Error>
}

/// A provider that can count a request's input tokens with the model's own tokenizer
/// (Anthropic's `count_tokens`, Gemini's `countTokens`); for the others a count is an estimate.
public protocol TokenCounting: Sendable {
    func countTokens(_ request: ChatRequest) async throws(ProviderError) -> Int
}

/// A provider whose endpoint can be asked whether it answers, for the gateway's active health
/// checks: a cheap authenticated GET that lists models.
public protocol HealthProbing: Sendable {
    /// The path probed when the config names none, below the provider's base URL.
    var defaultHealthPath: String { get }
    /// Throws unless `path` answers 2xx within `timeout`.
    func probe(path: String, timeout: Duration) async throws(ProviderError)
}

/// What a model can do, for the compiler and the router to read.
public struct ModelCapabilities: Sendable, Equatable, Hashable {
    public var contextWindow: Int?
    public var jsonMode: Bool
    public var structuredOutput: Bool
    public var tools: Bool
    public var vision: Bool
    public var streaming: Bool
    /// A reasoning model (OpenAI's o-series and gpt-5 family): it takes `max_completion_tokens`
    /// and only the default temperature. Nil when the catalog does not say.
    public var reasoning: Bool?
    /// False when these are only the provider's defaults (the model is not in the catalog):
    /// then a missing capability is not known to be missing.
    public var isKnown = true
    /// An embedding model (`/v1/embeddings`), not a chat model: it has none of the chat
    /// capabilities.
    public var embedding = false
    /// An embedding model's vector size: the default and the most `dimensions` may ask for.
    public var embeddingDimensions: Int?

    public init(
        contextWindow: Int? = nil, jsonMode: Bool = true, structuredOutput: Bool = false, tools: Bool = true,
        vision: Bool = false, streaming: Bool = true, reasoning: Bool? = nil
    ) {
        self.reasoning = reasoning
        self.contextWindow = contextWindow
        self.jsonMode = jsonMode
        self.structuredOutput = structuredOutput
        self.tools = tools
        self.vision = vision
        self.streaming = streaming
    }
}

/// A ModelPrice is US dollars per million tokens.
public struct ModelPrice: Sendable, Equatable, Hashable {
    public var input: Double
    public var output: Double
    public var cachedInput: Double?

    public init(input: Double, output: Double, cachedInput: Double? = nil) {
        self.input = input
        self.output = output
        self.cachedInput = cachedInput
    }

    /// The cost of a call from the usage the provider reported.
    public func cost(of usage: Usage) -> Double {
        let cached = usage.cachedInputTokens ?? 0
        let fresh = max(0, usage.inputTokens - cached)
        return (Double(fresh) * input + Double(cached) * (cachedInput ?? input) + Double(usage.outputTokens) * output) / 1_000_000
    }
}
