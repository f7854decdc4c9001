import PrellmSchema

/// Encodes an `ExportTraceServiceRequest` as OTLP/JSON (`OTEL_EXPORTER_OTLP_PROTOCOL=http/json`):
/// protobuf's JSON mapping with OTLP's own rules — trace and span ids as lower-case hex (not
/// base64), enums as numbers, 64-bit integers as decimal strings, lowerCamelCase keys.
public enum OTLPJSON {
    public static func exportRequest(_ spans: [SpanData], resource: TelemetryResource, scope: String, version: String) -> [UInt8] {
        let scopeSpans: JSONValue = .object([
            "scope": .object(["name": .string(scope), "version": .string(version)]),
            "spans": .array(spans.map(span)),
        ])
        let resourceSpans: JSONValue = .object([
            "resource": .object(["attributes": .array(resource.attributes.map(keyValue))]),
            "scopeSpans": .array([scopeSpans]),
        ])
        return Array(JSONValue.object(["resourceSpans": .array([resourceSpans])]).jsonText.utf8)
    }

    static func span(_ s: SpanData) -> JSONValue {
        var o: [String: JSONValue] = [
            "traceId": .string(hex(s.traceHigh) + hex(s.traceLow)), "spanId": .string(hex(s.spanID)), "name": .string(s.name),
            "kind": .number(Double(s.kind.rawValue)), "startTimeUnixNano": .string(String(s.start)),
            "endTimeUnixNano": .string(String(s.end)), "attributes": .array(s.attributes.map(keyValue)),
        ]
        if s.parentSpanID != 0 { o["parentSpanId"] = .string(hex(s.parentSpanID)) }
        if s.status != .unset {
            o["status"] = .object(["code": .number(Double(s.status.code.rawValue)), "message": .string(s.status.message)])
        }
        return .object(o)
    }

    static func keyValue(_ a: Attribute) -> JSONValue { .object(["key": .string(a.key), "value": anyValue(a.value)]) }

    static func anyValue(_ v: AttributeValue) -> JSONValue {
        switch v {
        case .string(let s): .object(["stringValue": .string(s)])
        case .bool(let b): .object(["boolValue": .bool(b)])
        case .int(let i): .object(["intValue": .string(String(i))])
        case .double(let d): .object(["doubleValue": .number(d)])
        case .strings(let list): .object(["arrayValue": .object(["values": .array(list.map { .object(["stringValue": .string($0)]) })])])
        }
    }

    static func hex(_ v: UInt64) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}
