import PrellmCompiler
import PrellmProviderKit

/// A plain chat call routed like a step's (aliases, policies, retries, breakers, cache), for
/// callers that bring their own messages — the gateway's `/v1/chat/completions`.
extension Interpreter {
    public struct ChatOutcome: Sendable {
        public var response: ChatResponse
        public var model: String
        public var usage: Usage
        public var costUSD: Double?
        public var cached: Bool
    }

    /// Builds a router for model aliases alone (no steps).
    public init(models: [Workflow.ModelAlias], file: String) throws(RunError) {
        try self.init(workflow: Workflow(file: file, models: models))
    }

    public func chat(model: String, system: String?, messages: [ChatMessage], format: ChatRequest.ResponseFormat = .text,
                     stream: Bool, overrides: CallOverrides = CallOverrides(), context: RunContext) async throws(RunError) -> ChatOutcome {
        let ledger = RunLedger(budget: nil, started: context.clock.now)
        let call = try await callModel(step: "chat", model: model, system: system, messages: messages, format: format, stream: stream,
                                       options: Step.Options(), started: context.clock.now, ledger: ledger, context: context,
                                       traceID: Self.newTraceID(context.random), prefix: "", overrides: overrides)
        return ChatOutcome(response: call.response, model: call.model, usage: call.usage ?? Usage(inputTokens: 0, outputTokens: 0),
                           costUSD: call.cost, cached: call.cached)
    }

    /// Whether `name` is a model this router knows: an alias, or a provider/model string.
    public func knowsModel(_ name: String) -> Bool {
        models[name] != nil || name.utf8.contains(UInt8(ascii: "/"))
    }
}
