import Foundation
import PrellmSyntax

/// What surrounds a position in a workflow's text, read from the text itself: an editor asks
/// about half-typed files that do not parse, so hover and completion cannot wait for a tree.
/// Everything here looks at the cursor's line and the lines above it, never past a bounded
/// window, so a request costs the same in a large file.
struct Cursor {
    let lines: [Substring]
    /// Zero-based, as LSP counts.
    let line: Int
    /// The line's text before the cursor, and from it on.
    let prefix: String
    let rest: String

    /// How far above the cursor an open `{{` or `{%` is looked for.
    static let window = 80

    init?(_ text: String, _ p: TextPosition) {
        lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard p.line < lines.count else { return nil }
        let units = Array(lines[p.line].utf16)
        let at = min(p.character, units.count)
        line = p.line
        prefix = String(decoding: units[..<at], as: UTF16.self)
        rest = String(decoding: units[at...], as: UTF16.self)
    }

    /// The 1-based line of the compiler's spans.
    var sourceLine: Int { line + 1 }

    // MARK: - Expressions

    /// Inside `{{ … }}` or `{% … %}`: the last opening before the cursor is not yet closed.
    var inTemplate: Bool {
        var before = prefix
        for k in stride(from: line - 1, through: max(0, line - Self.window), by: -1) {
            if let open = Self.lastTag(in: before) { return open }
            before = String(lines[k])
        }
        return Self.lastTag(in: before) ?? false
    }

    /// Whether the last tag in `text` opens (true) or closes (false); nil when there is none.
    static func lastTag(in text: String) -> Bool? {
        let opens = [text.range(of: "{{", options: .backwards), text.range(of: "{%", options: .backwards)].compactMap { $0 }
        let closes = [text.range(of: "}}", options: .backwards), text.range(of: "%}", options: .backwards)].compactMap { $0 }
        let open = opens.map(\.lowerBound).max(), close = closes.map(\.lowerBound).max()
        switch (open, close) {
        case (nil, nil): return nil
        case (_?, nil): return true
        case (nil, _?): return false
        case (let o?, let c?): return o > c
        }
    }

