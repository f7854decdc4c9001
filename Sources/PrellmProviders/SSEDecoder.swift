/// An SSEDecoder parses a `text/event-stream` incrementally, as bytes arrive, following the
/// WHATWG rules: lines end in LF, CRLF or CR; `field: value` (one optional space after the
/// colon); lines starting with `:` are comments; a blank line dispatches the event; several
/// `data:` lines join with LF. A chunk may end anywhere, even inside a line or a CRLF pair.
public struct SSEDecoder: Sendable {
    public struct Event: Sendable, Equatable {
        public var event: String?
        /// The data as bytes; JSON decoders parse these directly, without a String in between.
        public var bytes: [UInt8]
        public var data: String { String(decoding: bytes, as: UTF8.self) }
        public init(event: String? = nil, data: String) { self.event = event; self.bytes = Array(data.utf8) }
        public init(event: String?, bytes: [UInt8]) { self.event = event; self.bytes = bytes }
        public static func == (a: Event, b: Event) -> Bool { a.event == b.event && a.bytes == b.bytes }
    }

    private var line: [UInt8] = []
    private var data: [UInt8] = []
    private var hasData = false
    private var eventName: String?
    private var skipLF = false
    /// The largest line or event accepted: a stream that never ends its event would otherwise
    /// grow this buffer without end.
    public let maxEventBytes: Int

    public init(maxEventBytes: Int = 16 << 20) { self.maxEventBytes = maxEventBytes }

    /// Feeds bytes; calls `emit` for every complete event.
    public mutating func feed(_ bytes: [UInt8], _ emit: (Event) throws -> Void) throws {
        try bytes.withUnsafeBufferPointer { buf in
            var start = 0
            var i = 0
            if skipLF, i < buf.count, buf[i] == 10 { i = 1; start = 1 }
            skipLF = false
            while i < buf.count {
                let b = buf[i]
                if b == 10 || b == 13 {
                    if line.isEmpty {
                        try processLine(UnsafeBufferPointer(rebasing: buf[start..<i]), emit)
                    } else {
                        line.append(contentsOf: buf[start..<i])
                        let whole = line
                        line.removeAll(keepingCapacity: true)
                        try whole.withUnsafeBufferPointer { try processLine($0, emit) }
                    }
                    if b == 13 {
                        if i + 1 < buf.count { if buf[i + 1] == 10 { i += 1 } } else { skipLF = true }
                    }
                    start = i + 1
                }
                i += 1
            }
            if start < buf.count { line.append(contentsOf: buf[start..<buf.count]) }
        }
        // Checked once per chunk: the buffers pass the limit by at most one chunk.
        if line.count + data.count > maxEventBytes { throw OversizedEvent(limit: maxEventBytes, what: "server-sent event") }
    }

    private mutating func processLine(_ l: UnsafeBufferPointer<UInt8>, _ emit: (Event) throws -> Void) rethrows {
        if l.isEmpty {
            if hasData || eventName != nil {
                try emit(Event(event: eventName, bytes: data))
            }
            data.removeAll(keepingCapacity: true)
            hasData = false
            eventName = nil
            return
        }
        if l[0] == UInt8(ascii: ":") { return }
        var colon = l.count
        for k in 0..<l.count where l[k] == UInt8(ascii: ":") { colon = k; break }
        var valueStart = min(colon + 1, l.count)
        if valueStart < l.count, l[valueStart] == 32 { valueStart += 1 }
        let name = UnsafeBufferPointer(rebasing: l[0..<colon])
        let value = UnsafeBufferPointer(rebasing: l[valueStart..<l.count])
        if name.elementsEqual("data".utf8) {
            if hasData { data.append(10) }
            data.append(contentsOf: value)
            hasData = true
        } else if name.elementsEqual("event".utf8) {
            eventName = String(decoding: value, as: UTF8.self)
        }
        // `id` and `retry` are for reconnecting clients; an API stream is never resumed.
    }
}

/// A stream sent one event (or line) larger than the decoder accepts.
public struct OversizedEvent: Error, Sendable, CustomStringConvertible {
    public var limit: Int
    public var what: String
    public var description: String { "the stream sent a \(what) larger than \(limit) bytes" }
}

/// An NDJSONDecoder splits newline-delimited JSON (Ollama's stream) into lines as bytes arrive.
public struct NDJSONDecoder: Sendable {
    private var pending: [UInt8] = []
    /// The longest line accepted (see SSEDecoder.maxEventBytes).
    public let maxLineBytes: Int

    public init(maxLineBytes: Int = 16 << 20) { self.maxLineBytes = maxLineBytes }

    public mutating func feed(_ bytes: [UInt8], _ emit: ([UInt8]) throws -> Void) throws {
        var start = 0
        for (i, b) in bytes.enumerated() where b == 10 {
            pending.append(contentsOf: bytes[start..<i])
            start = i + 1
            if pending.last == 13 { pending.removeLast() }
            if pending.contains(where: { $0 != 32 && $0 != 9 }) { try emit(pending) }
            pending.removeAll(keepingCapacity: true)
        }
        if pending.count + bytes.count - start > maxLineBytes { throw OversizedEvent(limit: maxLineBytes, what: "line") }
        pending.append(contentsOf: bytes[start...])
    }

    /// A last line without a newline, if any.
    public mutating func finish(_ emit: ([UInt8]) throws -> Void) rethrows {
        if pending.contains(where: { $0 != 32 && $0 != 9 && $0 != 13 }) { try emit(pending) }
        pending.removeAll()
    }
}
