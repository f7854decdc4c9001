import PrellmSchema
import PrellmSyntax

/// A value that is the same on every run — a template with no `{{ }}`, or a plain reference to
/// a step that always gives the same text — is checked against the schema it flows into when
/// the workflow compiles: at run time it could only fail, after the calls before it were paid
/// for (and a re-ask cannot change it).
enum ConstantCheck {
    /// The value a template always gives, if it always gives one.
    static func value(of template: CompiledTemplate, constants: [Int: JSONValue]) -> (value: JSONValue, step: Int?)? {
        switch template.body {
        case .literal(_, let value): return (value, nil)
        case .reference(.step(let k), let filters, _) where filters.isEmpty: return constants[k].map { ($0, k) }
        case .reference, .nodes: return nil
        }
    }

    /// What the runtime checks for a constant: text is parsed as JSON toward a schema that does
    /// not want text, as a validate step does. Nil when the runtime's lenient parse might read
    /// more than a strict one (text with braces or brackets), so there is no false alarm.
    static func instance(_ value: JSONValue, wantsText: Bool) -> JSONValue? {
        guard case .string(let text) = value, !wantsText else { return value }
        if let parsed = try? JSONParser.parse(text) { return parsed }
        return text.contains(where: { "{[".contains($0) }) ? nil : value
    }

    /// How to show a constant in a message: short, and as JSON.
    static func shown(_ value: JSONValue) -> String {
        let s = value.jsonText
        return s.count > 40 ? String(s.prefix(37)) + "…" : s
    }
}
