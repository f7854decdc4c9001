/// Encodes an OTLP `ExportTraceServiceRequest` as protobuf by hand: only the messages a trace
/// export needs (ResourceSpans, Resource, ScopeSpans, InstrumentationScope, Span, Status,
/// KeyValue, AnyValue, ArrayValue), with the field numbers of opentelemetry-proto's
/// `trace/v1/trace.proto`, `common/v1/common.proto` and `resource/v1/resource.proto`. This is
/// what spares prellm a protobuf library and swift-otel (minutes of clean build).
public enum OTLPProtobuf {
    public static func exportRequest(_ spans: [SpanData], resource: TelemetryResource, scope: String, version: String) -> [UInt8] {
        var w = ProtobufWriter()
        // ExportTraceServiceRequest.resource_spans = 1
        w.message(1) { rs in
            // ResourceSpans.resource = 1 → Resource.attributes = 1
            rs.message(1) { r in for a in resource.attributes { r.message(1) { keyValue(&$0, a) } } }
            // ResourceSpans.scope_spans = 2
            rs.message(2) { ss in
                // ScopeSpans.scope = 1 → InstrumentationScope.name = 1, version = 2
                ss.message(1) { s in
                    s.string(1, scope)
                    s.string(2, version)
                }
                for span in spans { ss.message(2) { self.span(&$0, span) } }
            }
        }
        return w.bytes
    }

    /// `Span`: trace_id 1, span_id 2, parent_span_id 4, name 5, kind 6, start 7, end 8,
    /// attributes 9, status 15.
    static func span(_ w: inout ProtobufWriter, _ s: SpanData) {
        w.data(1, bigEndian(s.traceHigh) + bigEndian(s.traceLow))
        w.data(2, bigEndian(s.spanID))
        if s.parentSpanID != 0 { w.data(4, bigEndian(s.parentSpanID)) }
        w.string(5, s.name)
        w.varint(6, UInt64(s.kind.rawValue))
        w.fixed64(7, s.start)
        w.fixed64(8, s.end)
        for a in s.attributes { w.message(9) { keyValue(&$0, a) } }
        if s.status != .unset {
            // Status.message = 2, code = 3
            w.message(15) { st in
                st.string(2, s.status.message)
                st.varint(3, UInt64(s.status.code.rawValue))
            }
        }
    }

    /// `KeyValue`: key 1, value 2.
    static func keyValue(_ w: inout ProtobufWriter, _ a: Attribute) {
        w.string(1, a.key)
        w.message(2) { anyValue(&$0, a.value) }
    }

    /// `AnyValue`: string 1, bool 2, int 3, double 4, array 5 (`ArrayValue.values` = 1).
    static func anyValue(_ w: inout ProtobufWriter, _ v: AttributeValue) {
        switch v {
        case .string(let s): w.string(1, s, always: true)
        case .bool(let b): w.varint(2, b ? 1 : 0, always: true)
        case .int(let i): w.varint(3, UInt64(bitPattern: i), always: true)
        case .double(let d): w.double(4, d)
        case .strings(let list): w.message(5) { arr in for s in list { arr.message(1) { $0.string(1, s, always: true) } } }
        }
    }

    static func bigEndian(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (56 - 8 * $0)) } }
}

/// The protobuf wire format's few primitives: varints, fixed64, doubles and length-delimited
/// fields. A nested message is written to a writer of its own, then length-prefixed.
public struct ProtobufWriter {
    public private(set) var bytes: [UInt8] = []
    public init() {}

    public mutating func rawVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    /// A field's key: its number and wire type (0 varint, 1 fixed64, 2 length-delimited).
    mutating func key(_ field: Int, _ wire: UInt64) { rawVarint(UInt64(field) << 3 | wire) }

    /// proto3 leaves default values out, except inside a oneof (AnyValue), where `always` says so.
    public mutating func varint(_ field: Int, _ value: UInt64, always: Bool = false) {
        guard value != 0 || always else { return }
        key(field, 0)
        rawVarint(value)
    }

    public mutating func fixed64(_ field: Int, _ value: UInt64) {
        guard value != 0 else { return }
        key(field, 1)
        for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * i))) }
    }

    public mutating func double(_ field: Int, _ value: Double) {
        key(field, 1)
        let bits = value.bitPattern
        for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: bits >> (8 * i))) }
    }

    public mutating func data(_ field: Int, _ value: [UInt8]) {
        key(field, 2)
        rawVarint(UInt64(value.count))
        bytes += value
    }

    public mutating func string(_ field: Int, _ value: String, always: Bool = false) {
        guard !value.isEmpty || always else { return }
        data(field, Array(value.utf8))
    }

    public mutating func message(_ field: Int, _ body: (inout ProtobufWriter) -> Void) {
        var inner = ProtobufWriter()
        body(&inner)
        data(field, inner.bytes)
    }
}
