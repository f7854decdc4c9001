import PrellmCompiler
import PrellmProviderKit
import PrellmRuntime
import PrellmSchema
import PrellmSyntax
import Synchronization
import Testing

@testable import PrellmTelemetry

@Suite struct ProtobufEncodingTests {
    @Test func varintsAreSevenBitsAGroupLowFirst() {
        var w = ProtobufWriter()
        w.rawVarint(1)
        w.rawVarint(300)
        w.rawVarint(UInt64.max)
        #expect(w.bytes == [0x01, 0xac, 0x02] + Array(repeating: 0xff, count: 9) + [0x01])
    }

    /// A small span, byte for byte as protoc would write it (field order by number).
    @Test func aSpanEncodesToKnownBytes() {
        let span = SpanData(
            traceHigh: 0x0102_0304_0506_0708, traceLow: 0x090a_0b0c_0d0e_0f10, spanID: 0x1112_1314_1516_1718, parentSpanID: 0, name: "a",
            kind: .client, start: 1, end: 2, attributes: [Attribute("k", .int(300))], status: .error("x"))
        var w = ProtobufWriter()
        OTLPProtobuf.span(&w, span)
        let expected: [UInt8] =
            [0x0a, 0x10] + Array(0x01...0x10) + [0x12, 0x08] + Array(0x11...0x18)
            + [0x2a, 0x01, 0x61, 0x30, 0x03]
            + [0x39, 0x01, 0, 0, 0, 0, 0, 0, 0, 0x41, 0x02, 0, 0, 0, 0, 0, 0, 0]
            + [0x4a, 0x08, 0x0a, 0x01, 0x6b, 0x12, 0x03, 0x18, 0xac, 0x02]
            + [0x7a, 0x05, 0x12, 0x01, 0x78, 0x18, 0x02]
        #expect(w.bytes == expected)
    }

    /// AnyValue is a oneof: a zero, false or empty value is still written (else it reads as unset).
    @Test func zeroValuesInsideAnyValueAreWritten() {
        var w = ProtobufWriter()
        OTLPProtobuf.anyValue(&w, .int(0))
        OTLPProtobuf.anyValue(&w, .bool(false))
        OTLPProtobuf.anyValue(&w, .string(""))
        OTLPProtobuf.anyValue(&w, .strings(["s"]))
        #expect(w.bytes == [0x18, 0x00, 0x10, 0x00, 0x0a, 0x00, 0x2a, 0x05, 0x0a, 0x03, 0x0a, 0x01, 0x73])
    }

    @Test func jsonUsesHexIdsAndStringIntegers() throws {
        let span = SpanData(
            traceHigh: 1, traceLow: 2, spanID: 3, parentSpanID: 4, name: "n", kind: .server, start: 5, end: 6,
            attributes: [Attribute("i", .int(7))])
        let json = try JSONParser.parse(
            bytes: OTLPJSON.exportRequest([span], resource: TelemetryResource(attributes: []), scope: "prellm", version: "t"))
        let s = json["resourceSpans"]?[0]?["scopeSpans"]?[0]?["spans"]?[0]
        #expect(s?["traceId"] == "00000000000000010000000000000002")
        #expect(s?["spanId"] == "0000000000000003")
        #expect(s?["parentSpanId"] == "0000000000000004")
        #expect(s?["startTimeUnixNano"] == "5")
        #expect(s?["kind"] == .number(2))
        #expect(s?["attributes"]?[0]?["value"]?["intValue"] == "7")
    }
}

@Suite struct TraceparentTests {
    @Test func aValidHeaderParsesAndRoundTrips() throws {
        let header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        let c = try #require(TraceContext(traceparent: header))
        #expect(c.traceIDHex == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(c.spanIDHex == "00f067aa0ba902b7")
        #expect(c.flags == 1)
        #expect(c.traceparent == header)
        #expect(TraceContext(traceparent: " " + header + " ")?.traceparent == header)
    }

    @Test(arguments: [
        "", "garbage", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
        "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",  // a short trace id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01",  // a short span id
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  // upper case
        "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",  // not hex
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",  // version 00 has four fields
        "0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  // all-zero trace id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  // all-zero span id
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  // version ff is invalid
    ])
    func aMalformedHeaderIsIgnored(_ header: String) {
        #expect(TraceContext(traceparent: header) == nil)
    }

