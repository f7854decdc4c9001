import Foundation
import PrellmHTTP
import PrellmSchema
import ProviderStandIn
import Testing

/// Traces as a real collector sees them: `prellm serve` and `prellm run` as processes export to
/// a Python OTLP/HTTP receiver (otlp_receiver.py) that decodes each request with the official
/// opentelemetry-proto package and writes the spans it decoded, one JSON line each.
@Suite(.serialized) struct OpenTelemetryLiveTests {
    static let incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

    /// A chat request with a `traceparent`, whose first upstream attempt fails with a 500 and
    /// whose retry answers: the SERVER span joins the client's trace, each attempt is a CLIENT
    /// span `chat gpt-4o-mini` under it, the failed one an error, and the stand-in received each
    /// attempt's own context. The prompt is in a span only with the opt-in (tested with JSON).
    @Test(arguments: ["http/protobuf", "http/json"])
    func aGatewayRequestJoinsTheIncomingTraceAndPassesItOn(_ encoding: String) async throws {
        let receiver = try await OTLPReceiver()
        defer { receiver.stop() }
        let standIn = try ScriptedStandIn([
            "gpt-4o-mini": [
                Reply.status(500, #"{"error":{"message":"overloaded","type":"server_error"}}"#),
                Reply.openAI("Hello there.", promptTokens: 13, completionTokens: 21),
            ]
        ])
        let capture = encoding == "http/json"
        var environment = standIn.environment
        environment["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.url
        environment["OTEL_EXPORTER_OTLP_PROTOCOL"] = encoding
        environment["OTEL_EXPORTER_OTLP_HEADERS"] = "x-collector-key=collector-secret"
        environment["OTEL_SERVICE_NAME"] = "prellm-gateway-test"
        environment["OTEL_BSP_SCHEDULE_DELAY"] = "100"
        if capture { environment["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = "true" }
        let gateway = try await ServedGateway(environment: environment) { port in
            """
            prellm: 1
            server: {host: 127.0.0.1, port: \(port)}
            models:
              fast: openai/gpt-4o-mini
            """
        }
        defer { gateway.stop() }
        let response = try await HTTPClient.shared.send(
            HTTPRequest(
                method: "POST", url: "http://127.0.0.1:\(gateway.port)/v1/chat/completions",
                headers: [("Content-Type", "application/json"), ("traceparent", Self.incoming)],
                body: Array(#"{"model":"fast","messages":[{"role":"user","content":"the-secret-prompt"}]}"#.utf8)))
        #expect(response.head.status == 200, "\(String(decoding: response.body, as: UTF8.self))")

        let spans = try await receiver.spans { spans in spans.contains { $0["name"] == "POST /v1/chat/completions" } }
        #expect(!spans.contains { $0["decode_error"] != nil }, "\(spans)")
        let server = try #require(spans.first { $0["name"] == "POST /v1/chat/completions" })
        #expect(server["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(server["parent_span_id"] == "00f067aa0ba902b7")
        #expect(server["kind"] == .number(2))
        #expect(server["attributes"]?["http.request.method"] == "POST")
        #expect(server["attributes"]?["http.route"] == "/v1/chat/completions")
        #expect(server["attributes"]?["http.response.status_code"] == .number(200))
        #expect(server["resource"]?["service.name"] == "prellm-gateway-test")
        #expect(server["content_type"] == .string(capture ? "application/json" : "application/x-protobuf"))
        #expect(server["headers"]?["x-collector-key"] == "collector-secret")

        let attempts = spans.filter { $0["name"] == "chat gpt-4o-mini" }.sorted { ($0["start"]?.numberValue ?? 0) < ($1["start"]?.numberValue ?? 0) }
        #expect(attempts.count == 2)
        #expect(attempts.allSatisfy { $0["trace_id"] == server["trace_id"] && $0["parent_span_id"] == server["span_id"] && $0["kind"] == .number(3) })
        let (failed, answered) = (try #require(attempts.first), try #require(attempts.last))
        #expect(failed["status_code"] == .number(2))
        #expect(failed["attributes"]?["error.type"] == "500")
        #expect(answered["status_code"] == .number(0))
        let a = try #require(answered["attributes"])
        #expect(a["gen_ai.operation.name"] == "chat")
        #expect(a["gen_ai.provider.name"] == "openai")
        #expect(a["gen_ai.request.model"] == "gpt-4o-mini")
        #expect(a["gen_ai.response.model"] == "m")
        #expect(a["gen_ai.usage.input_tokens"] == .number(13))
        #expect(a["gen_ai.usage.output_tokens"] == .number(21))
        #expect(a["gen_ai.response.finish_reasons"] == .array(["stop"]))
        #expect(a["prellm.cost_usd"]?.numberValue ?? 0 > 0)

        // Each upstream request carried its own attempt span's context.
        let sent = standIn.requests.filter { $0.path.hasSuffix("/chat/completions") }.map { $0.header("traceparent") }
        #expect(sent == attempts.map { "00-4bf92f3577b34da6a3ce929d0e0e4736-\($0["span_id"]?.stringValue ?? "")-01" })

        // The prompt and answer only with the opt-in; no key of any kind in any span.
        let text = spans.map(\.jsonText).joined()
        #expect(text.contains("the-secret-prompt") == capture)
        #expect(text.contains("Hello there.") == capture)
        #expect(!text.contains("sk-standin"))
        #expect(!spans.contains { $0["attributes"]?.jsonText.contains("collector-secret") ?? false })
    }

    /// A malformed `traceparent` is ignored: the request starts a trace of its own.
    @Test func aMalformedTraceparentStartsANewTrace() async throws {
        let receiver = try await OTLPReceiver()
        defer { receiver.stop() }
        let standIn = try ScriptedStandIn(["gpt-4o-mini": [Reply.openAI("Hi.")]])
        var environment = standIn.environment
        environment["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = receiver.url + "/v1/traces"
        environment["OTEL_BSP_SCHEDULE_DELAY"] = "100"
        let gateway = try await ServedGateway(environment: environment) { port in
            "prellm: 1\nserver: {host: 127.0.0.1, port: \(port)}\nmodels:\n  fast: openai/gpt-4o-mini\n"
        }
        defer { gateway.stop() }
        let bad = "00-00000000000000000000000000000000-00f067aa0ba902b7-01"
        let response = try await HTTPClient.shared.send(
            HTTPRequest(
                method: "POST", url: "http://127.0.0.1:\(gateway.port)/v1/chat/completions",
                headers: [("Content-Type", "application/json"), ("traceparent", bad)],
                body: Array(#"{"model":"fast","messages":[{"role":"user","content":"hi"}]}"#.utf8)))
        #expect(response.head.status == 200)
        let spans = try await receiver.spans { spans in spans.contains { $0["name"] == "POST /v1/chat/completions" } }
        let server = try #require(spans.first { $0["name"] == "POST /v1/chat/completions" })
        #expect(server["parent_span_id"] == "")
        #expect(server["trace_id"]?.stringValue?.count == 32)
        #expect(server["trace_id"] != "00000000000000000000000000000000")
        let upstream = try #require(standIn.requests.first { $0.path.hasSuffix("/chat/completions") }?.header("traceparent"))
        #expect(upstream.hasPrefix("00-" + (server["trace_id"]?.stringValue ?? "?") + "-"))
    }

    /// `prellm run` exports its run → step → attempt spans before it exits.
    @Test func aRunExportsRunStepAndAttemptSpans() async throws {
        let receiver = try await OTLPReceiver()
        defer { receiver.stop() }
        let standIn = try ScriptedStandIn(["gpt-4o-mini": [Reply.openAI("Short answer.", promptTokens: 4, completionTokens: 2)]])
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("prellm-otel-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let workflow = dir.appendingPathComponent("w.yaml")
        try """
        prellm: 1
        name: summarise
        inputs:
          text: string
        steps:
          - id: summary
            call: {model: openai/gpt-4o-mini, prompt: "Summarise {{ inputs.text }}"}
        """.write(to: workflow, atomically: true, encoding: .utf8)
        var environment = standIn.environment
        environment["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.url
        let prellm = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("prellm")
        let run = try await Subprocess.run(prellm, ["run", workflow.path, "--input", "text=hello"], environment: environment)
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        // The spans were sent before the process exited (a span left in its batch would never
        // arrive); the wait is only the receiver's, decoding and writing them on a busy machine.
        let spans = try await receiver.spans(within: .seconds(10)) { $0.count >= 3 }
        let runSpan = try #require(spans.first { $0["name"] == "invoke_workflow summarise" })
        let step = try #require(spans.first { $0["name"] == "step summary" })
        let attempt = try #require(spans.first { $0["name"] == "chat gpt-4o-mini" })
        #expect(runSpan["parent_span_id"] == "")
        #expect(step["parent_span_id"] == runSpan["span_id"])
        #expect(attempt["parent_span_id"] == step["span_id"])
        #expect(Set([runSpan, step, attempt].compactMap { $0["trace_id"]?.stringValue }).count == 1)
        #expect(runSpan["attributes"]?["gen_ai.operation.name"] == "invoke_workflow")
        #expect(step["attributes"]?["prellm.step.kind"] == "call")
        #expect(attempt["attributes"]?["gen_ai.usage.output_tokens"] == .number(2))
    }
}

/// otlp_receiver.py on a free loopback port.
final class OTLPReceiver {
    let process: Process
    /// The receiver's stdin: closing it stops the receiver.
    let input = Pipe()
    let dir: URL
    let url: String

    init() async throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("prellm-otlp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("otlp_receiver.py")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", script.path, dir.appendingPathComponent("port").path, dir.appendingPathComponent("spans.jsonl").path]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        p.standardInput = input
        try p.run()
        process = p
        for _ in 0..<100 {
            if let port = try? String(contentsOf: dir.appendingPathComponent("port"), encoding: .utf8), !port.isEmpty {
                url = "http://127.0.0.1:" + port
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        p.terminate()
        throw StandInError("the OTLP receiver did not start (is the opentelemetry-proto Python package installed? scripts/setup)")
    }

    /// The spans decoded so far, once `ready` holds of them (or `within` has passed).
    func spans(within limit: Duration = .seconds(10), until ready: ([JSONValue]) -> Bool) async throws -> [JSONValue] {
        let deadline = ContinuousClock.now + limit
        while true {
            let text = (try? String(contentsOf: dir.appendingPathComponent("spans.jsonl"), encoding: .utf8)) ?? ""
            let spans = try text.split(separator: "\n").map { try JSONParser.parse(String($0)) }
            if ready(spans) || ContinuousClock.now >= deadline { return spans }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    func stop() {
        try? input.fileHandleForWriting.close()
        if process.isRunning { process.terminate() }
        try? FileManager.default.removeItem(at: dir)
    }
}
