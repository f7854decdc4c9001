import PrellmSchema
import PrellmSyntax

/// A Decoder turns YAML nodes into typed values and reports every shape problem it meets:
/// unknown keys (with did-you-mean), wrong types, missing keys, bad durations, money and numbers.
///
/// Each method returns nil when the node is unusable, after reporting why; callers carry on
/// with the rest of the file, so one run reports every problem.
struct Decoder {
    let source: Source
    var bag: DiagnosticBag
    /// The provider names a `provider/model` may start with: the built-in ones, and those a
    /// config file defines (`providers: {gpu-a: {format: openai, …}}`).
    var providers: [String]

    init(source: Source, providers: [String] = WorkflowDecoder.knownProviders) {
        self.source = source
        self.bag = DiagnosticBag(file: source.path)
        self.providers = providers
    }

    /// Fields is a mapping whose keys have been checked against the allowed set.
    struct Fields {
        let node: YAMLNode
        let pairs: [YAMLNode.Pair]
        /// Allowed keys that an unknown key was taken for (did-you-mean), so callers can skip
        /// follow-on "missing" errors.
        var suggested: Set<String> = []
        subscript(key: String) -> YAMLNode? { pairs.first { $0.key.scalar?.value == key }?.value }
        func keySpan(_ key: String) -> Span? { pairs.first { $0.key.scalar?.value == key }?.key.span }
        func has(_ key: String) -> Bool { self[key] != nil }
    }

    mutating func fields(
        _ node: YAMLNode, _ what: String, allowed: [String], required: [String] = [], anchor: Span? = nil,
        refused: [String: (message: String, hint: String)] = [:]
    ) -> Fields? {
        guard let pairs = node.mapping else {
            bag.add(.wrongType, node.span, "\(what) must be a mapping, found \(node.kindName)")
            return nil
        }
        var suggested: Set<String> = []
        for pair in pairs {
            guard let key = pair.key.scalar?.value else { continue }
            if let why = refused[key] {
                // A key that belongs elsewhere: say why it is not here, not what it is near.
                bag.add(.unknownKey, pair.key.span, why.message, hint: why.hint)
            } else if !allowed.contains(key) {
                let near = Spelling.nearest(key, in: allowed)
                if let near { suggested.insert(near) }
                bag.add(
                    .unknownKey, pair.key.span, "unknown key '\(key)' in \(what)",
                    hint: near.map { "did you mean '\($0)'?" } ?? "allowed keys: \(allowed.joined(separator: ", "))")
            }
        }
        let f = Fields(node: node, pairs: pairs, suggested: suggested)
        // A misspelt required key is reported once, as the unknown key with its suggestion.
        for key in required where !f.has(key) && !suggested.contains(key) {
            bag.add(.missingKey, anchor ?? Span(node.span.start), "\(what) needs '\(key)'")
        }
        return f
    }

    mutating func string(_ node: YAMLNode, _ what: String) -> String? {
        guard node.scalar != nil else {
            bag.add(.wrongType, node.span, "\(what) must be a string, found \(node.kindName)")
            return nil
        }
        switch node.resolved {
        case .string(let s): return s
        case .null:
            bag.add(.wrongType, node.span, "\(what) must be a string, found null")
            return nil
        default:
            bag.add(
                .wrongType, node.span, "\(what) must be a string, found \(node.kindName)",
                hint: "quote it if you mean the text: \"\(node.scalar!.value)\"")
            return nil
        }
    }

    mutating func name(_ node: YAMLNode, _ what: String) -> Workflow.Name? {
        string(node, what).map { Workflow.Name(value: $0, span: node.span) }
    }

    mutating func text(_ node: YAMLNode, _ what: String) -> EmbeddedText? {
        guard string(node, what) != nil else { return nil }
        return EmbeddedText(node: node, source: source)
    }