    /// The context an attempt carries upstream is not part of what the model answers: two
    /// requests that differ only in it share a cache entry.
    @Test func theTraceContextIsOutsideTheCacheKey() {
        var traced = ChatRequest(model: "m", messages: [.user("hi")])
        let plain = traced
        traced.traceContext = TraceContext(traceHigh: 1, traceLow: 2, spanID: 3)
        #expect(ModelRouter.cacheKey("openai/m", traced) == ModelRouter.cacheKey("openai/m", plain))
    }

    /// A later version may add fields; its first four are read as version 00's.
    @Test func aFutureVersionIsReadAsFarAsItIsKnown() {
        let c = TraceContext(traceparent: "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-more")
        #expect(c?.spanIDHex == "00f067aa0ba902b7")
        #expect(c?.flags == 0)
    }
}

@Suite struct TelemetryConfigurationTests {
    func configuration(_ env: [String: String]) -> TelemetryConfiguration? {
        (try? TelemetryConfiguration.from(environment: env, serviceVersion: "t").get()) ?? nil
    }

    @Test func nothingIsExportedUnlessAnEndpointIsNamed() {
        #expect(configuration([:]) == nil)
        #expect(configuration(["OTEL_SERVICE_NAME": "x"]) == nil)
        #expect(configuration(["OTEL_TRACES_EXPORTER": "otlp"])?.endpoint == "http://localhost:4318/v1/traces")
    }

    @Test func theTracesEndpointIsTakenAsItIsAndTheBaseOneGetsThePath() {
        #expect(configuration(["OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318/"])?.endpoint == "http://c:4318/v1/traces")
        #expect(
            configuration(["OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://t/x"])?.endpoint
                == "http://t/x")
    }

    @Test func disabledOrNoneTurnsTracesOff() {
        #expect(configuration(["OTEL_EXPORTER_OTLP_ENDPOINT": "http://c", "OTEL_SDK_DISABLED": "true"]) == nil)
        #expect(configuration(["OTEL_EXPORTER_OTLP_ENDPOINT": "http://c", "OTEL_TRACES_EXPORTER": "none"]) == nil)
    }

    @Test func protocolHeadersResourceAndContent() throws {
        let c = try #require(
            configuration([
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json",
                "OTEL_EXPORTER_OTLP_HEADERS": "api-key=a%20b, x=1,bad", "OTEL_SERVICE_NAME": "svc",
                "OTEL_RESOURCE_ATTRIBUTES": "service.name=ignored,deployment.environment=prod",
                "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "true",
            ]))
        #expect(c.encoding == .json)
        #expect(c.headers.map(\.name) == ["api-key", "x"])
        #expect(c.headers.first?.value == "a b")
        #expect(c.resource.attributes.first { $0.key == "service.name" }?.value == .string("svc"))
        #expect(c.resource.attributes.first { $0.key == "deployment.environment" }?.value == .string("prod"))
        #expect(c.captureContent)
        #expect(configuration(["OTEL_EXPORTER_OTLP_ENDPOINT": "http://c"])?.captureContent == false)
        #expect(configuration(["OTEL_EXPORTER_OTLP_ENDPOINT": "http://c"])?.encoding == .protobuf)
    }

    @Test func grpcIsRefusedWithAReason() {
        let r = TelemetryConfiguration.from(
            environment: ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://c", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"], serviceVersion: "t")
        guard case .failure(let p) = r else {
            Issue.record("grpc was accepted")
            return
        }
        #expect(p.message.contains("grpc"))
    }
}

/// Spans kept in memory instead of exported.
final class MemoryExporter: SpanExporting {
    private let spans = Mutex<[SpanData]>([])
    func enqueue(_ span: SpanData) { spans.withLock { $0.append(span) } }
    var all: [SpanData] { spans.withLock { $0 } }
}

/// Fails each model's first request with a 500, then answers; records what it was sent.
final class FlakyProvider: ChatProvider {
    let name = "flaky"
    private let state = Mutex<(tried: Set<String>, requests: [ChatRequest])>(([], []))
    var requests: [ChatRequest] { state.withLock { $0.requests } }

    func complete(_ request: ChatRequest) async throws(ProviderError) -> ChatResponse {
        let first = state.withLock { s in
            s.requests.append(request)
            return s.tried.insert(request.model).inserted
        }
        if first { throw ProviderError(provider: name, kind: .server, status: 500, message: "try again") }
        return ChatResponse(model: request.model + "-2024", text: "the answer", finishReason: .stop, usage: Usage(inputTokens: 11, outputTokens: 7))
    }

