import Foundation
import Hummingbird
import HummingbirdTesting
import PrellmHTTP
import PrellmProviderKit
import PrellmProviders
import PrellmSchema
import PrellmServer
import ProviderStandIn
import Synchronization
import Testing

/// `prellm serve` as a process on a loopback socket, driven by the official `openai` Python
/// package, then stopped with SIGTERM.
@Suite struct GatewayLiveTests {
    @Test func theOpenAIPythonClientWorksAgainstTheGateway() async throws {
        let standIn = try ScriptedStandIn([
            "gpt-4o-mini": [
                Reply.openAI("Hello there.", promptTokens: 10, completionTokens: 20),
                Reply.openAI("One two three", promptTokens: 5, completionTokens: 3),
                Reply.openAI("Hello again.", promptTokens: 11, completionTokens: 2),
                Reply.openAI("Still here."),
                Reply.openAI("Four five six"),
            ],
            "qwen2.5:3b": [Reply.ollama(#"{"label": "bug", "confidence": 0.9}"#)],
            "gpt-4.1-mini": [
                Reply.openAIToolCall(text: "", id: "call_3", name: "get_weather", arguments: #"{"city":"Paris"}"#),
                Reply.openAIToolCall(text: "", id: "call_4", name: "get_weather", arguments: #"{"city":"Paris"}"#),
                Reply.openAI("It is 18C in Paris."),
            ],
            "text-embedding-3-small": [Reply.openAIEmbeddings(dimensions: 3, promptTokens: 4)],
        ])
        let key = "pk-live-test-key-0123456789"
        let gateway = try await ServedGateway(environment: standIn.environment) { port in
            """
            prellm: 1
            server: {host: 127.0.0.1, port: \(port)}
            models:
              fast: openai/gpt-4o-mini
              tools: openai/gpt-4.1-mini
              embed: openai/text-embedding-3-small
            workflows: [\(GatewayTests.root.path)/workflows/support-triage.yaml]
            keys:
              - {id: ci, hash: "sha256:\(SHA256.hex(key))"}
            """
        }
        defer { gateway.stop() }
        let server = gateway.process, port = gateway.port

        let python = try await Subprocess.run(
            URL(fileURLWithPath: "/usr/bin/env"),
            ["python3", URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("openai_client_check.py").path],
            environment: ProcessInfo.processInfo.environment.merging(["PRELLM_URL": "http://127.0.0.1:\(port)", "PRELLM_KEY": key]) { _, b in b })
        let stdout = python.stdout, stderr = python.stderr
        #expect(python.status == 0, "\(stdout)\n\(stderr)")
        #expect(stdout.contains("9 checks passed"))

        // SIGTERM: the gateway stops on its own.
        server.terminate()
        await server.exited()
        #expect(server.terminationReason == .exit)
        let lines = gateway.log.split(separator: "\n")
        #expect(lines.contains { $0.contains("\"request_id\"") && $0.contains("\"key_id\":\"ci\"") })
        #expect(!lines.contains { $0.contains(key) })
    }
}

/// The official `anthropic` Python package against `prellm serve`: messages whole and
/// streamed, a tool call and its result, and count_tokens (Anthropic's count, or an estimate).
@Suite struct AnthropicClientLiveTests {
    @Test func theAnthropicPythonClientWorksAgainstTheGateway() async throws {
        let standIn = try ScriptedStandIn([
            "claude-haiku-4-5": [
                Reply.anthropic("Hello from Claude."), Reply.anthropic("One two three"),
                Reply.anthropicToolUse(id: "toolu_7", name: "get_weather", input: #"{"city":"Paris"}"#), Reply.anthropic("It is 18C."),
                Reply.anthropicCount(42),
            ]
        ])
        let key = "pk-live-anthropic-0123456789"
        let gateway = try await ServedGateway(environment: standIn.environment) { port in
            """
            prellm: 1
            server: {host: 127.0.0.1, port: \(port)}
            models:
              claude: anthropic/claude-haiku-4-5
              fast: openai/gpt-4o-mini
            keys:
              - {id: ci, hash: "sha256:\(SHA256.hex(key))"}
            """
        }
        defer { gateway.stop() }
        let python = try await Subprocess.run(
            URL(fileURLWithPath: "/usr/bin/env"),
            ["python3", URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("anthropic_client_check.py").path],
            environment: ProcessInfo.processInfo.environment.merging(["PRELLM_URL": "http://127.0.0.1:\(gateway.port)", "PRELLM_KEY": key]) {
                _, b in b
            })
        #expect(python.status == 0, "\(python.stdout)\n\(python.stderr)")
        #expect(python.stdout.contains("5 checks passed"))
        #expect(standIn.requests.contains { $0.path == "/v1/messages/count_tokens" })
    }
}

@Suite struct SHA256Tests {
    @Test func knownVectors() {
        #expect(SHA256.hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex(String(repeating: "a", count: 1000)) == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
        #expect(SHA256.constantTimeEquals("abc", "abc"))
        #expect(!SHA256.constantTimeEquals("abc", "abd"))
    }
}

/// A client that disconnects mid-stream: the gateway cancels the upstream request.
@Suite struct GatewayDisconnectTests {
    final class Flag: @unchecked Sendable {
        private let lock = NSLock()
        private var value = false
        func set() { lock.lock(); value = true; lock.unlock() }
        var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
    }

    @Test func disconnectCancelsTheUpstream() async throws {
        let upstreamCut = Flag()
        let standIn = try ScriptedStandIn(["gpt-4o-mini": [Reply.openAIDrip("tick", count: 3000, pauseMs: 20, onClientGone: { upstreamCut.set() })]])
        let gateway = try GatewayTests().gateway(standIn, keys: false)
        let app = Application(router: gateway.makeRouter(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = in_port_t(UInt16(port).bigEndian)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            try #require(connected == 0)
            let body = #"{"model": "fast", "stream": true, "messages": [{"role": "user", "content": "count"}]}"#
            let request =
                "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
            _ = request.withCString { send(fd, $0, strlen($0), 0) }
            var buffer = [UInt8](repeating: 0, count: 4096)
            var received = ""
            while !received.contains("tick 3") {
                let n = recv(fd, &buffer, buffer.count, 0)
                if n <= 0 { break }
                received += String(decoding: buffer[0..<n], as: UTF8.self)
            }
            close(fd)
            #expect(received.contains("tick 3"))
            // A minute of ticks: on a machine whose threads the rest of the suite keeps busy, the
            // gateway may take seconds to notice; an upstream left running would never be cut.
            for _ in 0..<600 where !upstreamCut.isSet { try await Task.sleep(for: .milliseconds(50)) }
            #expect(upstreamCut.isSet, "the upstream stream was not cancelled")
        }
    }
}

/// `/v1/messages` with prellm's own Anthropic client (which speaks the Messages wire format
/// byte for byte, as its tests against recorded API traffic show) pointed at the gateway.
@Suite struct MessagesEndpointTests {
    @Test func anthropicClientsWork() async throws {
        let standIn = try ScriptedStandIn([
            "gpt-4o-mini": [
                Reply.openAI("Plain answer.", promptTokens: 4, completionTokens: 3),
                Reply.openAI("Streamed answer here.", promptTokens: 6, completionTokens: 5),
            ]
        ])
        let gateway = try GatewayTests().gateway(standIn)
        let app = Application(router: gateway.makeRouter(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let anthropic = try ProviderDirectory(environment: [
                "ANTHROPIC_BASE_URL": "http://127.0.0.1:\(port)",
                "ANTHROPIC_API_KEY": GatewayTests.key,
            ]).provider(named: "anthropic")
            let whole = try await anthropic.complete(ChatRequest(model: "fast", system: "Be brief.", messages: [.user("Hi")], maxTokens: 50))
            #expect(whole.text == "Plain answer.")
            #expect(whole.finishReason == .stop)
            #expect(whole.usage == Usage(inputTokens: 4, outputTokens: 3))
            var deltas: [ChatDelta] = []
            for try await d in anthropic.stream(ChatRequest(model: "fast", messages: [.user("Stream it")], maxTokens: 50)) { deltas.append(d) }
            let streamed = deltas.collected(model: "fast")
            #expect(streamed.text == "Streamed answer here.")
            #expect(streamed.usage == Usage(inputTokens: 6, outputTokens: 5))
            // Errors come in Anthropic's shape, so Anthropic clients classify them.
            do {
                _ = try await anthropic.complete(ChatRequest(model: "nope", messages: [.user("Hi")]))
                Issue.record("no error")
            } catch let e as ProviderError {
                #expect(e.kind == .notFound)
            }
        }
    }

    /// Tool use through /v1/messages: the Anthropic client's tools reach an OpenAI upstream as
    /// functions, the upstream's tool call comes back as a tool_use block (whole, and streamed
    /// as it arrives: a text block, then a tool_use block filled by input_json_delta events),
    /// and the client's tool_result goes up as a tool message.
    @Test func anthropicClientsUseTools() async throws {
        let toolCall = Reply.openAIToolCall(text: "Let me look.", id: "call_7", name: "get_weather", arguments: #"{"city":"Paris"}"#)
        let standIn = try ScriptedStandIn(["gpt-4o-mini": [toolCall, toolCall, Reply.openAI("It is sunny in Paris.")]])
        let app = Application(
            router: try GatewayTests().gateway(standIn).makeRouter(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let anthropic = try ProviderDirectory(environment: [
                "ANTHROPIC_BASE_URL": "http://127.0.0.1:\(port)",
                "ANTHROPIC_API_KEY": GatewayTests.key,
            ]).provider(named: "anthropic")
            let weather = ToolDefinition(
                name: "get_weather", description: "Weather now",
                parameters: .object(["type": "object", "properties": .object(["city": .object(["type": "string"])])]))
            var request = ChatRequest(model: "fast", messages: [.user("Weather in Paris?")], maxTokens: 50, topP: 0.8, stop: ["STOP"])
            request.tools = [weather]
            request.toolChoice = .auto
            let whole = try await anthropic.complete(request)
            #expect(whole.text == "Let me look.")
            #expect(whole.toolCalls == [ToolCall(id: "call_7", name: "get_weather", arguments: #"{"city":"Paris"}"#)])
            #expect(whole.finishReason == .toolCalls)
            let upstream = try JSONParser.parse(try #require(standIn.requests.first).bodyText)
            #expect(upstream["tools"]?[0]?["function"]?["name"] == "get_weather")
            #expect(upstream["tools"]?[0]?["function"]?["parameters"]?["properties"]?["city"]?["type"] == "string")
            #expect(upstream["tool_choice"] == "auto")
            #expect(upstream["top_p"] == .number(0.8))
            #expect(upstream["stop"] == .array(["STOP"]))

            var deltas: [ChatDelta] = []
            for try await d in anthropic.stream(request) { deltas.append(d) }
            let streamed = deltas.collected(model: "fast")
            #expect(streamed.text == "Let me look.")
            #expect(streamed.toolCalls == whole.toolCalls)
            #expect(streamed.finishReason == .toolCalls)

            request.messages += [
                ChatMessage(role: .assistant, content: [.text("Let me look.")], toolCalls: whole.toolCalls),
                ChatMessage(role: .tool, content: [.text("sunny, 21°C")], toolCallID: "call_7"),
            ]
            let answer = try await anthropic.complete(request)
            #expect(answer.text == "It is sunny in Paris.")
            let third = try JSONParser.parse(standIn.requests[2].bodyText)
            #expect(third["messages"]?[1]?["tool_calls"]?[0]?["id"] == "call_7")
            #expect(third["messages"]?[1]?["tool_calls"]?[0]?["function"]?["arguments"] == #"{"city":"Paris"}"#)
            #expect(third["messages"]?[2] == .object(["role": "tool", "tool_call_id": "call_7", "content": "sunny, 21°C"]))
        }
    }
}

/// SIGTERM with a stream in flight: the gateway stops accepting, lets the stream finish, then exits.
@Suite struct GatewayShutdownTests {
    @Test func sigtermLetsTheStreamFinish() async throws {
        let standIn = try ScriptedStandIn(["gpt-4o-mini": [Reply.openAIDrip("part", count: 10, pauseMs: 100)]])
        let gateway = try await ServedGateway(environment: standIn.environment) { port in
            "prellm: 1\nserver: {port: \(port)}\nmodels:\n  fast: openai/gpt-4o-mini\n"
        }
        defer { gateway.stop() }
        let server = gateway.process, port = gateway.port
        let body = #"{"model": "fast", "stream": true, "messages": [{"role": "user", "content": "go"}]}"#
        let stream = try await PrellmHTTP.HTTPClient.shared.stream(
            PrellmHTTP.HTTPRequest(
                url: "http://127.0.0.1:\(port)/v1/chat/completions", headers: [("Content-Type", "application/json")], body: Array(body.utf8)))
        var text = ""
        var signalled = false
        for try await chunk in stream.body {
            text += String(decoding: chunk, as: UTF8.self)
            if !signalled, text.contains("part 1 ") {
                server.terminate()  // SIGTERM
                signalled = true
            }
        }
        #expect(signalled)
        #expect(text.contains("part 9 "))
        #expect(text.hasSuffix("data: [DONE]\n\n"))
        await server.exited()
        #expect(server.terminationReason == .exit)
        #expect(server.terminationStatus == 0)
    }
}

/// `prellm serve` as a process on a free loopback port, with `configBody(port)` as its config;
/// returns once `/healthz` answers.
struct ServedGateway {
    let process = Process()
    let port: Int
    let dir: URL
    /// The gateway's stderr, drained as it comes (a full pipe would block its log writes).
    private let logged = LogSink()

    /// The log so far.
    var log: String { logged.text }

    /// `config` nil: a config-less start, `arguments` naming what to serve, in a folder with no prellm.yaml.
    init(environment: [String: String], arguments: [String] = [], config configBody: ((Int) -> String)?) async throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("prellm-live-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let probe = try StandInServer { _, _ in }
        port = probe.port
        probe.stop()
        let config = dir.appendingPathComponent("prellm.yaml")
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("prellm")
        if let configBody {
            try configBody(port).write(to: config, atomically: true, encoding: .utf8)
            process.arguments = ["serve", "--config", config.path] + arguments
        } else {
            // The address as the container image gives it.
            process.arguments = ["serve"] + arguments
            process.currentDirectoryURL = dir
        }
        process.environment =
            configBody == nil ? environment.merging(["PRELLM_HOST": "127.0.0.1", "PRELLM_PORT": "\(port)"]) { a, _ in a } : environment
        process.standardError = logged.pipe
        process.standardOutput = Pipe()
        try process.run()
        for _ in 0..<100 {
            if let r = try? await PrellmHTTP.HTTPClient.shared.send(PrellmHTTP.HTTPRequest(method: "GET", url: "http://127.0.0.1:\(port)/healthz")),
                r.head.status == 200
            {
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        process.terminate()
        throw StandInError("the gateway did not start")
    }

    /// The config file the gateway reads (a test rewrites it to see a reload).
    var configPath: String { dir.appendingPathComponent("prellm.yaml").path }

    func stop() {
        if process.isRunning { process.terminate() }
        try? FileManager.default.removeItem(at: dir)
    }
}

/// Reads a child's output as it comes, keeping it for the test.
final class LogSink: Sendable {
    let pipe = Pipe()
    private let data = Mutex(Data())

    init() {
        pipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let chunk = handle.availableData
            if !chunk.isEmpty { self?.data.withLock { $0.append(chunk) } }
        }
    }

    var text: String { String(decoding: data.withLock { $0 }, as: UTF8.self) }
}

/// The seed's one-liner: `prellm serve --model fast=openai/gpt-4o-mini`, no config file, and
/// the official `openai` client answered through it.
@Suite struct ConfiglessServeTests {
    @Test func modelsAndWorkflowsFromFlags() async throws {
        let standIn = try ScriptedStandIn([
            "gpt-4o-mini": [Reply.openAI("Hello from the flags.")],
            "qwen2.5:3b": [Reply.ollama(#"{"label": "billing", "confidence": 0.9}"#)],
        ])
        let gateway = try await ServedGateway(
            environment: standIn.environment,
            arguments: ["--model", "fast=openai/gpt-4o-mini", "--workflow", GatewayTests.root.path + "/workflows/support-triage.yaml"],
            config: nil)
        defer { gateway.stop() }
        let script = """
            import os, openai
            c = openai.OpenAI(base_url=os.environ["PRELLM_URL"] + "/v1", api_key="unused")
            print(sorted(m.id for m in c.models.list()))
            print(c.chat.completions.create(model="fast", messages=[{"role": "user", "content": "hi"}]).choices[0].message.content)
            """
        let python = try await Subprocess.run(
            URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", script],
            environment: ProcessInfo.processInfo.environment.merging(["PRELLM_URL": "http://127.0.0.1:\(gateway.port)"]) { _, b in b })
        #expect(python.status == 0, "\(python.stdout)\n\(python.stderr)")
        #expect(python.stdout.contains("'fast'") && python.stdout.contains("'workflow/support-triage'"), "\(python.stdout)")
        #expect(python.stdout.contains("Hello from the flags."))
    }

    @Test func aMalformedFlagIsAUsageError() async throws {
        let prellm = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("prellm")
        let empty = FileManager.default.temporaryDirectory.path
        let bad = try await Subprocess.run(
            prellm, ["serve", "--model", "openai/gpt-4o-mini"], directory: URL(fileURLWithPath: empty), timeout: .seconds(30))
        #expect(bad.status == 2 && bad.stderr.contains("--model takes NAME=PROVIDER/MODEL"), "\(bad.stderr)")
        let typo = try await Subprocess.run(
            prellm, ["serve", "--model", "fast=opnai/gpt-4o-mini"], directory: URL(fileURLWithPath: empty), timeout: .seconds(30))
        #expect(typo.status == 2 && typo.stderr.contains("opnai"), "\(typo.stderr)")
    }
}
