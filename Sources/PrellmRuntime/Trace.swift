import PrellmSchema
import Synchronization

/// A TraceSink receives one JSON object per step attempt (JSONL when written to a file).
public protocol TraceSink: Sendable {
    func record(_ event: JSONValue)
}

/// Collects trace events in memory (tests, `--json`).
public final class MemoryTrace: TraceSink {
    private let events = Mutex<[JSONValue]>([])
    public init() {}
    public func record(_ event: JSONValue) { events.withLock { $0.append(event) } }
    public var all: [JSONValue] { events.withLock { $0 } }
}

/// A stable, short hash of a prompt, for `--redact-prompts` (FNV-1a, 64 bits).
public func promptHash(_ text: String) -> String {
    var h: UInt64 = 0xcbf29ce484222325
    for b in text.utf8 { h = (h ^ UInt64(b)) &* 0x100000001b3 }
    let hex = String(h, radix: 16)
    return "fnv1a:" + String(repeating: "0", count: 16 - hex.count) + hex
}
