import Foundation
import PrellmSchema
import Synchronization

/// A seeded generator (SplitMix64), shared across tasks: every run of a test draws the same.
final class Seeded: Sendable {
    private let state: Mutex<UInt64>
    init(_ seed: UInt64) { state = Mutex(seed) }

    func next() -> UInt64 {
        state.withLock { s in
            s &+= 0x9E37_79B9_7F4A_7C15
            var z = s
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// A number in 0..<1.
    func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
    func int(_ range: ClosedRange<Int>) -> Int { range.lowerBound + Int(next() % UInt64(range.count)) }
    func chance(_ p: Double) -> Bool { unit() < p }
    func pick<T>(_ items: [T]) -> T { items[int(0...(items.count - 1))] }
}

/// Values that satisfy a JSON Schema, for the keywords workflows use (types, enum, const,
/// properties and required, items with minItems/maxItems, string lengths, numeric ranges,
/// local $refs): what a well-behaved model would answer.
struct SchemaInstance {
    let random: Seeded
    var words = ["alpha", "bravo", "delta", "echo", "kilo", "lima", "oscar", "tango"]

    func value(_ schema: JSONValue) -> JSONValue { value(schema, root: schema, depth: 0) }

    func value(_ schema: JSONValue, root: JSONValue, depth: Int) -> JSONValue {
        guard depth < 12, case .object(let o) = schema else { return .string("x") }
        if let ref = o["$ref"]?.stringValue, ref.hasPrefix("#") {
            var here = root
            for token in ref.dropFirst().split(separator: "/") { here = here[String(token)] ?? .object([:]) }
            return value(here, root: root, depth: depth + 1)
        }
        if let values = o["enum"]?.arrayValue, !values.isEmpty { return random.pick(values) }
        if let c = o["const"] { return c }
        if let all = o["allOf"]?.arrayValue, let first = all.first { return value(first, root: root, depth: depth + 1) }
        for key in ["anyOf", "oneOf"] { if let first = o[key]?.arrayValue?.first { return value(first, root: root, depth: depth + 1) } }
        var type = o["type"]?.stringValue ?? o["type"]?.arrayValue?.first?.stringValue
        if type == nil { type = o["properties"] != nil ? "object" : o["items"] != nil ? "array" : "string" }
        switch type {
        case "integer", "number":
            var low = o["minimum"]?.numberValue ?? o["exclusiveMinimum"].flatMap(\.numberValue).map { $0 + 1 } ?? 0
            let high = o["maximum"]?.numberValue ?? o["exclusiveMaximum"].flatMap(\.numberValue).map { $0 - 1 } ?? low + 100
            if low > high { low = high }
            if type == "integer" {
                let lo = low.rounded(.up), hi = max(lo, high.rounded(.down))
                return .number(min(hi, lo + ((hi - lo + 1) * random.unit()).rounded(.down)))
            }
            return .number(low + (high - low) * random.unit())
        case "boolean": return .bool(random.chance(0.5))
        case "null": return .null
        case "array":
            let low = o["minItems"]?.int ?? 0
            let high = min(o["maxItems"]?.int ?? low + 3, low + 3)
            let items = o["items"] ?? .object([:])
            return .array((0..<random.int(low...max(low, high))).map { _ in value(items, root: root, depth: depth + 1) })
        case "object":
            let props = o["properties"]?.objectValue ?? [:]
            let required = Set(o["required"]?.arrayValue?.compactMap(\.stringValue) ?? [])
            var out: [String: JSONValue] = [:]
            for (k, v) in props.sorted(by: { $0.key < $1.key }) where required.contains(k) || random.chance(0.5) {
                out[k] = value(v, root: root, depth: depth + 1)
            }
            return .object(out)
        default:
            let low = o["minLength"]?.int ?? 1
            let high = max(low, min(o["maxLength"]?.int ?? low + 40, low + 40))
            var s = ""
            let length = random.int(low...high)
            while s.count < length { s += (s.isEmpty ? "" : " ") + random.pick(words) }
            return .string(String(s.prefix(max(length, low))))
        }
    }
}
