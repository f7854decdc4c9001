import PrellmProviderKit
@testable import PrellmRuntime
import PrellmSchema
import Testing

/// The cache answers only the same request: anything that can change the answer changes the key.
@Suite struct CacheKeyTests {
    static let base = ChatRequest(model: "m", messages: [.user("What is in the picture?")])

    @Test func everythingThatCanChangeTheAnswerIsInTheKey() throws {
        var variants: [ChatRequest] = []
        func variant(_ change: (inout ChatRequest) -> Void) { var r = Self.base; change(&r); variants.append(r) }
        variant { $0.messages[0].content.append(.imageURL("https://example.com/a.png")) }
        variant { $0.messages[0].content.append(.imageURL("https://example.com/b.png")) }
        variant { $0.messages[0].content.append(.imageData(base64: "AAAA", mediaType: "image/png")) }
        variant { $0.tools = [ToolDefinition(name: "look", parameters: .object(["type": "object"]))] }
        variant { $0.toolChoice = .required }
        variant { $0.stop = ["\n"] }
        variant { $0.topP = 0.5 }
        variant { $0.messages.append(ChatMessage(role: .assistant, content: [], toolCalls: [ToolCall(id: "c1", name: "look", arguments: "{}")])) }
        variant { $0.messages.append(ChatMessage(role: .tool, content: [.text("a cat")], toolCallID: "c1")) }
        let keys = [ModelRouter.cacheKey("openai/m", Self.base)] + variants.map { ModelRouter.cacheKey("openai/m", $0) }
        #expect(Set(keys).count == keys.count)
        #expect(ModelRouter.cacheKey("openai/m", Self.base) == ModelRouter.cacheKey("openai/m", Self.base))
    }
}
