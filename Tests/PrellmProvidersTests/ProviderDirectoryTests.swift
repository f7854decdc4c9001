import Foundation
import PrellmProviderKit
import PrellmProviders
import PrellmSchema
import Testing

@Suite struct ProviderDirectoryTests {
    @Test func aMissingKeyNamesTheVariableBeforeAnyRequest() {
        do {
            _ = try ProviderDirectory(environment: [:]).resolve("openai/gpt-4o-mini")
            Issue.record("no error")
        } catch {
            #expect(error.kind == .configuration)
            #expect(error.message.contains("OPENAI_API_KEY"))
        }
        #expect(throws: ProviderError.self) { try ProviderDirectory(environment: ["OPENROUTER_API_KEY": ""]).resolve("openrouter/x/y") }
    }

    @Test func keysCanComeFromAFile() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("prellm-key-\(UUID().uuidString)")
        try "sk-from-file\n".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let config = try ProviderPreset.named("anthropic")!.configuration(environment: ["ANTHROPIC_API_KEY_FILE": file.path])
        #expect(config.apiKey == "sk-from-file")
    }

    @Test func modelStrings() throws {
        #expect(try ProviderDirectory.split("openrouter/meta-llama/llama-3.1-8b-instruct") == ("openrouter", "meta-llama/llama-3.1-8b-instruct"))
        #expect(try ProviderDirectory.split("ollama/qwen2.5:3b") == ("ollama", "qwen2.5:3b"))
        #expect(throws: ProviderError.self) { try ProviderDirectory.split("gpt-4o") }
        #expect(throws: ProviderError.self) { try ProviderDirectory.split("nope/x") }
    }

    @Test func presetsUseTheirSDKsVariables() throws {
        let groq = try ProviderPreset.named("groq")!.configuration(environment: ["GROQ_API_KEY": "k"])
        #expect(groq.baseURL == "https://api.groq.com/openai/v1")
        let vllm = try ProviderPreset.named("vllm")!.configuration(environment: ["VLLM_BASE_URL": "http://gpu:9000/v1/"])
        #expect(vllm.baseURL == "http://gpu:9000/v1")
        #expect(vllm.apiKey == nil)
    }
}

@Suite struct ModelCatalogTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func theBuiltInCopyMatchesStdlib() throws {
        let file = try String(contentsOf: Self.root.appendingPathComponent("stdlib/models.json"), encoding: .utf8)
        let fromFile = try ModelCatalog(json: JSONParser.parse(file))
        #expect(fromFile.entries == ModelCatalog.builtin.entries, "stdlib/models.json changed: run scripts/embed-stdlib")
    }

    @Test func costsFromUsage() throws {
        let c = ModelCatalog.builtin
        let cost = try #require(
            c.cost(of: Usage(inputTokens: 1_000_000, outputTokens: 500_000, cachedInputTokens: 200_000), model: "openai/gpt-4o-mini"))
        #expect(abs(cost - (0.8 * 0.15 + 0.2 * 0.075 + 0.5 * 0.60)) < 1e-12)
        #expect(c.cost(of: Usage(inputTokens: 10, outputTokens: 10), model: "openai/some-new-model") == nil)
        #expect(c.cost(of: Usage(inputTokens: 10, outputTokens: 10), model: "ollama/anything") == 0)
        #expect(c.entry(for: "anthropic/claude-sonnet-4-5")?.capabilities.contextWindow == 200_000)
        #expect(c.entry(for: "anthropic/claude-sonnet-4-5")?.capabilities.jsonMode == false)
        let cheaper = c.overriding(prices: ["openai/gpt-4o-mini": ModelPrice(input: 0, output: 0)])
        #expect(cheaper.cost(of: Usage(inputTokens: 10, outputTokens: 10), model: "openai/gpt-4o-mini") == 0)
    }
}
