import PrellmSchema

/// SchemaAlignedParser turns a model's answer into the JSON its contract asks for, taking the
/// first of these that works and recording every repair it makes:
///
/// 1. the answer is strict JSON;
/// 2. a fenced code block (```json … ```) holds it;
/// 3. the first balanced JSON value in prose (`Sure! Here it is: {...} Hope that helps`);
/// 4. a tolerant parse: trailing commas, single quotes, unquoted keys, comments, smart quotes,
///    Python's True/False/None;
///
/// then coerces the value toward the schema: numeric strings to numbers, "true"/"false" to
/// booleans, one value to a one-element list, enum values matched case-insensitively.
/// Validation comes after; this only removes the noise models add around correct answers.
public enum SchemaAlignedParser {
    public struct Result: Sendable, Equatable {
        public var value: JSONValue
        /// What was repaired, in order, for the trace. Empty for strict JSON.
        public var repairs: [String]
    }

    public static func parse(_ text: String, schema: JSONValue? = nil) -> Result? {
        let trimmed = text.trimmingCharacters(in: [" ", "\n", "\t", "\r"])
        var repairs: [String] = []
        var value: JSONValue?
        if let v = try? JSONParser.parse(trimmed) {
            value = v
        } else if let fenced = fencedBlock(trimmed), let v = strictOrTolerant(fenced, &repairs) {
            repairs.insert("extracted JSON from a fenced code block", at: 0)
            value = v
        } else if let span = firstBalanced(trimmed), let v = strictOrTolerant(span, &repairs) {
            if span.unicodeScalars.count < trimmed.unicodeScalars.count {
                repairs.insert("extracted the first JSON value from the surrounding text", at: 0)
            }
            value = v
        } else if let v = strictOrTolerant(trimmed, &repairs) {
            value = v
        }
        guard var v = value else { return nil }
        if let schema { v = coerce(v, schema, root: schema, at: "", &repairs) }
        return Result(value: v, repairs: repairs)
    }

    static func strictOrTolerant(_ text: String, _ repairs: inout [String]) -> JSONValue? {
        if let v = try? JSONParser.parse(text) { return v }
        var p = TolerantJSON(text)
        guard let v = p.parse(), p.atEnd else { return nil }
        repairs.append("repaired JSON syntax: " + p.fixes.sorted().joined(separator: ", "))
        return v
    }

    /// The contents of the first ``` fenced block.
    static func fencedBlock(_ text: String) -> String? {
        guard let open = text.firstRange(of: "```") else { return nil }
        var rest = text[open.upperBound...]
        if let nl = rest.firstIndex(of: "\n") { rest = rest[rest.index(after: nl)...] }  // skip the info string
        guard let close = rest.firstRange(of: "```") else { return nil }
        return String(rest[..<close.lowerBound]).trimmingCharacters(in: [" ", "\n", "\t", "\r"])
    }

    /// The first `{…}` or `[…]` whose brackets balance, ignoring brackets inside strings (quotes
    /// count from the first bracket on, so prose like "Here's" before it does not open a string).
    ///
    /// One pass with a stack of unclosed brackets: when the stack empties, the first bracket has
    /// closed; otherwise the first-opened bracket that closed by the end is the answer. Trying
    /// each `{` or `[` in turn would scan to the end once per bracket — an answer of 200,000 `[`
    /// took minutes.
    static func firstBalanced(_ text: String) -> String? {
        let scalars = Array(text.unicodeScalars)
        var open: [Int] = []
        var earliest: ClosedRange<Int>?
        var quote: Unicode.Scalar?
        var j = 0
        while j < scalars.count {
            let d = scalars[j]
            if let q = quote {
                if d == "\\" { j += 2; continue }
                if d == q { quote = nil }
            } else if d == "{" || d == "[" {
                open.append(j)
            } else if open.isEmpty {
                // Prose before the first bracket.
            } else if d == "\"" || d == "'" {
                quote = d
            } else if d == "}" || d == "]", let start = open.popLast() {
                if open.isEmpty { return string(of: scalars[start...j]) }
                if earliest.map({ start < $0.lowerBound }) ?? true { earliest = start...j }
            }
            j += 1
        }
        return earliest.map { string(of: scalars[$0]) }
    }

