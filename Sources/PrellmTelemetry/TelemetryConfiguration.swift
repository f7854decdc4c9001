/// TelemetryConfiguration is what the standard OpenTelemetry variables say about traces:
/// where to send them, how, with which headers and resource, and whether prompts and answers
/// may go with them. Tracing is on only when an OTLP endpoint is named (or
/// `OTEL_TRACES_EXPORTER=otlp` asks for the default one): a plain `prellm run` sends nothing.
public struct TelemetryConfiguration: Sendable {
    public enum Encoding: String, Sendable { case protobuf = "http/protobuf", json = "http/json" }

    /// The full URL spans are POSTed to (`…/v1/traces`).
    public var endpoint: String
    public var encoding: Encoding
    /// Extra request headers (`OTEL_EXPORTER_OTLP_HEADERS`): a collector's key, say. They go to
    /// the collector only, never into a span.
    public var headers: [(name: String, value: String)]
    public var resource: TelemetryResource
    /// Whether prompts and answers are recorded (`OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`).
    public var captureContent: Bool
    public var timeout: Duration
    public var scheduleDelay: Duration
    public var maxQueueSize: Int
    public var maxBatchSize: Int

    /// The configuration the environment asks for: nil when traces are off (no endpoint,
    /// `OTEL_SDK_DISABLED=true`, `OTEL_TRACES_EXPORTER=none`); a message when it asks for
    /// something prellm does not do (gRPC, another exporter).
    public static func from(environment env: [String: String], serviceVersion: String) -> Result<TelemetryConfiguration?, Problem> {
        func value(_ name: String) -> String? { env[name].flatMap { $0.trimmed.isEmpty ? nil : $0.trimmed } }
        if value("OTEL_SDK_DISABLED")?.lowercased() == "true" { return .success(nil) }
        let exporters = value("OTEL_TRACES_EXPORTER")?.lowercased().split(separator: ",").map { String($0).trimmed } ?? []
        if exporters.contains("none") { return .success(nil) }
        if let other = exporters.first(where: { $0 != "otlp" }) {
            return .failure(
                Problem(message: "OTEL_TRACES_EXPORTER=\(other) is not supported: prellm exports traces over OTLP/HTTP only (otlp, none)"))
        }
        let endpoint: String
        if let traces = value("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
            endpoint = traces
        } else if let base = value("OTEL_EXPORTER_OTLP_ENDPOINT") {
            endpoint = (base.hasSuffix("/") ? String(base.dropLast()) : base) + "/v1/traces"
        } else if exporters == ["otlp"] {
            endpoint = "http://localhost:4318/v1/traces"
        } else {
            return .success(nil)
        }
        let protocolName = value("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") ?? value("OTEL_EXPORTER_OTLP_PROTOCOL") ?? "http/protobuf"
        guard let encoding = Encoding(rawValue: protocolName) else {
            return .failure(Problem(message: "OTEL_EXPORTER_OTLP_PROTOCOL=\(protocolName) is not supported: use http/protobuf or http/json"))
        }
        let headers = pairs(value("OTEL_EXPORTER_OTLP_HEADERS")) + pairs(value("OTEL_EXPORTER_OTLP_TRACES_HEADERS"))
        return .success(
            TelemetryConfiguration(
                endpoint: endpoint, encoding: encoding, headers: headers,
                resource: resource(env, serviceVersion: serviceVersion),
                captureContent: value("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT")?.lowercased() == "true",
                timeout: milliseconds(value("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT") ?? value("OTEL_EXPORTER_OTLP_TIMEOUT"), default: 10_000),
                scheduleDelay: milliseconds(value("OTEL_BSP_SCHEDULE_DELAY"), default: 5_000),
                maxQueueSize: max(1, value("OTEL_BSP_MAX_QUEUE_SIZE").flatMap { Int($0) } ?? 2048),
                maxBatchSize: max(1, value("OTEL_BSP_MAX_EXPORT_BATCH_SIZE").flatMap { Int($0) } ?? 512)))
    }

    public struct Problem: Error, Sendable {
        public var message: String
    }

    /// `service.name` from `OTEL_SERVICE_NAME`, else `OTEL_RESOURCE_ATTRIBUTES`, else `prellm`;
    /// the SDK's own attributes say what made the spans.
    static func resource(_ env: [String: String], serviceVersion: String) -> TelemetryResource {
        var attributes = pairs(env["OTEL_RESOURCE_ATTRIBUTES"]).map { Attribute($0.name, .string($0.value)) }
        let service = env["OTEL_SERVICE_NAME"].flatMap { $0.trimmed.isEmpty ? nil : $0.trimmed }
        attributes.removeAll { $0.key == "service.name" && service != nil }
        if !attributes.contains(where: { $0.key == "service.name" }) { attributes.append(Attribute("service.name", .string(service ?? "prellm"))) }
        if !attributes.contains(where: { $0.key == "service.version" }) { attributes.append(Attribute("service.version", .string(serviceVersion))) }
        attributes += [
            Attribute("telemetry.sdk.name", .string("prellm")), Attribute("telemetry.sdk.language", .string("swift")),
            Attribute("telemetry.sdk.version", .string(serviceVersion)),
        ]
        return TelemetryResource(attributes: attributes)
    }

    /// `key=value,key2=value2` with percent-encoded values (the W3C Baggage form both
    /// `OTEL_EXPORTER_OTLP_HEADERS` and `OTEL_RESOURCE_ATTRIBUTES` use); malformed entries are skipped.
    static func pairs(_ text: String?) -> [(name: String, value: String)] {
        guard let text else { return [] }
        return text.split(separator: ",").compactMap { entry -> (name: String, value: String)? in
            let halves = entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard halves.count == 2 else { return nil }
            let name = String(halves[0]).trimmed, value = String(halves[1]).trimmed
            return name.isEmpty ? nil : (name, percentDecoded(value))
        }
    }

    static func percentDecoded(_ s: String) -> String {
        var out: [UInt8] = []
        var bytes = Array(s.utf8)[...]
        while let b = bytes.popFirst() {
            if b == UInt8(ascii: "%"), bytes.count >= 2, let v = UInt8(String(decoding: bytes.prefix(2), as: UTF8.self), radix: 16) {
                out.append(v)
                bytes = bytes.dropFirst(2)
            } else {
                out.append(b)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func milliseconds(_ text: String?, default fallback: Int) -> Duration {
        .milliseconds(text.flatMap { Int($0) }.flatMap { $0 > 0 ? $0 : nil } ?? fallback)
    }
}

extension String {
    var trimmed: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
