/// A TokenEstimate says how many tokens a prompt counts for before it is sent, and how large
/// an answer of a given number of tokens can be when it flows into a later prompt. It is the
/// one place both sides of a budget read: the runtime ledger reserves each call by it, and the
/// compiler's cost bound (`CostBound`) adds up the same figures ahead of time.
///
/// The figures, stated once here and in docs/running.md:
/// - a prompt's text counts at most one token per UTF-8 byte — a bound, not a guess: every
///   tokenizer these providers use (byte-level BPE, SentencePiece with byte fallback) makes a
///   token of at least one byte. Plus `perMessage` for each turn, `perTool` for each tool's
///   framing, and an image at `perImage`, which is an estimate (an image's count depends on its
///   size, which the gateway does not decode); a provider that counts more shows as an overrun.
///   Bytes / 4 is the usual guess for English, but a reservation made from a guess let a $1.00
///   key spend $1.60 on prompts of one-letter words;
/// - an answer averages at most `bytesPerAnswerToken` bytes per token, and JSON-encoding a text
///   at most `jsonGrowth` times its size plus a little.
public enum TokenEstimate {
    public static let bytesPerToken = 1
    public static let perMessage = 4
    public static let perTool = 16
    public static let perImage = 1_600
    public static let bytesPerAnswerToken = 6
    public static let jsonGrowth = 2

    /// The estimate of a prompt of `bytes` UTF-8 bytes in `messages` turns (the system prompt counts as one).
    public static func promptTokens(bytes: Int, messages: Int, images: Int = 0) -> Int {
        bytes / bytesPerToken + 1 + perMessage * messages + perImage * images
    }

    /// The estimate of a request: its system prompt, its messages, the schema it asks the answer
    /// to satisfy and the tools it offers (both are sent, and counted, as input).
    public static func promptTokens(_ request: ChatRequest) -> Int {
        promptTokens(system: request.system, messages: request.messages, format: request.responseFormat, tools: request.tools)
    }

    public static func promptTokens(
        system: String?, messages: [ChatMessage], format: ChatRequest.ResponseFormat = .text,
        tools: [ToolDefinition] = []
    ) -> Int {
        PromptSize(system: system, messages: messages, format: format, tools: tools).boundTokens
    }

    /// The count a prompt most likely has (bytes / 4, the usual rule for English text), for
    /// deciding whether it fits a model's context window: the bound would turn away a 200 KB
    /// English prompt that a 128k-token model takes.
    public static func likelyPromptTokens(
        system: String?, messages: [ChatMessage], format: ChatRequest.ResponseFormat = .text,
        tools: [ToolDefinition] = []
    ) -> Int {
        PromptSize(system: system, messages: messages, format: format, tools: tools).likelyTokens
    }

    /// What a prompt is made of, as the estimates count it.
    struct PromptSize {
        var bytes = 0
        var images = 0
        var turns = 0
        var tools = 0

        init(system: String?, messages: [ChatMessage], format: ChatRequest.ResponseFormat, tools: [ToolDefinition]) {
            bytes = system?.utf8.count ?? 0
            for m in messages {
                for part in m.content {
                    switch part {
                    case .text(let t): bytes += t.utf8.count
                    case .imageURL, .imageData: images += 1
                    }
                }
                for call in m.toolCalls { bytes += call.name.utf8.count + call.arguments.utf8.count }
            }
            if case .jsonSchema(let name, let schema) = format { bytes += name.utf8.count + schema.jsonText.utf8.count }
            for t in tools { bytes += t.name.utf8.count + (t.description?.utf8.count ?? 0) + t.parameters.jsonText.utf8.count }
            turns = messages.count + (system == nil ? 0 : 1)
            self.tools = tools.count
        }

        var boundTokens: Int { promptTokens(bytes: bytes, messages: turns, images: images) + perTool * tools }
        var likelyTokens: Int { promptTokens(bytes: bytes / 4, messages: turns, images: images) + perTool * tools }
    }

    /// The most bytes an answer of at most `maxTokens` tokens is assumed to have.
    public static func answerBytes(maxTokens: Int) -> Int {
        let (bytes, overflow) = maxTokens.multipliedReportingOverflow(by: bytesPerAnswerToken)
        return overflow ? Int.max : bytes
    }
}
