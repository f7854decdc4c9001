/// A SchemaProblem is a keyword whose value the draft 2020-12 meta-schema forbids (or that
/// this validator cannot check exactly): which keyword, where, and what is wrong.
public struct SchemaProblem: Sendable, Hashable, CustomStringConvertible {
    public var keyword: String
    /// The JSON pointer of the schema that holds the keyword.
    public var at: String
    public var message: String
    public var description: String { "at '\(at.isEmpty ? "/" : at)': \(message)" }
}

extension JSONSchema {
    /// Keywords whose value is a count (`nonNegativeInteger` in the meta-schema).
    static let countKeywords = [
        "maxLength", "minLength", "maxItems", "minItems", "maxProperties", "minProperties", "maxContains", "minContains",
    ]
    static let numberKeywords = ["maximum", "minimum", "exclusiveMaximum", "exclusiveMinimum", "multipleOf"]
    static let typeNames: Set<String> = ["null", "boolean", "object", "array", "number", "string", "integer"]
    /// Counts above 2^53 lose integer precision as a Double and dwarf any real instance; a
    /// schema that writes one has made a mistake, and saying so beats comparing rounded values.
    static let largestCount = 9_007_199_254_740_992.0

    /// Every keyword of the root document whose value breaks the draft 2020-12 meta-schema's
    /// rules: counts that are not non-negative integers, a `multipleOf` that is not greater
    /// than 0, bounds that are not numbers, malformed `type`, `required`, `enum` and subschema
    /// lists, and patterns PCRE2 cannot compile. Validation would otherwise quietly accept
    /// `minLength: -1` or `multipleOf: 0`. Schemas under a meta-schema without the validation
    /// vocabulary are checked only for their applicators' shapes.
    public func keywordProblems() -> [SchemaProblem] {
        var out: [SchemaProblem] = []
        walkRules(root, base: rootBase, at: "", into: &out)
        return out
    }

    func walkRules(_ s: JSONValue, base: String, at: String, into out: inout [SchemaProblem]) {
        guard case .object(let o) = s else { return }
        var base = base
        if let id = o["$id"]?.stringValue { base = URIReference.split(URIReference.resolve(id, against: base)).base }
        if !noValidation.contains(base) {
            for keyword in o.keys.sorted() {
                if let message = validationRule(keyword, o[keyword]!) { out.append(SchemaProblem(keyword: keyword, at: at, message: message)) }
            }
        }
        for k in Self.schemaMapKeywords {
            guard let v = o[k] else { continue }
            guard case .object(let entries) = v else {
                out.append(SchemaProblem(keyword: k, at: at, message: "'\(k)' must map names to schemas, found \(v.typeName)"))
                continue
            }
            for name in entries.keys.sorted() {
                let sub = entries[name]!
                let here = at + "/" + k + "/" + Evaluation.escape(name)
                if let message = Self.shapeOfSubschema(k, sub) { out.append(SchemaProblem(keyword: k, at: here, message: message)) }
                if k == "patternProperties", regexes.regex(name) == nil {
                    out.append(SchemaProblem(keyword: k, at: at, message: "'patternProperties' key '\(name)' is not a valid pattern"))
                }
                walkRules(sub, base: base, at: here, into: &out)
            }
        }
        for k in Self.schemaKeywords {
            guard let v = o[k] else { continue }
            if let message = Self.shapeOfSubschema(k, v) { out.append(SchemaProblem(keyword: k, at: at, message: message)) }
            walkRules(v, base: base, at: at + "/" + k, into: &out)
        }
        for k in Self.schemaListKeywords {
            guard let v = o[k] else { continue }
            guard case .array(let items) = v, !items.isEmpty else {
                out.append(SchemaProblem(keyword: k, at: at, message: "'\(k)' must be a non-empty list of schemas, found \(Self.shown(v))"))
                continue
            }
            for (i, sub) in items.enumerated() {
                if let message = Self.shapeOfSubschema(k, sub) { out.append(SchemaProblem(keyword: k, at: at + "/\(k)/\(i)", message: message)) }
                walkRules(sub, base: base, at: at + "/\(k)/\(i)", into: &out)
            }
        }
    }

    static func shapeOfSubschema(_ keyword: String, _ v: JSONValue) -> String? {
        switch v {
        case .object, .bool: nil
        default: "'\(keyword)' needs a schema (an object or true/false), found \(shown(v))"
        }
    }

    /// What is wrong with one validation-vocabulary keyword's value, or nil.
    func validationRule(_ keyword: String, _ v: JSONValue) -> String? {
        if Self.countKeywords.contains(keyword) { return Self.countRule(keyword, v) }
        if Self.numberKeywords.contains(keyword) {
            // Infinity passes a Double comparison but is no JSON number: a YAML schema's 1e400.
            guard case .number(let n) = v, n.isFinite else { return "'\(keyword)' must be a number, found \(Self.shown(v))" }
            return keyword == "multipleOf" && n <= 0 ? "'multipleOf' must be greater than 0, found \(Self.shown(v))" : nil
        }
        switch keyword {
        case "type": return Self.typeRule(v)
        case "enum": return v.arrayValue == nil ? "'enum' must be a list of values, found \(Self.shown(v))" : nil
        case "required": return Self.stringListRule("'required'", v)
        case "uniqueItems": return v.boolValue == nil ? "'uniqueItems' must be true or false, found \(Self.shown(v))" : nil
        case "pattern":
            guard let p = v.stringValue else { return "'pattern' must be a string, found \(Self.shown(v))" }
            return regexes.regex(p) == nil ? "'pattern' '\(p)' is not a valid pattern" : nil
        case "dependentRequired":
            guard case .object(let o) = v else { return "'dependentRequired' must map names to lists of names, found \(Self.shown(v))" }
            return o.keys.sorted().lazy.compactMap { Self.stringListRule("'dependentRequired' entry '\($0)'", o[$0]!) }.first
        default: return nil
        }
    }

    static func countRule(_ keyword: String, _ v: JSONValue) -> String? {
        guard case .number(let n) = v, v.isInteger, n >= 0 else {
            return "'\(keyword)' must be a non-negative integer, found \(shown(v))"
        }
        if n > largestCount { return "'\(keyword)' must be at most 2^53 (9007199254740992), found \(shown(v))" }
        return nil
    }

    static func typeRule(_ v: JSONValue) -> String? {
        let names = v.stringValue.map { [$0] } ?? v.arrayValue?.compactMap(\.stringValue)
        guard let names, !names.isEmpty, names.count == (v.arrayValue?.count ?? 1) else {
            return "'type' must be a type name or a non-empty list of them, found \(shown(v))"
        }
        if let unknown = names.first(where: { !typeNames.contains($0) }) {
            return "'type' '\(unknown)' is not a type (one of \(typeNames.sorted().joined(separator: ", ")))"
        }
        return Set(names).count == names.count ? nil : "'type' lists a type twice: \(shown(v))"
    }

    static func stringListRule(_ what: String, _ v: JSONValue) -> String? {
        guard let items = v.arrayValue, items.allSatisfy({ $0.stringValue != nil }) else {
            return "\(what) must be a list of property names, found \(shown(v))"
        }
        return Set(items).count == items.count ? nil : "\(what) lists a name twice: \(shown(v))"
    }

    static func shown(_ v: JSONValue) -> String {
        // JSON text would print infinity as null.
        if case .number(let n) = v, n.isInfinite { return n > 0 ? "infinity" : "-infinity" }
        return Evaluation.short(v)
    }
}
