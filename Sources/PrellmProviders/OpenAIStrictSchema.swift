import PrellmSchema

/// OpenAI's structured outputs with `strict: true` accept a subset of JSON Schema: the root is
/// an object, every object lists all its properties in `required` and sets
/// `additionalProperties: false`, and some keywords are refused. OpenAIStrictSchema turns a
/// contract into that subset when it can do so faithfully — an optional field becomes required
/// and nullable, an object is closed, a constraint strict mode lacks is stated in the prompt
/// instead (the answer is still validated against the original contract, and re-asked) — and
/// maps the answer back by dropping the nulls it introduced. Where no faithful translation
/// exists (a map-like object, `allOf`, a root that is not an object), the schema is sent as it
/// is with `strict: false`, and a note says why.
struct OpenAIStrictSchema: Sendable {
    var schema: JSONValue
    var strict: Bool
    /// Constraints moved out of the schema, as lines for the prompt.
    var constraints: [String]
    /// For the trace: what was changed, or why strict mode was not used.
    var notes: [String]
    /// Optional fields were made nullable: the answer's nulls for them are dropped.
    var introducedNulls: Bool

    /// Keywords strict mode refuses; their constraints are stated in the prompt.
    static let statedInPrompt: Set<String> = [
        "minLength", "maxLength", "minProperties", "maxProperties", "uniqueItems", "contains", "minContains", "maxContains",
        "propertyNames", "dependentRequired",
    ]
    /// Keywords with no faithful strict equivalent: the schema is sent non-strict.
    static let untranslatable: Set<String> = [
        "allOf", "not", "if", "then", "else", "dependentSchemas", "patternProperties", "unevaluatedProperties", "unevaluatedItems",
    ]
    static let maxDepth = 10

    static func translate(_ schema: JSONValue) -> OpenAIStrictSchema {
        var t = Translation()
        let out = t.visit(schema, at: "", depth: 0)
        if t.refusal == nil, !Self.isObject(schema) {
            t.refusal = "the contract's root is not an object, which strict mode requires"
        }
        if let refusal = t.refusal {
            return OpenAIStrictSchema(
                schema: schema, strict: false, constraints: [], notes: ["sent with strict: false: \(refusal)"], introducedNulls: false)
        }
        return OpenAIStrictSchema(
            schema: out, strict: true, constraints: t.constraints, notes: t.notes, introducedNulls: t.introducedNulls)
    }

    static func isObject(_ s: JSONValue) -> Bool {
        s["type"]?.stringValue == "object" || (s["type"] == nil && s["properties"] != nil)
    }

    struct Translation {
        var constraints: [String] = []
        var notes: [String] = []
        var refusal: String?
        var introducedNulls = false

        mutating func visit(_ s: JSONValue, at path: String, depth: Int) -> JSONValue {
            guard refusal == nil, case .object(var o) = s else { return s }
            if depth > OpenAIStrictSchema.maxDepth {
                refusal = "the contract nests deeper than strict mode's \(OpenAIStrictSchema.maxDepth) levels"
                return s
            }
            let here = path.isEmpty ? "/" : path
            for key in o.keys.sorted() {
                if OpenAIStrictSchema.untranslatable.contains(key) {
                    refusal = "'\(key)' at \(here) has no strict-mode equivalent"
                    return s
                }
                if OpenAIStrictSchema.statedInPrompt.contains(key), let value = o.removeValue(forKey: key) {
                    constraints.append("\(here): \(key) \(value.jsonText)")
                }
            }
            if let one = o.removeValue(forKey: "oneOf") {
                // Exactly-one becomes at-least-one for the decoder; the contract still checks exactly one.
                o["anyOf"] = one
                notes.append("oneOf at \(here) sent as anyOf")
            }
            if case .array(let items) = o["anyOf"] {
                o["anyOf"] = .array(items.enumerated().map { i, item in visit(item, at: "\(path)/anyOf/\(i)", depth: depth + 1) })
            }
            for key in ["$defs", "definitions"] {
                if case .object(let defs) = o[key] {
                    o[key] = .object(defs.mapValues { visit($0, at: "\(path)/\(key)", depth: depth) })
                }
            }
            if let items = o["items"] { o["items"] = visit(items, at: path + "/items", depth: depth + 1) }
            if case .array(let prefix) = o["prefixItems"] {
                o["prefixItems"] = .array(prefix.map { visit($0, at: path + "/prefixItems", depth: depth + 1) })
            }
            if OpenAIStrictSchema.isObject(.object(o)) { closeObject(&o, at: path, depth: depth) }
            return .object(o)
        }