    /// A template or reference that may also be written as a plain YAML number or boolean.
    mutating func valueText(_ node: YAMLNode, _ what: String) -> EmbeddedText? {
        guard node.scalar != nil else {
            bag.add(.wrongType, node.span, "\(what) must be a string or a template, found \(node.kindName)")
            return nil
        }
        return EmbeddedText(node: node, source: source)
    }

    mutating func bool(_ node: YAMLNode, _ what: String) -> Bool? {
        if case .bool(let b) = node.resolved, node.scalar != nil { return b }
        bag.add(.wrongType, node.span, "\(what) must be true or false, found \(node.kindName)")
        return nil
    }

    mutating func int(_ node: YAMLNode, _ what: String, min: Int? = nil, max: Int? = nil) -> Int? {
        guard node.scalar != nil else {
            bag.add(.wrongType, node.span, "\(what) must be a whole number, found \(node.kindName)")
            return nil
        }
        let value: Int
        switch node.resolved {
        case .int(let i): value = i
        case .float(let d) where d.rounded() == d && abs(d) < 1e15: value = Int(d)
        case .float(let d) where d.rounded() == d:
            tooLarge(d, node, what, min: min, max: max)
            return nil
        case .string(let s) where node.scalar?.style == .plain && Self.isDigits(s):
            // Digits past Int's range, which YAML leaves a string: too large, not malformed.
            tooLarge(Double(s) ?? .infinity, node, what, min: min, max: max)
            return nil
        case .string(let s) where node.scalar?.style != .plain:
            bag.add(
                .wrongType, node.span, "\(what) must be a number, found a string",
                hint: Int(s) != nil ? "remove the quotes: \(s)" : nil)
            return nil
        default:
            bag.add(.badNumber, node.span, "\(what) must be a whole number, found '\(node.scalar!.value)'")
            return nil
        }
        if let min, value < min { bag.add(.badNumber, node.span, "\(what) must be at least \(min), found \(value)"); return nil }
        if let max, value > max { bag.add(.badNumber, node.span, "\(what) must be at most \(max), found \(value)"); return nil }
        return value
    }

    /// Reports a whole number too large for Int (`1e300`, twenty digits), by the bound it breaks.
    mutating func tooLarge(_ d: Double, _ node: YAMLNode, _ what: String, min: Int?, max: Int?) {
        let text = node.scalar!.value
        if d > 0, let max {
            bag.add(.badNumber, node.span, "\(what) must be at most \(max), found '\(text)'")
        } else if d < 0, let min {
            bag.add(.badNumber, node.span, "\(what) must be at least \(min), found '\(text)'")
        } else {
            bag.add(.badNumber, node.span, "\(what) is too \(d > 0 ? "large" : "small") for a whole number, found '\(text)'")
        }
    }

