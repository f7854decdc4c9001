import Foundation
import PrellmCLI
import PrellmSchema
import ProviderStandIn
import Synchronization
import Testing

/// `prellm call` against the loopback stand-in, configured only by base-URL and key variables.
@Suite struct CallCommandTests {
    final class Sink: Sendable {
        let text = Mutex("")
        func write(_ s: String) { text.withLock { $0 += s } }
        var value: String { text.withLock { $0 } }
    }

    static let openAIStream = """
        data: {"choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"},"finish_reason":null}]}

        data: {"choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":"stop"}]}

        data: {"choices":[],"usage":{"prompt_tokens":1000,"completion_tokens":2000}}

        data: [DONE]


        """

    @Test func openAIThroughTheEnvironment() async throws {
        let server = try StandInServer { _, w in w.stream(Self.openAIStream, pieces: 5) }
        let sink = Sink()
        let out = await CallCommand.run(
            CallOptions(model: "openai/gpt-4o-mini", text: "Hi"),
            environment: ["OPENAI_BASE_URL": server.baseURL, "OPENAI_API_KEY": "sk-test"], write: sink.write)
        #expect(out.exitCode == 0, "\(out.stderr)")
        #expect(sink.value == "Hello\n")
        #expect(out.stderr.hasPrefix("openai/gpt-4o-mini · 1000 in / 2000 out tokens · $0.00135 · "))
    }

    @Test(arguments: [
        (
            "anthropic/claude-haiku-4-5", "ANTHROPIC",
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\nevent: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi!\"}}\n\nevent: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":2}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
        ),
        (
            "gemini/gemini-2.5-flash", "GEMINI",
            "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hi!\"}],\"role\":\"model\"},\"finishReason\":\"STOP\"}],\"usageMetadata\":{\"promptTokenCount\":3,\"candidatesTokenCount\":2}}\n\n"
        ),
    ])
    func otherFormats(_ model: String, _ prefix: String, _ stream: String) async throws {
        let server = try StandInServer { _, w in w.stream(stream, pieces: 8) }
        let sink = Sink()
        let out = await CallCommand.run(
            CallOptions(model: model, text: "Hi"),
            environment: ["\(prefix)_BASE_URL": server.baseURL, "\(prefix)_API_KEY": "k-test"], write: sink.write)
        #expect(out.exitCode == 0, "\(out.stderr)")
        #expect(sink.value == "Hi!\n")
        #expect(out.stderr.contains("3 in / 2 out tokens"))
    }

    @Test func ollamaNeedsNoKey() async throws {
        let server = try StandInServer { _, w in
            w.stream(
                "{\"message\":{\"content\":\"Hi!\"},\"done\":false}\n{\"message\":{\"content\":\"\"},\"done\":true,\"prompt_eval_count\":3,\"eval_count\":2}\n",
                contentType: "application/x-ndjson")
        }
        let sink = Sink()
        let out = await CallCommand.run(
            CallOptions(model: "ollama/qwen2.5:3b", text: "Hi"), environment: ["OLLAMA_HOST": server.baseURL], write: sink.write)
        #expect(out.exitCode == 0)
        #expect(sink.value == "Hi!\n")
        #expect(out.stderr.contains("· $0 ·"))
    }

    @Test func aMissingKeyIsAUsageErrorBeforeAnyRequest() async throws {
        let server = try StandInServer { _, w in w.respond(body: "{}") }
        let out = await CallCommand.run(
            CallOptions(model: "anthropic/claude-haiku-4-5", text: "Hi"),
            environment: ["ANTHROPIC_BASE_URL": server.baseURL], write: { _ in })
        #expect(out.exitCode == 2)
        #expect(out.stderr == "prellm call: no API key: set ANTHROPIC_API_KEY (or ANTHROPIC_API_KEY_FILE to a file holding it)\n")
        #expect(server.requests.isEmpty)
    }

    @Test func providerErrorsExit1WithoutTheKey() async throws {
        let server = try StandInServer { _, w in
            w.error(status: 401, body: #"{"error":{"message":"Incorrect API key provided: sk-secret-123456.","code":"invalid_api_key"}}"#)
        }
        let out = await CallCommand.run(
            CallOptions(model: "openai/gpt-4o-mini", text: "Hi", stream: false),
            environment: ["OPENAI_BASE_URL": server.baseURL, "OPENAI_API_KEY": "sk-secret-123456"], write: { _ in })
        #expect(out.exitCode == 1)
        #expect(out.stderr.contains("openai: auth (HTTP 401): Incorrect API key provided: [redacted]."))
        #expect(!out.stderr.contains("sk-secret-123456"))
    }

    /// The real binary as a process, configured only through its environment.
    @Test func theBinaryStreamsToStdout() async throws {
        let server = try StandInServer { _, w in w.stream(Self.openAIStream, pieces: 5) }
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("prellm")
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "no prellm binary beside the test bundle")
        let r = try await Subprocess.run(
            binary, ["call", "openai/gpt-4o-mini", "Hi"],
            environment: ["OPENAI_BASE_URL": server.baseURL, "OPENAI_API_KEY": "sk-test", "PATH": "/usr/bin:/bin"])
        #expect(r.status == 0)
        #expect(r.stdout == "Hello\n")
        #expect(r.stderr.contains("1000 in / 2000 out tokens"))
    }
}