    func stream(_ request: ChatRequest) -> AsyncThrowingStream<ChatDelta, any Error> {
        AsyncThrowingStream { $0.finish(throwing: ProviderError(provider: "flaky", kind: .server, message: "no streams")) }
    }
}

struct FlakyModels: ModelAccess {
    let provider: FlakyProvider
    func provider(for model: String) throws(ProviderError) -> (provider: any ChatProvider, model: String) {
        (provider, String(model.split(separator: "/", maxSplits: 1).last ?? ""))
    }
    func price(for model: String) -> ModelPrice? { ModelPrice(input: 1, output: 2) }
    func capabilities(for model: String) -> ModelCapabilities? { ModelCapabilities(jsonMode: true, structuredOutput: true) }
}

/// What no clock has to wait for: retries sleep no time.
struct InstantClock: RunClock {
    var now: ContinuousClock.Instant { .now }
    func sleep(for duration: Duration) async throws {}
}

@Suite struct TracerTests {
    static let workflow = """
        prellm: 1
        name: answerer
        inputs:
          query: string
        models:
          m: {use: openai/gpt-4o-mini, max_tokens: 50}
        steps:
          - id: answer
            call: {model: m, prompt: "secret prompt {{ inputs.query }}"}
        """

    func run(capture: Bool, parent: TraceContext? = nil) async throws -> (spans: [SpanData], requests: [ChatRequest]) {
        let compiled = WorkflowCompiler().compile(source: Source(path: "/tmp/prellm-telemetry-test/w.yaml", text: Self.workflow))
        #expect(!compiled.hasErrors, "\(DiagnosticRenderer.text(compiled.diagnostics, sources: compiled.sources))")
        let exporter = MemoryExporter(), tracer = Tracer(exporter: exporter, captureContent: capture)
        let provider = FlakyProvider()
        var context = RunContext(models: FlakyModels(provider: provider), clock: InstantClock(), cache: nil, events: tracer)
        context.tracing = tracer
        context.traceParent = parent
        let result = try await Interpreter(compiled).run(inputs: ["query": "q"], context: context)
        #expect(result.error == nil, "\(String(describing: result.error))")
        return (exporter.all, provider.requests)
    }