    private static func string(of scalars: ArraySlice<Unicode.Scalar>) -> String {
        var s = String.UnicodeScalarView()
        s.append(contentsOf: scalars)
        return String(s)
    }

    // MARK: - Coercion

    static func coerce(_ v: JSONValue, _ schema: JSONValue, root: JSONValue, at path: String, _ repairs: inout [String]) -> JSONValue {
        var schema = schema
        if let ref = schema["$ref"]?.stringValue, ref.hasPrefix("#/") {
            var here = root
            for t in ref.dropFirst(2).split(separator: "/") { here = here[String(t)] ?? .null }
            schema = here
        }
        let types = schema["type"]?.arrayValue?.compactMap(\.stringValue) ?? schema["type"]?.stringValue.map { [$0] } ?? []
        let where_ = path.isEmpty ? "/" : path
        if let values = schema["enum"]?.arrayValue, !values.contains(v), case .string(let s) = v,
            let match = values.first(where: { $0.stringValue?.lowercased() == s.lowercased() })
        {
            repairs.append("\(where_): matched \"\(s)\" to enum value \(match.jsonText)")
            return match
        }
        if types.contains("array"), v.arrayValue == nil, !types.contains(v.typeName), !(v.isInteger && types.contains("number")) {
            repairs.append("\(where_): wrapped a single value in a list")
            return coerce(.array([v]), schema, root: root, at: path, &repairs)
        }
        switch v {
        case .string(let s):
            if types.contains("integer") || types.contains("number"), let n = Double(s.trimmingCharacters(in: [" "])), n.isFinite,
                !types.contains("string")
            {
                repairs.append("\(where_): converted the string \"\(s)\" to a number")
                return .number(n)
            }
            if types.contains("boolean"), !types.contains("string"), ["true", "false"].contains(s.lowercased()) {
                repairs.append("\(where_): converted the string \"\(s)\" to a boolean")
                return .bool(s.lowercased() == "true")
            }
        case .object(var o):
            if let props = schema["properties"]?.objectValue {
                for (k, sub) in props {
                    if let value = o[k] { o[k] = coerce(value, sub, root: root, at: path + "/" + k, &repairs) }
                }
                return .object(o)
            }
        case .array(let a):
            if let items = schema["items"] {
                return .array(a.enumerated().map { coerce($1, items, root: root, at: path + "/\($0)", &repairs) })
            }
        default:
            break
        }
        return v
    }
}

/// A forgiving JSON reader for what models write when they almost write JSON.
struct TolerantJSON {
    var s: [Unicode.Scalar]
    var i = 0
    var fixes: Set<String> = []
    var depth = 0

    init(_ text: String) {
        var scalars = Array(text.unicodeScalars)
        for (k, c) in scalars.enumerated() {
            switch c {
            case "\u{201C}", "\u{201D}": scalars[k] = "\""
            case "\u{2018}", "\u{2019}": scalars[k] = "'"
            default: continue
            }
        }
        if scalars != Array(text.unicodeScalars) { fixes.insert("smart quotes") }
        s = scalars
    }

    var atEnd: Bool {
        var copy = self
        copy.skip()
        return copy.i >= copy.s.count
    }

    mutating func skip() {
        while i < s.count {
            let c = s[i]
            if c == " " || c == "\n" || c == "\t" || c == "\r" { i += 1; continue }
            if c == "/", i + 1 < s.count, s[i + 1] == "/" {
                fixes.insert("comments")
                while i < s.count, s[i] != "\n" { i += 1 }
                continue
            }
            if c == "/", i + 1 < s.count, s[i + 1] == "*" {
                fixes.insert("comments")
                i += 2
                while i + 1 < s.count, !(s[i] == "*" && s[i + 1] == "/") { i += 1 }
                i += 2
                continue
            }
            return
        }
    }

