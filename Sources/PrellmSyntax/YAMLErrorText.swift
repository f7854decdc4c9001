/// libyaml's messages describe its grammar ("did not find expected key while parsing a block
/// mapping"); YAMLErrorText says what the user most likely wrote, and how to fix it. The
/// common causes in workflow files: a tab in the indentation, an expression that starts with
/// a quote (`if: "security" in tags`, where YAML ends the string at the second quote) or with
/// `!` (YAML's tag indicator), and a line indented differently from the keys around it.
enum YAMLErrorText {
    struct Explained {
        var message: String
        var hint: String?
    }

    /// `problem` and `context` are libyaml's; `line` is the text of the line the problem is on.
    static func explain(problem: String, context: String?, line: String, contextLine: String?) -> Explained {
        if problem.contains("tab") || line.prefix(while: { $0 == " " || $0 == "\t" }).contains("\t") {
            return Explained(
                message: "a tab is used for indentation here; YAML indents with spaces only",
                hint: "replace the tabs at the start of the line with spaces")
        }
        for candidate in [line, contextLine].compactMap({ $0 }) {
            if let fix = quotedPrefixFix(candidate) {
                return Explained(
                    message: "this value starts with a quote, so YAML reads only the quoted part and then finds more text",
                    hint: "quote the whole expression: \(fix)")
            }
        }
        if problem.hasPrefix("did not find expected key") || problem.hasPrefix("did not find expected '-' indicator") {
            let kind = problem.contains("'-'") ? "list item" : "key"
            return Explained(
                message: "this line does not line up with the \(kind)s above it",
                hint:
                    "indent it like the \(kind)s of the same \(kind == "key" ? "mapping" : "list") (spaces only), or quote a value that contains ': ' or ' #'"
            )
        }
        if problem.hasPrefix("could not find expected ':'") {
            return Explained(
                message: "expected 'key: value' here, found text without a ':'",
                hint: "in a mapping every line is 'key: value'; a list item starts with '- '")
        }
        if problem.hasPrefix("mapping values are not allowed") {
            return Explained(
                message: "a ': ' inside a value that is not quoted",
                hint: "quote the value: key: \"text: with a colon\"")
        }
        if problem.hasPrefix("found character that cannot start any token") {
            return Explained(
                message: "this character cannot start a YAML value ('@' and '`' are reserved)",
                hint: "quote the value")
        }
        return Explained(message: context.map { "\(problem) \($0)" } ?? problem, hint: nil)
    }

    /// For `key: "quoted" more text` (or `- "quoted" more`), the line with the whole value
    /// quoted, else nil.
    static func quotedPrefixFix(_ line: String) -> String? {
        let trimmed = line.drop { $0 == " " }
        let indent = String(line.prefix(line.count - trimmed.count))
        var rest = Substring(trimmed)
        var lead = ""
        if rest.hasPrefix("- ") {
            lead = "- "
            rest = rest.dropFirst(2)
        }
        if let colon = rest.firstRange(of: ": "), !rest[..<colon.lowerBound].contains(where: { $0 == "\"" || $0 == "'" }) {
            lead += rest[..<colon.upperBound]
            rest = rest[colon.upperBound...].drop { $0 == " " }
        }
        guard let quote = rest.first, quote == "\"" || quote == "'" else { return nil }
        guard let close = rest.dropFirst().firstIndex(of: quote) else { return nil }
        let after = rest[rest.index(after: close)...].trimmingPrefix(" ")
        guard !after.isEmpty, !after.hasPrefix("#"), !after.hasPrefix(",") else { return nil }
        let value = String(rest).trimmingSuffixSpaces
        let requoted = quote == "\"" ? "'" + value.replacingAll("'", with: "''") + "'" : "\"" + value.replacingAll("\"", with: "\\\"") + "\""
        return indent.isEmpty ? lead + requoted : (lead + requoted)
    }

    /// The fix for an expression written as `!value.risky`: YAML takes it for a tag.
    static func bangFix(tag: String, value: String) -> String? {
        let expression = value.isEmpty ? tag : tag + " " + value
        // `!secret "x"` is a tag on a value; `!value.risky` (nothing after it, or a dotted
        // name) is an expression.
        guard value.isEmpty || tag.contains("."), tag.count > 1,
            tag.dropFirst().allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." || $0 == "(" })
        else {
            return nil
        }
        return "\"" + expression.replacingAll("\"", with: "\\\"") + "\""
    }
}

extension Substring {
    fileprivate func trimmingPrefix(_ c: Character) -> Substring { drop { $0 == c } }
}

extension String {
    fileprivate var trimmingSuffixSpaces: String {
        var s = Substring(self)
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }

    fileprivate func replacingAll(_ target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