    /// run → step → one CLIENT span per attempt, the failed first one marked as an error; each
    /// request upstream carries its own attempt span's context.
    @Test func aRunsSpansNestRunStepAttempt() async throws {
        let (spans, requests) = try await run(capture: false)
        let run = try #require(spans.first { $0.name == "invoke_workflow answerer" })
        let step = try #require(spans.first { $0.name == "step answer" })
        let attempts = spans.filter { $0.name == "chat gpt-4o-mini" }
        #expect(spans.count == 4)
        #expect(run.parentSpanID == 0)
        #expect(step.parentSpanID == run.spanID)
        #expect(attempts.count == 2)
        #expect(attempts.allSatisfy { $0.parentSpanID == step.spanID && $0.kind == .client })
        #expect(Set(spans.map(\.traceHigh)).count == 1 && Set(spans.map(\.traceLow)).count == 1)
        let (failed, answered) = (attempts[0], attempts[1])
        #expect(failed.status.code == .error)
        #expect(failed.attribute("error.type") == .string("500"))
        #expect(answered.status == .unset)
        #expect(answered.attribute("gen_ai.operation.name") == .string("chat"))
        #expect(answered.attribute("gen_ai.provider.name") == .string("openai"))
        #expect(answered.attribute("gen_ai.request.model") == .string("gpt-4o-mini"))
        #expect(answered.attribute("gen_ai.response.model") == .string("gpt-4o-mini-2024"))
        #expect(answered.attribute("gen_ai.usage.input_tokens") == .int(11))
        #expect(answered.attribute("gen_ai.usage.output_tokens") == .int(7))
        #expect(answered.attribute("gen_ai.response.finish_reasons") == .strings(["stop"]))
        #expect(answered.attribute("prellm.cost_usd") == .double(25.0 / 1_000_000))
        #expect(requests.map { $0.traceContext?.spanID } == attempts.map(\.spanID))
        #expect(requests.allSatisfy { $0.traceContext?.traceHigh == run.traceHigh })
        // Without the opt-in, no prompt or answer is in any span.
        for span in spans {
            for a in span.attributes {
                if case .string(let s) = a.value { #expect(!s.contains("secret prompt") && !s.contains("the answer")) }
            }
        }
    }

    @Test func promptsAndAnswersOnlyWhenOptedIn() async throws {
        let (spans, _) = try await run(capture: true)
        let answered = try #require(spans.last { $0.name == "chat gpt-4o-mini" })
        guard case .string(let input)? = answered.attribute("gen_ai.input.messages"),
            case .string(let output)? = answered.attribute("gen_ai.output.messages")
        else {
            Issue.record("no messages recorded")
            return
        }
        #expect(input.contains("secret prompt q"))
        #expect(output.contains("the answer"))
    }

    /// A map's items' attempts hang under the map step's span (their paths are `each[0]`, …).
    @Test func aMapsAttemptsHangUnderTheMapStep() async throws {
        let yaml = """
            prellm: 1
            inputs:
              items: {type: array, items: {type: string}, maxItems: 5}
            steps:
              - id: each
                map:
                  over: "{{ inputs.items }}"
                  as: it
                  concurrency: 1
                  step:
                    call: {model: openai/gpt-4o-mini, prompt: "{{ it }}"}
            """
        let compiled = WorkflowCompiler().compile(source: Source(path: "/tmp/prellm-telemetry-test/m.yaml", text: yaml))
        #expect(!compiled.hasErrors, "\(DiagnosticRenderer.text(compiled.diagnostics, sources: compiled.sources))")
        let exporter = MemoryExporter(), tracer = Tracer(exporter: exporter)
        var context = RunContext(models: FlakyModels(provider: FlakyProvider()), clock: InstantClock(), cache: nil, events: tracer)
        context.tracing = tracer
        let result = try await Interpreter(compiled).run(inputs: ["items": .array(["a", "b"])], context: context)
        #expect(result.error == nil, "\(String(describing: result.error))")
        let spans = exporter.all
        let map = try #require(spans.first { $0.name == "step each" })
        let attempts = spans.filter { $0.kind == .client }
        #expect(attempts.count == 3)  // the first item's failed try, its retry, the second item
        #expect(attempts.allSatisfy { $0.parentSpanID == map.spanID })
    }

    @Test func aRunJoinsItsParent() async throws {
        let parent = try #require(TraceContext(traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"))
        let (spans, _) = try await run(capture: false, parent: parent)
        let run = try #require(spans.first { $0.name == "invoke_workflow answerer" })
        #expect(run.parentSpanID == parent.spanID)
        #expect(spans.allSatisfy { $0.traceHigh == parent.traceHigh && $0.traceLow == parent.traceLow })
    }
}

@Suite struct ExporterTests {
    /// A collector that is not there (a closed loopback port), batches that never fill on their own.
    func exporter(queue: Int, log: @escaping @Sendable (String) -> Void) throws -> OTLPExporter {
        var env = ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9", "OTEL_BSP_SCHEDULE_DELAY": "600000"]
        env["OTEL_BSP_MAX_QUEUE_SIZE"] = String(queue)
        let configuration = try #require(try TelemetryConfiguration.from(environment: env, serviceVersion: "t").get())
        return OTLPExporter(configuration: configuration, version: "t", log: log)
    }

    static func span() -> SpanData {
        SpanData(traceHigh: 1, traceLow: 1, spanID: 1, parentSpanID: 0, name: "s", kind: .internal, start: 1, end: 2)
    }

    /// Past its buffer the exporter drops and counts; enqueueing never waits for the network.
    @Test func aFullBufferDropsAndCounts() throws {
        let e = try exporter(queue: 2) { _ in }
        let started = ContinuousClock.now
        for _ in 0..<5 { e.enqueue(Self.span()) }
        #expect(ContinuousClock.now - started < .milliseconds(100))
        #expect(e.dropped == 3)
    }

    /// A collector that is down is said once, however many exports fail.
    @Test func aFailingExportIsLoggedOnce() async throws {
        let lines = Mutex<[String]>([])
        let e = try exporter(queue: 10) { line in lines.withLock { $0.append(line) } }
        e.enqueue(Self.span())
        await e.flush(timeout: .seconds(2))
        e.enqueue(Self.span())
        await e.shutdown(timeout: .seconds(2))
        let logged = lines.withLock { $0 }
        #expect(logged.count == 1)
        #expect(logged.first?.contains("127.0.0.1:9") == true)
    }
}