    /// The value of the key the cursor is in is a bare expression: `if:` (a guard or a route
    /// branch) or `assert:`.
    var inExpressionKey: Bool {
        guard let key = prefix.matches(of: /(?:^|[\s{,-])([A-Za-z_$]+):\s/).last?.output.1 else { return false }
        return key == "if" || key == "assert"
    }

    var inExpression: Bool { inExpressionKey || inTemplate }

    /// The reference typed just before the cursor: `facts.tar` is `facts` and `tar`;
    /// `items[0].na` is `items`, an element, and `na`.
    var typedPath: (base: [PathSegment], partial: String) {
        var parts = PathSegment.written(atEndOf: prefix).split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        let partial = parts.popLast() ?? ""
        return (parts.flatMap(PathSegment.parse), partial)
    }

    /// After `|` (a filter goes here), allowing a partly typed name.
    var afterPipe: Bool {
        let head = prefix.reversed().drop { $0.isLetter || $0 == "_" }.drop { $0 == " " }
        return head.first == "|" && head.dropFirst().first != "|"
    }

    /// After `x == "` (or `!=`): the reference compared and the part of the string typed.
    var comparedString: (path: [PathSegment], partial: String)? {
        guard let m = prefix.firstMatch(of: /([A-Za-z_][A-Za-z0-9_.\[\]]*)\s*[!=]=\s*["']([^"']*)$/) else { return nil }
        return (PathSegment.path(String(m.output.1)), String(m.output.2))
    }

    // MARK: - YAML

    /// After `model:` (or a model choice's `use:`): the name typed so far.
    var modelValue: (partial: String, aliases: Bool)? {
        guard let m = prefix.firstMatch(of: /(?:^|[\s{,-])(model|use):\s*["']?([^\s,}"']*)$/) else { return nil }
        // Under `models:`, `use:` names catalogued models, not other aliases.
        return (String(m.output.2), m.output.1 == "model")
    }

    /// The key being typed at the start of a line (`  cal`, `- id`), with the line's key indent.
    var typedKey: (partial: String, indent: Int)? {
        guard rest.trimmingCharacters(in: .whitespaces).isEmpty || rest.hasPrefix(":"),
            let m = prefix.wholeMatch(of: /(\s*)(- )?([A-Za-z_]*)/)
        else { return nil }
        return (String(m.output.3), m.output.1.count + (m.output.2 == nil ? 0 : 2))
    }

    /// The key of the mapping the cursor's line sits in: the nearest line above whose keys are
    /// indented less (`call` for a line under `call:`), with the keys above that. Empty at the
    /// top level.
    func parentKeys(indent: Int) -> [String] {
        var keys: [String] = []
        var limit = indent
        for k in stride(from: line - 1, through: 0, by: -1) {
            let text = lines[k]
            guard let m = text.wholeMatch(of: /(\s*)(- )?([A-Za-z_$][A-Za-z0-9_-]*)?:?.*/), m.output.3 != nil || m.output.2 != nil else {
                continue
            }
            let trimmed = text.drop { $0 == " " }
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let keyIndent = m.output.1.count + (m.output.2 == nil ? 0 : 2)
            // A list item's own dash is one level out from its keys.
            let dashIndent = m.output.1.count
            if keyIndent < limit, let key = m.output.3 {
                keys.append(String(key))
                limit = keyIndent
            } else if m.output.2 != nil, dashIndent < limit {
                limit = dashIndent
            }
            if limit == 0 { break }
        }
        return keys
    }

    // MARK: - Words

    /// The identifier under the cursor, and what is written right around it.
    var word: Word? {
        func isWord(_ c: Character) -> Bool { c.isLetter || c.isNumber || c == "_" || c == "-" }
        let left = String(prefix.reversed().prefix(while: isWord).reversed())
        let right = String(rest.prefix(while: isWord))
        guard !(left + right).isEmpty else { return nil }
        let before = String(prefix.dropLast(left.count))
        let after = String(rest.dropFirst(right.count))
        return Word(text: left + right, before: before, after: after)
    }

    /// The run of non-blank text under the cursor (`openai/gpt-4o-mini`, `prompts/a.md`),
    /// without YAML's quotes and flow punctuation.
    var token: String {
        func isToken(_ c: Character) -> Bool { !c.isWhitespace && !"\"',{}[]".contains(c) }
        let text = String(prefix.reversed().prefix(while: isToken).reversed()) + String(rest.prefix(while: isToken))
        return text.hasPrefix("-") ? String(text.dropFirst()) : text
    }

    /// The file named on the cursor's line when the cursor is on the naming: `prompt_file:` or
    /// `$ref:` and their value (not an earlier key of a flow mapping), or an import's line.
    var fileMention: String? {
        let text = String(lines[line])
        for key in ["prompt_file:", "$ref:"] {
            guard let r = text.range(of: key), let v = FileMentions.value(after: key, in: text) else { continue }
            let keyStart = text.utf16.distance(from: text.startIndex, to: r.lowerBound)
            if prefix.utf16.count >= keyStart { return v.text }
        }
        if section == "imports", text.hasPrefix(" "), !text.drop(while: { $0 == " " }).hasPrefix("#"),
            let v = FileMentions.value(after: ":", in: text)
        {
            return v.text
        }
        return nil
    }

    /// The top-level key the cursor's line is under (`steps`, `imports`), nil at the top.
    var section: String? {
        for k in stride(from: line, through: 0, by: -1) {
            let text = lines[k]
            guard let c = text.first, c.isLetter else { continue }
            return text.split(separator: ":", maxSplits: 1).first.map(String.init)
        }
        return nil
    }
}

struct Word {
    var text: String
    var before: String
    var after: String

    var afterInputs: Bool { before.hasSuffix("inputs.") }
    /// Written as a filter (`| join`).
    var isFilter: Bool { before.trimmingCharacters(in: .whitespaces).hasSuffix("|") }
    /// Written as a call (`size(`).
    var isCall: Bool { after.hasPrefix("(") }
    /// The reference it ends, when it is a field: `facts.target` under `target`.
    var path: [PathSegment] {
        PathSegment.path(PathSegment.written(atEndOf: before) + text)
    }
}

/// One step of a reference: a field by name, or an element of a list (`[0]`).
enum PathSegment: Equatable {
    case field(String)
    case element

    /// The reference written at the end of a text (`facts.items[0].na` in `{{ facts.items[0].na`).
    static func written(atEndOf text: String) -> String {
        String(text.reversed().prefix { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." || $0 == "[" || $0 == "]" }.reversed())
    }

    /// A written reference as segments: `facts.items[0]` is `facts`, `items`, an element.
    static func path(_ written: String) -> [PathSegment] {
        written.split(separator: ".").flatMap { parse(String($0)) }
    }

    /// `items[0]` is the field `items`, then an element.
    static func parse(_ part: String) -> [PathSegment] {
        guard let bracket = part.firstIndex(of: "[") else { return part.isEmpty ? [] : [.field(part)] }
        let name = String(part[..<bracket])
        let elements = part[bracket...].filter { $0 == "[" }.count
        return (name.isEmpty ? [] : [.field(name)]) + Array(repeating: .element, count: elements)
    }
}
