/// A Template is a parsed prompt template: text with `{{ expr | filter }}` holes and
/// `{% if %}` / `{% for %}` blocks. Values substituted at run time are data: the renderer
/// never parses them again, so a user's `{{` in an input is printed, not evaluated.
public struct Template: Sendable {
    public indirect enum Node: Sendable {
        case text(String)
        case output(Expr, filters: [Filter], range: Range<Int>)
        case ifBlock(branches: [(condition: Expr, body: [Node])], otherwise: [Node]?, range: Range<Int>)
        case forBlock(variable: String, variableRange: Range<Int>, sequence: Expr, body: [Node], range: Range<Int>)
    }

    public var nodes: [Node]

    /// True when the template has no holes or blocks at all.
    public var isPlainText: Bool {
        nodes.allSatisfy { if case .text = $0 { true } else { false } }
    }
}

/// A TemplateParser parses the template language over an EmbeddedText.
///
/// Tags: `{{ … }}` outputs, `{% if c %}…{% elif c %}…{% else %}…{% endif %}`,
/// `{% for x in xs %}…{% endfor %}`, `{% raw %}…{% endraw %}` (text taken literally) and
/// `{# … #}` comments. A `-` just inside a tag (`{{-`, `-%}`) trims the white space on that side.
public struct TemplateParser {
    let bytes: [UInt8]
    var i = 0
    /// Set when the previous tag asked to trim the white space after it.
    var trimNext = false
    /// Open `{% if %}` / `{% for %}` blocks; bounded so hostile input cannot exhaust the stack.
    var depth = 0
    static let maxDepth = 64

    public static func parse(_ text: String) throws(ExprError) -> Template {
        var p = TemplateParser(bytes: Array(text.utf8))
        let (nodes, stop) = try p.nodes(until: [])
        if let stop { throw ExprError(range: stop.range, message: "unexpected {% \(stop.keyword) %}", inTemplateTags: true) }
        return Template(nodes: nodes)
    }

    struct Tag {
        var keyword: String
        var body: Range<Int>  // after the keyword
        var range: Range<Int>
    }

    /// Parses nodes until one of `stops` is met (returned) or the end (nil).
    mutating func nodes(until stops: Set<String>) throws(ExprError) -> ([Template.Node], Tag?) {
        var out: [Template.Node] = []
        var text: [UInt8] = []
        func flush(_ trimRight: Bool) {
            if trimRight { while let l = text.last, l == 32 || l == 9 || l == 10 || l == 13 { text.removeLast() } }
            if !text.isEmpty { out.append(.text(String(decoding: text, as: UTF8.self))) }
            text.removeAll(keepingCapacity: true)
        }
        while i < bytes.count {
            if trimNext {
                while i < bytes.count, [32, 9, 10, 13].contains(bytes[i]) { i += 1 }
                trimNext = false
                continue
            }
            guard bytes[i] == UInt8(ascii: "{"), i + 1 < bytes.count,
                [UInt8(ascii: "{"), UInt8(ascii: "%"), UInt8(ascii: "#")].contains(bytes[i + 1])
            else {
                text.append(bytes[i]); i += 1
                continue
            }
            let start = i
            let opener = bytes[i + 1]
            let trimLeft = i + 2 < bytes.count && bytes[i + 2] == UInt8(ascii: "-")
            let inner = i + (trimLeft ? 3 : 2)
            let closer: [UInt8] = opener == UInt8(ascii: "{") ? Array("}}".utf8) : opener == UInt8(ascii: "%") ? Array("%}".utf8) : Array("#}".utf8)
            guard let close = findClose(from: inner, closer: closer, skipStrings: opener != UInt8(ascii: "#")) else {
                let name = opener == UInt8(ascii: "{") ? "{{" : opener == UInt8(ascii: "%") ? "{%" : "{#"
                throw ExprError(
                    range: start..<start + 2, message: "'\(name)' is never closed",
                    hint: "close it with '\(String(decoding: closer, as: UTF8.self))', or wrap literal braces in {% raw %}…{% endraw %}",
                    inTemplateTags: true)
            }
            let trimRight = close > inner && bytes[close - 1] == UInt8(ascii: "-")
            let bodyEnd = trimRight ? close - 1 : close
            i = close + 2
            flush(trimLeft)
            trimNext = trimRight
            if opener == UInt8(ascii: "#") { continue }
            if opener == UInt8(ascii: "{") {
                let (e, filters) = try ExprParser.parseWithFilters(bytes, range: inner..<bodyEnd)
                out.append(.output(e, filters: filters, range: start..<i))
                continue
            }
            let tag = try readTag(inner..<bodyEnd, range: start..<i)
            switch tag.keyword {
            case "raw":
                guard let endRaw = findEndRaw(from: i) else {
                    throw ExprError(range: tag.range, message: "{% raw %} is never closed", hint: "add {% endraw %}", inTemplateTags: true)
                }
                out.append(.text(String(decoding: bytes[i..<endRaw.lowerBound], as: UTF8.self)))
                i = endRaw.upperBound
            case "if", "for":
                depth += 1
                defer { depth -= 1 }
                if depth > Self.maxDepth {
                    throw ExprError(range: tag.range, message: "blocks nested more than \(Self.maxDepth) levels deep", inTemplateTags: true)
                }
                out.append(tag.keyword == "if" ? try ifBlock(tag) : try forBlock(tag))
            default:
                if stops.contains(tag.keyword) {
                    flush(false)
                    return (out, tag)
                }
                let known = ["if", "elif", "else", "endif", "for", "endfor", "raw", "endraw"]
                throw ExprError(
                    range: tag.range, message: "unexpected {% \(tag.keyword) %}",
                    hint: known.contains(tag.keyword) ? "it has no matching opening tag" : Spelling.hint(tag.keyword, in: known),
                    inTemplateTags: true)
            }
        }
        flush(false)
        return (out, nil)
    }

