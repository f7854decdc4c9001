/// A YAMLNode is one node of a parsed YAML document with the span it came from.
///
/// Scalars keep their style: a quoted `"1"` is a string, a plain `1` an integer, which is how
/// the decoder tells `max_tokens: "1"` (wrong type) from `max_tokens: 1`.
public struct YAMLNode: Sendable {
    public enum ScalarStyle: Sendable, Hashable {
        case plain, singleQuoted, doubleQuoted, literal, folded
    }

    public struct Scalar: Sendable {
        public var value: String
        public var style: ScalarStyle
        /// Set when an explicit core tag (`!!str`, `!!int`, …) fixes the type.
        public var tag: String?
        public init(value: String, style: ScalarStyle, tag: String? = nil) {
            self.value = value; self.style = style; self.tag = tag
        }
    }

    public struct Pair: Sendable {
        public var key: YAMLNode
        public var value: YAMLNode
        public init(key: YAMLNode, value: YAMLNode) { self.key = key; self.value = value }
    }

    public enum Content: Sendable {
        case scalar(Scalar)
        case sequence([YAMLNode])
        case mapping([Pair])
    }

    public var content: Content
    public var span: Span

    public init(content: Content, span: Span) {
        self.content = content
        self.span = span
    }

    public var scalar: Scalar? { if case .scalar(let s) = content { s } else { nil } }
    public var sequence: [YAMLNode]? { if case .sequence(let s) = content { s } else { nil } }
    public var mapping: [Pair]? { if case .mapping(let m) = content { m } else { nil } }

    /// The value of a mapping key given as a plain string.
    public subscript(key: String) -> YAMLNode? {
        mapping?.first { $0.key.scalar?.value == key }?.value
    }

    /// The resolved value of a scalar under YAML 1.2's core schema.
    public var resolved: Resolved {
        guard case .scalar(let s) = content else { return .string("") }
        if let tag = s.tag {
            switch tag {
            case "str": return .string(s.value)
            case "int": return Int(s.value).map(Resolved.int) ?? .string(s.value)
            case "float": return Double(s.value).map(Resolved.float) ?? .string(s.value)
            case "bool": return Self.resolvePlain(s.value)
            case "null": return .null
            default: return .string(s.value)
            }
        }
        return s.style == .plain ? Self.resolvePlain(s.value) : .string(s.value)
    }

    public enum Resolved: Sendable, Equatable {
        case null, bool(Bool), int(Int), float(Double), string(String)
    }

    public static func resolvePlain(_ v: String) -> Resolved {
        switch v {
        case "", "~", "null", "Null", "NULL": return .null
        case "true", "True", "TRUE": return .bool(true)
        case "false", "False", "FALSE": return .bool(false)
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .float(.infinity)
        case "-.inf", "-.Inf", "-.INF": return .float(-.infinity)
        case ".nan", ".NaN", ".NAN": return .float(.nan)
        default: break
        }
        guard let first = v.utf8.first,
            first == UInt8(ascii: "-") || first == UInt8(ascii: "+") || first == UInt8(ascii: ".")
                || (first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9"))
        else { return .string(v) }
        if v.hasPrefix("0x"), let i = Int(v.dropFirst(2), radix: 16) { return .int(i) }
        if v.hasPrefix("0o"), let i = Int(v.dropFirst(2), radix: 8) { return .int(i) }
        if v.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || $0 == 45 || $0 == 43 }), let i = Int(v) { return .int(i) }
        if v.utf8.contains(where: { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }),
            v.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || $0 == 45 || $0 == 43 || $0 == 46 || $0 == 101 || $0 == 69 }),
            let d = Double(v)
        {
            return .float(d)
        }
        return .string(v)
    }

    /// A short name of the node's kind, for messages ("expected a string, found a mapping").
    public var kindName: String {
        switch content {
        case .sequence: return "a list"
        case .mapping: return "a mapping"
        case .scalar:
            switch resolved {
            case .null: return "null"
            case .bool: return "a boolean"
            case .int: return "an integer"
            case .float: return "a number"
            case .string: return "a string"
            }
        }
    }
}
