/// JSON Schema patterns are ECMA-262 regular expressions; PCRE2 agrees with nearly all of that
/// syntax. The gap that real schemas hit is Unicode property names: ECMA-262 spells them long
/// (`\p{Letter}`, `\p{Script=Greek}`), PCRE2 10.42 short (`\p{L}`, `\p{Greek}`).
enum ECMAPattern {
    static let generalCategories: [String: String] = [
        "Letter": "L", "Cased_Letter": "L&", "Uppercase_Letter": "Lu", "Lowercase_Letter": "Ll",
        "Titlecase_Letter": "Lt", "Modifier_Letter": "Lm", "Other_Letter": "Lo",
        "Mark": "M", "Nonspacing_Mark": "Mn", "Spacing_Mark": "Mc", "Enclosing_Mark": "Me",
        "Number": "N", "Decimal_Number": "Nd", "digit": "Nd", "Letter_Number": "Nl", "Other_Number": "No",
        "Punctuation": "P", "punct": "P", "Connector_Punctuation": "Pc", "Dash_Punctuation": "Pd",
        "Open_Punctuation": "Ps", "Close_Punctuation": "Pe", "Initial_Punctuation": "Pi",
        "Final_Punctuation": "Pf", "Other_Punctuation": "Po",
        "Symbol": "S", "Math_Symbol": "Sm", "Currency_Symbol": "Sc", "Modifier_Symbol": "Sk", "Other_Symbol": "So",
        "Separator": "Z", "Space_Separator": "Zs", "Line_Separator": "Zl", "Paragraph_Separator": "Zp",
        "Other": "C", "Control": "Cc", "cntrl": "Cc", "Format": "Cf", "Surrogate": "Cs",
        "Private_Use": "Co", "Unassigned": "Cn",
    ]

    static func translate(_ pattern: String) -> String {
        guard pattern.contains("\\p{") || pattern.contains("\\P{") else { return pattern }
        var out = ""
        var rest = Substring(pattern)
        while let r = rest.range(of: "{"), r.lowerBound > rest.startIndex {
            let before = rest[..<r.lowerBound]
            let isProperty = before.hasSuffix("\\p") || before.hasSuffix("\\P")
            guard isProperty, let close = rest[r.upperBound...].firstIndex(of: "}") else {
                out += rest[...r.lowerBound]
                rest = rest[r.upperBound...]
                continue
            }
            var name = String(rest[r.upperBound..<close])
            for prefix in ["General_Category=", "gc=", "Script=", "sc=", "Script_Extensions=", "scx="] where name.hasPrefix(prefix) {
                name = String(name.dropFirst(prefix.count))
            }
            out += before + "{" + (generalCategories[name] ?? name) + "}"
            rest = rest[rest.index(after: close)...]
        }
        return out + rest
    }
}
