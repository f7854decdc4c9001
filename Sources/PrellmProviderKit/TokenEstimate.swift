/// A TokenEstimate says how many tokens a prompt counts for before it is sent, and how large
/// an answer of a given number of tokens can be when it flows into a later prompt. It is the
/// one place both sides of a budget read: the runtime ledger reserves each call by it, and the
/// compiler's cost bound (`CostBound`) adds up the same figures ahead of time.
///
/// The figures are assumptions, stated once here and in docs/running.md:
/// - a prompt is its UTF-8 bytes / 4 tokens, plus `perMessage` for each turn and an image at
///   `perImage` (the common rule of thumb; providers' tokenizers differ, so a provider may count
///   more, and the difference shows as an overrun in the trace);
/// - an answer averages at most `bytesPerAnswerToken` bytes per token, and JSON-encoding a text
///   at most `jsonGrowth` times its size plus a little.
public enum TokenEstimate {
    public static let bytesPerToken = 4
    public static let perMessage = 4
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
        var bytes = system?.utf8.count ?? 0
        var images = 0
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
        return promptTokens(bytes: bytes, messages: messages.count + (system == nil ? 0 : 1), images: images)
    }

    /// The most bytes an answer of at most `maxTokens` tokens is assumed to have.
    public static func answerBytes(maxTokens: Int) -> Int {
        let (bytes, overflow) = maxTokens.multipliedReportingOverflow(by: bytesPerAnswerToken)
        return overflow ? Int.max : bytes
    }
}
