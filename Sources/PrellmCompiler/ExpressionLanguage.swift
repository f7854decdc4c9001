/// The functions and filters of the expression language, with the signatures editors show. The
/// checker takes its name lists from here, so a hover or a completion cannot offer a name the
/// checker refuses.
public enum ExpressionLanguage {
    public struct Builtin: Sendable {
        public var name: String
        /// How it is written, with its argument and result types.
        public var signature: String
        public var summary: String
    }

    public static let functions: [Builtin] = [
        .init(name: "size", signature: "size(value: string | list | object) -> integer", summary: "characters, items or keys"),
        .init(
            name: "contains", signature: "contains(s: string, t: string) -> bool · contains(list, item) -> bool", summary: "substring or membership"),
        .init(name: "startsWith", signature: "startsWith(s: string, prefix: string) -> bool", summary: "whether s begins with prefix"),
        .init(name: "endsWith", signature: "endsWith(s: string, suffix: string) -> bool", summary: "whether s ends with suffix"),
        .init(
            name: "matches", signature: "matches(s: string, pattern: string) -> bool",
            summary: "a PCRE2 search; a literal pattern is checked when compiled"),
        .init(name: "has", signature: "has(reference) -> bool", summary: "whether a step ran (or a field is present); guards the reads it proves"),
        .init(name: "int", signature: "int(value) -> integer", summary: "converts a number or numeric string"),
        .init(name: "double", signature: "double(value) -> number", summary: "converts to a number"),
        .init(name: "string", signature: "string(value) -> string", summary: "the value as text"),
    ]

    public static let filters: [Builtin] = [
        .init(name: "join", signature: "list | join(separator: string = \"\") -> string", summary: "the items joined into one text"),
        .init(name: "json", signature: "value | json -> string", summary: "the value as JSON text"),
        .init(
            name: "default", signature: "value | default(fallback) -> value", summary: "the fallback when the value is null or its step was skipped"),
        .init(name: "upper", signature: "string | upper -> string", summary: "upper case"),
        .init(name: "lower", signature: "string | lower -> string", summary: "lower case"),
        .init(name: "trim", signature: "string | trim -> string", summary: "without leading and trailing white space"),
        .init(name: "length", signature: "string | list | object | length -> integer", summary: "characters, items or keys"),
        .init(name: "truncate", signature: "string | truncate(n: integer) -> string", summary: "at most n characters"),
    ]
}