    /// An optional sign, then decimal digits.
    static func isDigits(_ s: String) -> Bool {
        let digits = s.utf8.drop { $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "+") }
        return !digits.isEmpty && s.utf8.count - digits.count <= 1 && digits.allSatisfy { $0 >= 48 && $0 <= 57 }
    }

    mutating func number(_ node: YAMLNode, _ what: String, min: Double? = nil, max: Double? = nil) -> Double? {
        guard node.scalar != nil else {
            bag.add(.wrongType, node.span, "\(what) must be a number, found \(node.kindName)")
            return nil
        }
        let value: Double
        switch node.resolved {
        case .int(let i): value = Double(i)
        case .float(let d) where d.isFinite: value = d
        case .string(let s) where node.scalar?.style != .plain:
            bag.add(
                .wrongType, node.span, "\(what) must be a number, found a string",
                hint: Double(s) != nil ? "remove the quotes: \(s)" : nil)
            return nil
        default:
            bag.add(.badNumber, node.span, "\(what) must be a number, found '\(node.scalar!.value)'")
            return nil
        }
        if let min, value < min {
            bag.add(.badNumber, node.span, "\(what) must be at least \(JSONValue.number(min).jsonText), found \(node.scalar!.value)"); return nil
        }
        if let max, value > max {
            bag.add(.badNumber, node.span, "\(what) must be at most \(JSONValue.number(max).jsonText), found \(node.scalar!.value)"); return nil
        }
        return value
    }

    /// `250ms`, `30s`, `2m`, `1h`, or a sum such as `1m30s`.
    mutating func duration(_ node: YAMLNode, _ what: String) -> Duration? {
        guard let text = node.scalar?.value else {
            bag.add(.wrongType, node.span, "\(what) must be a duration such as 30s, found \(node.kindName)")
            return nil
        }
        let seconds = Self.durationSeconds(text)
        if let seconds, seconds > Self.longestDuration.seconds {
            bag.add(.badDuration, node.span, "\(what) must be at most \(Self.longestDurationText), found '\(text)'")
            return nil
        }
        let parsed = seconds.map(Self.duration(seconds:))
        if let d = parsed, d > .zero { return d }
        if parsed == .zero {
            let hint =
                switch what {
                case "'ttl'": "a cache entry that expires at once is never used; to turn caching off, write cache: false"
                case "'response_ttl'": "an answer kept for no time cannot be continued; clients that want none kept send store: false"
                case "'hold_margin'": "a hold must outlast its request, or a slow request's cost would stop counting before it is settled"
                default: "a limit of zero would stop every run at once; give a positive duration such as 30s, or leave \(what) out"
                }
            bag.add(.badDuration, node.span, "\(what) must be longer than zero, found '\(text)'", hint: hint)
            return nil
        }
        let hint: String
        if case .int(let n) = node.resolved {
            hint = "add a unit: \(n)s, \(n)m or \(n)h"
        } else {
            hint = "write a number and a unit (ms, s, m, h, d), e.g. 30s, 2m, 1h30m, 30d"
        }
        bag.add(.badDuration, node.span, "invalid duration '\(text)' for \(what)", hint: hint)
        return nil
    }

    /// The longest duration any field takes. Past it a number of milliseconds overflows Int64
    /// (a trap, not an error) and the runtime's deadline and backoff arithmetic overflows
    /// Duration; a century is longer than anything a workflow or a server waits for.
    static let longestDuration = Duration.seconds(36_500 * 86_400)
    static let longestDurationText = "36500d (100 years)"

    /// A duration, or nil when the text is not one or is longer than `longestDuration`.
    static func parseDuration(_ text: String) -> Duration? {
        guard let seconds = durationSeconds(text), seconds <= longestDuration.seconds else { return nil }
        return duration(seconds: seconds)
    }

    /// Whole milliseconds; `seconds` must be at most `longestDuration`, which keeps the
    /// conversion to Int64 in range.
    static func duration(seconds: Double) -> Duration {
        .milliseconds(Int64((seconds * 1000).rounded()))
    }

    /// What a duration's text adds up to, in seconds, unchecked: it may be huge or infinite
    /// (`10000000000000000s`, 400 digits).
    static func durationSeconds(_ text: String) -> Double? {
        let b = Array(text.utf8)
        guard !b.isEmpty else { return nil }
        var i = 0
        var total = 0.0
        while i < b.count {
            let start = i
            while i < b.count, (b[i] >= 48 && b[i] <= 57) || b[i] == 46 { i += 1 }
            guard i > start, let n = Double(String(decoding: b[start..<i], as: UTF8.self)) else { return nil }
            let unitStart = i
            while i < b.count, b[i] >= 97, b[i] <= 122 { i += 1 }
            switch String(decoding: b[unitStart..<i], as: UTF8.self) {
            case "ms": total += n / 1000
            case "s": total += n
            case "m": total += n * 60
            case "h": total += n * 3600
            case "d": total += n * 86400
            default: return nil
            }
        }
        return total
    }

    /// US dollars: a non-negative number, or a string such as `$0.50`.
    mutating func money(_ node: YAMLNode, _ what: String) -> Double? {
        guard let text = node.scalar?.value else {
            bag.add(.wrongType, node.span, "\(what) must be an amount in US dollars, found \(node.kindName)")
            return nil
        }
        var value: Double?
        switch node.resolved {
        case .int(let i): value = Double(i)
        case .float(let d) where d.isFinite: value = d
        case .string(let s):
            let trimmed = s.hasPrefix("$") ? String(s.dropFirst()) : s.hasSuffix(" USD") ? String(s.dropLast(4)) : nil
            if let trimmed, trimmed.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || $0 == 46 }) { value = Double(trimmed) }
        default: break
        }
        guard let value, value >= 0 else {
            bag.add(
                .badMoney, node.span, "invalid amount '\(text)' for \(what)",
                hint: "write US dollars as a non-negative number, e.g. 0.50 or \"$0.50\"")
            return nil
        }
        return value
    }

    /// How the names of a mapping are checked: as identifiers (inputs, imports), or as model
    /// names the way providers and tools write them (`gpt-4o-mini`, `llama3.1:8b`). The string
    /// says what the name is, for the message ("model alias").
    enum NameRule {
        case identifier(String)
        case modelName(String)
    }

    /// A model alias may be named as models are: letters, digits and `-._:`, starting with a
    /// letter or digit. `/` stays reserved for `provider/model`.
    static func isModelName(_ s: String) -> Bool {
        guard let f = s.unicodeScalars.first, ("0"..."9").contains(f) || ("a"..."z").contains(f) || ("A"..."Z").contains(f) else {
            return false
        }
        return s.unicodeScalars.allSatisfy { c in
            ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c) || "-._:".unicodeScalars.contains(c)
        }
    }

    /// The entries of a mapping of names (`inputs:`, `models:`, …), each name checked by `rule`.
    mutating func namedEntries(
        _ node: YAMLNode, _ what: String, hint: String? = nil, rule: NameRule? = nil
    )
        -> [(name: Workflow.Name, value: YAMLNode)]
    {
        guard let pairs = node.mapping else {
            bag.add(.wrongType, node.span, "\(what), found \(node.kindName)", hint: hint)
            return []
        }
        return pairs.compactMap { pair in
            guard let name = pair.key.scalar?.value else { return nil }
            switch rule {
            case .identifier(let what)? where !StepDecoder.isIdentifier(name):
                bag.add(
                    .invalidStepID, pair.key.span, "\(what) '\(name)' is not an identifier",
                    hint: "use letters, digits and underscores, starting with a letter")
            case .modelName(let what)? where !Self.isModelName(name):
                bag.add(
                    .invalidStepID, pair.key.span, "\(what) '\(name)' is not a model name",
                    hint: name.contains("/")
                        ? "'/' is for provider/model; name the alias without it, e.g. '\(name.split(separator: "/").last ?? "")'"
                        : "use letters, digits and '-._:', starting with a letter or digit (like gpt-4o-mini or llama3.1:8b)")
            default: break
            }
            return (Workflow.Name(value: name, span: pair.key.span), pair.value)
        }
    }

    mutating func list(_ node: YAMLNode, _ what: String) -> [YAMLNode]? {
        guard let items = node.sequence else {
            bag.add(.wrongType, node.span, "\(what) must be a list, found \(node.kindName)")
            return nil
        }
        return items
    }
}

extension Duration {
    /// The duration in seconds, fractions included (a Date's interval, a metric's value).
    public var seconds: Double {
        let c = components
        return Double(c.seconds) + Double(c.attoseconds) / 1e18
    }
}

/// The workflow language's durations ("90s", "1h30m", "30d") for the command line.
public enum DurationSyntax {
    public static func parse(_ text: String) -> Duration? { Decoder.parseDuration(text) }
}