    mutating func ifBlock(_ open: Tag) throws(ExprError) -> Template.Node {
        var branches: [(condition: Expr, body: [Template.Node])] = []
        var condition = try ExprParser.parse(bytes, range: open.body)
        while true {
            let (body, stop) = try nodes(until: ["elif", "else", "endif"])
            branches.append((condition, body))
            guard let stop else {
                throw ExprError(range: open.range, message: "{% if %} is never closed", hint: "add {% endif %}", inTemplateTags: true)
            }
            switch stop.keyword {
            case "elif":
                condition = try ExprParser.parse(bytes, range: stop.body)
            case "else":
                try noArguments(stop)
                let (otherwise, end) = try nodes(until: ["endif"])
                guard let end else {
                    throw ExprError(range: open.range, message: "{% if %} is never closed", hint: "add {% endif %}", inTemplateTags: true)
                }
                try noArguments(end)
                return .ifBlock(branches: branches, otherwise: otherwise, range: open.range.lowerBound..<end.range.upperBound)
            default:
                try noArguments(stop)
                return .ifBlock(branches: branches, otherwise: nil, range: open.range.lowerBound..<stop.range.upperBound)
            }
        }
    }

    mutating func forBlock(_ open: Tag) throws(ExprError) -> Template.Node {
        var j = open.body.lowerBound
        while j < open.body.upperBound, bytes[j] == 32 { j += 1 }
        let varStart = j
        while j < open.body.upperBound, Self.isIdent(bytes[j]) { j += 1 }
        guard j > varStart else {
            throw ExprError(range: open.range, message: "expected {% for NAME in EXPR %}", inTemplateTags: true)
        }
        let variable = String(decoding: bytes[varStart..<j], as: UTF8.self)
        while j < open.body.upperBound, bytes[j] == 32 { j += 1 }
        guard j + 2 <= open.body.upperBound, bytes[j] == UInt8(ascii: "i"), bytes[j + 1] == UInt8(ascii: "n"),
            j + 2 == open.body.upperBound || bytes[j + 2] == 32
        else {
            throw ExprError(
                range: open.range, message: "expected 'in' after the loop variable", hint: "write {% for x in xs %}", inTemplateTags: true)
        }
        let sequence = try ExprParser.parse(bytes, range: (j + 2)..<open.body.upperBound)
        let (body, stop) = try nodes(until: ["endfor"])
        guard let stop else {
            throw ExprError(range: open.range, message: "{% for %} is never closed", hint: "add {% endfor %}", inTemplateTags: true)
        }
        try noArguments(stop)
        return .forBlock(
            variable: variable, variableRange: varStart..<(varStart + variable.utf8.count),
            sequence: sequence, body: body, range: open.range.lowerBound..<stop.range.upperBound)
    }

    func noArguments(_ tag: Tag) throws(ExprError) {
        if bytes[tag.body].contains(where: { $0 != 32 && $0 != 9 && $0 != 10 }) {
            throw ExprError(range: tag.body, message: "{% \(tag.keyword) %} takes no arguments", inTemplateTags: true)
        }
    }

    static func isIdent(_ c: UInt8) -> Bool {
        (c | 0x20) >= 97 && (c | 0x20) <= 122 || c == 95 || (c >= 48 && c <= 57)
    }

    func readTag(_ body: Range<Int>, range: Range<Int>) throws(ExprError) -> Tag {
        var j = body.lowerBound
        while j < body.upperBound, [32, 9, 10, 13].contains(bytes[j]) { j += 1 }
        let start = j
        while j < body.upperBound, Self.isIdent(bytes[j]) { j += 1 }
        guard j > start else { throw ExprError(range: range, message: "expected a tag name after '{%'", inTemplateTags: true) }
        return Tag(keyword: String(decoding: bytes[start..<j], as: UTF8.self), body: j..<body.upperBound, range: range)
    }

    func findClose(from start: Int, closer: [UInt8], skipStrings: Bool) -> Int? {
        var j = start
        var quote: UInt8?
        while j + 1 < bytes.count {
            let c = bytes[j]
            if let q = quote {
                if c == UInt8(ascii: "\\") { j += 2; continue }
                if c == q { quote = nil }
                j += 1
                continue
            }
            if skipStrings, c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") { quote = c; j += 1; continue }
            if c == closer[0], bytes[j + 1] == closer[1] { return j }
            j += 1
        }
        return nil
    }

    func findEndRaw(from start: Int) -> Range<Int>? {
        var j = start
        while j + 1 < bytes.count {
            if bytes[j] == UInt8(ascii: "{"), bytes[j + 1] == UInt8(ascii: "%"),
                let close = findClose(from: j + 2, closer: Array("%}".utf8), skipStrings: false)
            {
                let inner = String(decoding: bytes[(j + 2)..<close], as: UTF8.self)
                    .trimmingCharacters(in: [" ", "-", "\t", "\n"])
                if inner == "endraw" { return j..<(close + 2) }
            }
            j += 1
        }
        return nil
    }
}

extension String {
    /// The string without leading and trailing characters from `set` (no Foundation needed).
    public func trimmingCharacters(in set: Set<Character>) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s.removeFirst() }
        while let l = s.last, set.contains(l) { s.removeLast() }
        return String(s)
    }
}