        /// Every property required, the optional ones nullable; no other properties.
        mutating func closeObject(_ o: inout [String: JSONValue], at path: String, depth: Int) {
            let here = path.isEmpty ? "/" : path
            switch o["additionalProperties"] {
            case nil, .bool(true)?, .bool(false)?: break
            default:
                refusal = "the object at \(here) allows properties by a schema (a map), which strict mode cannot express"
                return
            }
            let properties = o["properties"]?.objectValue ?? [:]
            if properties.isEmpty, o["additionalProperties"] != .bool(false) {
                refusal = "the object at \(here) lists no properties, and strict mode allows none besides the listed ones"
                return
            }
            let required = Set(o["required"]?.arrayValue?.compactMap(\.stringValue) ?? [])
            var translated: [String: JSONValue] = [:]
            for (name, p) in properties {
                var v = visit(p, at: path + "/" + name, depth: depth + 1)
                if !required.contains(name) {
                    v = Self.nullable(v)
                    introducedNulls = true
                }
                translated[name] = v
            }
            o["properties"] = .object(translated)
            o["required"] = .array(properties.keys.sorted().map(JSONValue.string))
            o["additionalProperties"] = false
        }

        /// The schema, also accepting null.
        static func nullable(_ s: JSONValue) -> JSONValue {
            guard case .object(var o) = s else { return s }
            switch o["type"] {
            case .string(let t)? where o["enum"] == nil && o["const"] == nil:
                o["type"] = .array([.string(t), "null"])
                return .object(o)
            case .array(let ts)? where o["enum"] == nil && o["const"] == nil:
                if !ts.contains("null") { o["type"] = .array(ts + ["null"]) }
                return .object(o)
            default:
                return .object(["anyOf": .array([s, .object(["type": "null"])])])
            }
        }
    }

    /// The answer as the original contract sees it: nulls the translation allowed for optional
    /// fields are dropped (the field is absent instead). Local `$ref`s are followed.
    static func restore(_ answer: JSONValue, original: JSONValue) -> JSONValue {
        restore(answer, schema: original, root: original, depth: 0)
    }

    static func restore(_ v: JSONValue, schema: JSONValue, root: JSONValue, depth: Int) -> JSONValue {
        guard depth < 64, case .object(let s) = schema else { return v }
        if let ref = s["$ref"]?.stringValue, ref.hasPrefix("#"), let target = pointer(String(ref.dropFirst()), in: root) {
            return restore(v, schema: target, root: root, depth: depth + 1)
        }
        switch v {
        case .object(var fields):
            let properties = s["properties"]?.objectValue ?? [:]
            let required = Set(s["required"]?.arrayValue?.compactMap(\.stringValue) ?? [])
            for (name, value) in fields {
                if value == .null, !required.contains(name), properties[name] != nil {
                    fields[name] = nil
                } else if let p = properties[name] {
                    fields[name] = restore(value, schema: p, root: root, depth: depth + 1)
                }
            }
            var out = JSONValue.object(fields)
            for key in ["anyOf", "oneOf"] {
                for branch in s[key]?.arrayValue ?? [] where isObject(branch) {
                    out = restore(out, schema: branch, root: root, depth: depth + 1)
                }
            }
            return out
        case .array(let items):
            guard let itemSchema = s["items"] else { return v }
            return .array(items.map { restore($0, schema: itemSchema, root: root, depth: depth + 1) })
        default:
            return v
        }
    }

    static func pointer(_ p: String, in root: JSONValue) -> JSONValue? {
        var here = root
        for token in p.split(separator: "/") {
            let key = token.split(separator: "~1", omittingEmptySubsequences: false).joined(separator: "/")
                .split(separator: "~0", omittingEmptySubsequences: false).joined(separator: "~")
            guard let next = here[key] else { return nil }
            here = next
        }
        return here
    }
}
