/// A TraceContext is a W3C Trace Context span identity: the trace a span belongs to, the span,
/// and whether it is sampled. The gateway reads one from a client's `traceparent` header and
/// every provider request carries its attempt span's as `traceparent`, so an upstream that
/// traces joins the same trace. It lives here, below the providers and the runtime, because a
/// ChatRequest carries one.
public struct TraceContext: Sendable, Hashable {
    /// The 16-byte trace id, as two big-endian halves (never both zero).
    public var traceHigh: UInt64
    public var traceLow: UInt64
    /// The 8-byte span id (never zero).
    public var spanID: UInt64
    /// The trace flags; bit 0 is `sampled`.
    public var flags: UInt8

    public init(traceHigh: UInt64, traceLow: UInt64, spanID: UInt64, flags: UInt8 = 1) {
        self.traceHigh = traceHigh
        self.traceLow = traceLow
        self.spanID = spanID
        self.flags = flags
    }

    /// Parses a `traceparent` header: `00-<32 hex>-<16 hex>-<2 hex>`. Nil for anything
    /// malformed, version `ff`, or an all-zero trace or span id (the spec says to ignore those
    /// and start a new trace). A later version may append fields after a dash; they are ignored.
    public init?(traceparent header: String) {
        let text = header.trimmingCharacters(in: " \t")
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 4, parts[0].count == 2, parts[1].count == 32, parts[2].count == 16, parts[3].count == 2,
            let version = Self.hex(parts[0]), version != 0xff, version != 0 || parts.count == 4,
            let high = Self.hex(parts[1].prefix(16)), let low = Self.hex(parts[1].suffix(16)),
            let span = Self.hex(parts[2]), let flags = Self.hex(parts[3]),
            high != 0 || low != 0, span != 0
        else { return nil }
        self.init(traceHigh: high, traceLow: low, spanID: span, flags: UInt8(flags))
    }

    /// The `traceparent` header value (version 00).
    public var traceparent: String { "00-\(traceIDHex)-\(Self.hex16(spanID))-\(Self.hex2(flags))" }

    public var traceIDHex: String { Self.hex16(traceHigh) + Self.hex16(traceLow) }
    public var spanIDHex: String { Self.hex16(spanID) }

    /// The same trace with another span: a child's context.
    public func child(_ span: UInt64) -> TraceContext {
        TraceContext(traceHigh: traceHigh, traceLow: traceLow, spanID: span, flags: flags)
    }

    /// Lower-case hex only: the spec forbids upper case, and a value with it is malformed.
    static func hex<S: StringProtocol>(_ s: S) -> UInt64? {
        guard s.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else { return nil }
        return UInt64(s, radix: 16)
    }

    static func hex16(_ v: UInt64) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }

    static func hex2(_ v: UInt8) -> String {
        let s = String(v, radix: 16)
        return s.count == 1 ? "0" + s : s
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> Substring {
        let chars = Set(set)
        var s = Substring(self)
        while let f = s.first, chars.contains(f) { s = s.dropFirst() }
        while let l = s.last, chars.contains(l) { s = s.dropLast() }
        return s
    }
}
