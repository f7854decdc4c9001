/// A SpanData is one finished span, as the exporter sends it: the few fields of OTLP's `Span`
/// that prellm fills (no links; events are not used).
public struct SpanData: Sendable {
    public var traceHigh: UInt64
    public var traceLow: UInt64
    public var spanID: UInt64
    /// Zero for a root span.
    public var parentSpanID: UInt64
    public var name: String
    public var kind: Kind
    /// Unix time in nanoseconds.
    public var start: UInt64
    public var end: UInt64
    public var attributes: [Attribute]
    public var status: Status

    /// OTLP's `Span.SpanKind` numbers.
    public enum Kind: Int, Sendable { case unspecified = 0, `internal` = 1, server = 2, client = 3 }

    /// OTLP's `Status`: the code is unset unless something failed.
    public struct Status: Sendable, Equatable {
        public enum Code: Int, Sendable { case unset = 0, ok = 1, error = 2 }
        public var code: Code
        public var message: String
        public static let unset = Status(code: .unset, message: "")
        public static func error(_ message: String) -> Status { Status(code: .error, message: message) }
    }

    public init(
        traceHigh: UInt64, traceLow: UInt64, spanID: UInt64, parentSpanID: UInt64, name: String, kind: Kind, start: UInt64, end: UInt64 = 0,
        attributes: [Attribute] = [], status: Status = .unset
    ) {
        self.traceHigh = traceHigh
        self.traceLow = traceLow
        self.spanID = spanID
        self.parentSpanID = parentSpanID
        self.name = name
        self.kind = kind
        self.start = start
        self.end = end
        self.attributes = attributes
        self.status = status
    }

    /// Sets an attribute, replacing one of the same key (a span's keys are unique).
    public mutating func set(_ key: String, _ value: AttributeValue) {
        if let i = attributes.firstIndex(where: { $0.key == key }) { attributes[i].value = value } else { attributes.append(Attribute(key, value)) }
    }

    /// The value of an attribute, for tests.
    public func attribute(_ key: String) -> AttributeValue? { attributes.first { $0.key == key }?.value }
}

/// An attribute: a key and one of the AnyValue kinds prellm uses.
public struct Attribute: Sendable, Equatable {
    public var key: String
    public var value: AttributeValue
    public init(_ key: String, _ value: AttributeValue) {
        self.key = key
        self.value = value
    }
}

public enum AttributeValue: Sendable, Equatable {
    case string(String)
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case strings([String])
}

/// The resource every span of a process shares (`service.name` and the rest).
public struct TelemetryResource: Sendable {
    public var attributes: [Attribute]
    public init(attributes: [Attribute]) { self.attributes = attributes }
}