@Suite struct ModelsCommandTests {
    @Test func listsModelsWithPrices() throws {
        let text = ModelsCommand.run(json: false).stdout
        #expect(text.contains("openai/gpt-4o-mini"))
        #expect(text.split(separator: "\n").first?.hasPrefix("MODEL") == true)
        let json = ModelsCommand.run(json: true).stdout
        #expect(json.contains("\"id\": \"anthropic/claude-sonnet-4-5\""))
        // Embedding models with their price and vector size.
        let row = try #require(text.split(separator: "\n").first { $0.hasPrefix("openai/text-embedding-3-small ") })
        #expect(row.contains("1536d") && row.contains("0.02"), "\(row)")
        let entries = try JSONParser.parse(json).arrayValue ?? []
        let large = try #require(entries.first { $0["id"] == "openai/text-embedding-3-large" })
        #expect(large["dimensions"] == .number(3072))
        #expect(large["embedding"] == true)
    }
}

@Suite struct CallWithConfigTests {
    @Test func aConfigFileRedirectsTheProviderAndNamesTheKeyVariable() async throws {
        let server = try StandInServer { _, w in w.stream(CallCommandTests.openAIStream) }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("prellm-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("prellm.yaml")
        try """
        prellm: 1
        providers:
          openai:
            base_url: \(server.baseURL)/v1
            api_key_env: CORP_OPENAI_KEY
            headers: {OpenAI-Organization: org-123}
        """.write(to: config, atomically: true, encoding: .utf8)
        let sink = CallCommandTests.Sink()
        let out = await CallCommand.run(
            CallOptions(model: "openai/gpt-4o-mini", text: "Hi", config: config.path),
            environment: ["CORP_OPENAI_KEY": "sk-corp"], write: sink.write)
        #expect(out.exitCode == 0, "\(out.stderr)")
        #expect(sink.value == "Hello\n")
        let sent = try #require(server.requests.first)
        #expect(sent.path == "/v1/chat/completions")
        #expect(sent.header("authorization") == "Bearer sk-corp")
        #expect(sent.header("openai-organization") == "org-123")

        let missing = await CallCommand.run(
            CallOptions(model: "openai/gpt-4o-mini", text: "Hi", config: config.path),
            environment: ["OPENAI_API_KEY": "sk-ignored"], write: { _ in })
        #expect(missing.exitCode == 2)
        #expect(missing.stderr.contains("no API key: set CORP_OPENAI_KEY (named by providers.openai in "))
    }

    /// A provider the config names itself (`gpu-a: {format: openai, …}`) is a name workflows
    /// run with `--config` may use; without the config the same workflow does not compile.
    @Test func aWorkflowRunWithAConfigMayNameTheConfigsOwnProvider() async throws {
        let server = try StandInServer { _, w in w.stream(CallCommandTests.openAIStream) }
        defer { server.stop() }
        let files = try NamedProviderFiles(baseURL: server.baseURL + "/v1")
        defer { files.remove() }
        let (config, workflow) = (files.config, files.workflow)
        let sink = CallCommandTests.Sink()
        let out = await RunCommand.run(RunOptions(file: workflow, config: config), environment: [:], write: sink.write, progress: { _ in })
        #expect(out.exitCode == 0, "\(out.stderr)")
        #expect(sink.value.hasPrefix("Hello"))
        #expect(server.requests.first?.bodyText.contains(#""model":"llama3.1:8b""#) == true)
        let without = await RunCommand.run(RunOptions(file: workflow), environment: [:], write: { _ in }, progress: { _ in })
        #expect(without.exitCode == 2)
        #expect(without.stderr.contains("unknown provider 'gpu-a'"))
    }

    @Test func aBrokenConfigIsAUsageError() async {
        let path = LintCommandTests.diagnostics.appendingPathComponent("config-providers.yaml").path
        let out = await CallCommand.run(CallOptions(model: "openai/gpt-4o-mini", text: "Hi", config: path), environment: [:], write: { _ in })
        #expect(out.exitCode == 2)
        #expect(out.stderr.contains("error[PL101]: API keys do not go in config files"))
    }
}