    mutating func parse() -> JSONValue? {
        depth += 1
        defer { depth -= 1 }
        guard depth < 256 else { return nil }
        skip()
        guard i < s.count else { return nil }
        let c = s[i]
        if c == "{" { return object() }
        if c == "[" { return array() }
        if c == "\"" || c == "'" { return string().map(JSONValue.string) }
        if c == "-" || c == "+" || c == "." || ("0"..."9").contains(c) { return number() }
        let word = identifier()
        switch word {
        case "true": return .bool(true)
        case "false": return .bool(false)
        case "null": return .null
        case "True": fixes.insert("Python literals"); return .bool(true)
        case "False": fixes.insert("Python literals"); return .bool(false)
        case "None": fixes.insert("Python literals"); return .null
        default: return nil
        }
    }

    mutating func identifier() -> String {
        var out = String.UnicodeScalarView()
        while i < s.count, s[i].properties.isAlphabetic || ("0"..."9").contains(s[i]) || s[i] == "_" || s[i] == "$" {
            out.append(s[i]); i += 1
        }
        return String(out)
    }

    mutating func object() -> JSONValue? {
        i += 1
        var o: [String: JSONValue] = [:]
        while true {
            skip()
            guard i < s.count else { return nil }
            if s[i] == "}" { i += 1; return .object(o) }
            let key: String
            if s[i] == "\"" || s[i] == "'" {
                guard let k = string() else { return nil }
                key = k
            } else {
                key = identifier()
                guard !key.isEmpty else { return nil }
                fixes.insert("unquoted keys")
            }
            skip()
            guard i < s.count, s[i] == ":" else { return nil }
            i += 1
            guard let v = parse() else { return nil }
            o[key] = v
            skip()
            guard i < s.count else { return nil }
            if s[i] == "," {
                i += 1
                skip()
                if i < s.count, s[i] == "}" { fixes.insert("trailing commas") }
                continue
            }
            if s[i] == "}" { i += 1; return .object(o) }
            return nil
        }
    }

    mutating func array() -> JSONValue? {
        i += 1
        var a: [JSONValue] = []
        while true {
            skip()
            guard i < s.count else { return nil }
            if s[i] == "]" { i += 1; return .array(a) }
            guard let v = parse() else { return nil }
            a.append(v)
            skip()
            guard i < s.count else { return nil }
            if s[i] == "," {
                i += 1
                skip()
                if i < s.count, s[i] == "]" { fixes.insert("trailing commas") }
                continue
            }
            if s[i] == "]" { i += 1; return .array(a) }
            return nil
        }
    }

    mutating func string() -> String? {
        let quote = s[i]
        if quote == "'" { fixes.insert("single quotes") }
        i += 1
        var out = String.UnicodeScalarView()
        while i < s.count {
            let c = s[i]
            if c == quote { i += 1; return String(out) }
            if c == "\\", i + 1 < s.count {
                let e = s[i + 1]
                i += 2
                switch e {
                case "n": out.append("\n")
                case "t": out.append("\t")
                case "r": out.append("\r")
                case "b": out.append("\u{8}")
                case "f": out.append("\u{C}")
                case "u":
                    guard i + 4 <= s.count, let code = UInt32(String(String.UnicodeScalarView(s[i..<i + 4])), radix: 16),
                        let scalar = Unicode.Scalar(code)
                    else { return nil }
                    out.append(scalar)
                    i += 4
                default: out.append(e)
                }
                continue
            }
            if c == "\n" { fixes.insert("raw newlines in strings") }
            out.append(c)
            i += 1
        }
        return nil
    }

    mutating func number() -> JSONValue? {
        let start = i
        while i < s.count, "+-.eE0123456789".unicodeScalars.contains(s[i]) { i += 1 }
        var text = String(String.UnicodeScalarView(s[start..<i]))
        if text.hasPrefix("+") { text.removeFirst(); fixes.insert("number syntax") }
        guard let d = Double(text), d.isFinite else { return nil }
        return .number(d)
    }
}
