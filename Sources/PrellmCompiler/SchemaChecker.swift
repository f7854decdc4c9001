import PrellmRegex
import PrellmSchema
import PrellmSyntax

/// A SchemaChecker reads a JSON Schema written in YAML (a contract or an input), converts it
/// to a JSONValue and checks it against the 2020-12 keyword rules with positions: each
/// keyword's value has the right shape, patterns compile under PCRE2, local `$ref`s resolve.
///
/// An unknown keyword is an error with did-you-mean: JSON Schema would ignore `requried`,
/// and a contract that silently checks nothing is the bug this tool exists to prevent.
/// Extension keywords spelled `x-…` are allowed.
struct SchemaChecker {
    static let schemaValued: Set<String> = [
        "items", "additionalProperties", "unevaluatedProperties", "unevaluatedItems",
        "contains", "propertyNames", "not", "if", "then", "else", "contentSchema",
    ]
    static let schemaMaps: Set<String> = ["properties", "patternProperties", "$defs", "dependentSchemas"]
    static let schemaLists: Set<String> = ["allOf", "anyOf", "oneOf", "prefixItems"]
    static let counts: Set<String> = [
        "maxLength", "minLength", "maxItems", "minItems", "maxProperties", "minProperties",
        "maxContains", "minContains",
    ]
    static let numbers: Set<String> = ["maximum", "minimum", "exclusiveMaximum", "exclusiveMinimum", "multipleOf"]
    static let strings: Set<String> = [
        "format", "title", "description", "$comment", "$id", "$anchor", "$dynamicAnchor",
        "$schema", "contentMediaType", "contentEncoding", "$ref", "$dynamicRef", "pattern",
    ]
    static let booleans: Set<String> = ["uniqueItems", "deprecated", "readOnly", "writeOnly"]
    static let other: Set<String> = ["type", "enum", "const", "required", "dependentRequired", "default", "examples", "$vocabulary"]
    static let keywords: [String] = Array(
        schemaValued.union(schemaMaps).union(schemaLists).union(counts).union(numbers)
            .union(strings).union(booleans).union(other)
    ).sorted()
    static let typeNames = ["null", "boolean", "object", "array", "number", "string", "integer"]

    /// Converts any YAML node to JSON (no schema rules).
    static func json(_ node: YAMLNode) -> JSONValue {
        switch node.content {
        case .sequence(let items): return .array(items.map(json))
        case .mapping(let pairs):
            var o: [String: JSONValue] = [:]
            for p in pairs { o[p.key.scalar?.value ?? ""] = json(p.value) }
            return .object(o)
        case .scalar:
            switch node.resolved {
            case .null: return .null
            case .bool(let b): return .bool(b)
            case .int(let i): return .number(Double(i))
            case .float(let d): return .number(d)
            case .string(let s): return .string(s)
            }
        }
    }

    /// Checks a schema node and returns its JSON; `fileRef` is called for `$ref`s to other files.
    static func check(_ node: YAMLNode, into bag: inout DiagnosticBag, fileRef: (String, Span) -> Void) -> JSONValue {
        walk(node, into: &bag, fileRef: fileRef)
        let value = json(node)
        // Indexing a schema to resolve references is the costly part; most schemas have none.
        if hasReferences(value) { checkLocalRefs(node, schema: JSONSchema(value), into: &bag) }
        return value
    }

    static func walk(_ node: YAMLNode, into bag: inout DiagnosticBag, fileRef: (String, Span) -> Void) {
        if case .bool = node.resolved, node.scalar != nil { return }
        guard let pairs = node.mapping else {
            bag.add(
                .invalidSchema, node.span, "a schema must be a mapping or true/false, found \(node.kindName)",
                hint: node.scalar.map { Self.typeNames.contains($0.value) ? "write {type: \($0.value)}" : nil } ?? nil)
            return
        }
        for pair in pairs {
            guard let key = pair.key.scalar?.value else { continue }
            let v = pair.value
            if key.hasPrefix("x-") { continue }
            if schemaValued.contains(key) {
                walk(v, into: &bag, fileRef: fileRef)
            } else if schemaMaps.contains(key) {
                guard let entries = v.mapping else {
                    bag.add(.invalidSchema, v.span, "'\(key)' must map names to schemas, found \(v.kindName)")
                    continue
                }
                for e in entries {
                    if key == "patternProperties", let p = e.key.scalar?.value {
                        checkPattern(p, e.key.span, into: &bag)
                    }
                    walk(e.value, into: &bag, fileRef: fileRef)
                }
            } else if schemaLists.contains(key) {
                guard let items = v.sequence, !items.isEmpty || key == "prefixItems" else {
                    bag.add(.invalidSchema, v.span, "'\(key)' must be a non-empty list of schemas, found \(v.kindName)")
                    continue
                }
                for item in items { walk(item, into: &bag, fileRef: fileRef) }
            } else if counts.contains(key) {
                if case .int(let n) = v.resolved, v.scalar != nil, n >= 0 { continue }
                bag.add(.invalidSchema, v.span, "'\(key)' must be a non-negative integer, found \(v.scalar?.value ?? v.kindName)")
            } else if numbers.contains(key) {
                switch v.resolved {
                case .int(let n) where v.scalar != nil && (key != "multipleOf" || n > 0): continue
                case .float(let d) where v.scalar != nil && d.isFinite && (key != "multipleOf" || d > 0): continue
                default:
                    bag.add(
                        .invalidSchema, v.span,
                        "'\(key)' must be a number\(key == "multipleOf" ? " greater than 0" : ""), found \(v.scalar?.value ?? v.kindName)")
                }
            } else if strings.contains(key) {
                guard case .string(let s) = v.resolved, v.scalar != nil else {
                    bag.add(.invalidSchema, v.span, "'\(key)' must be a string, found \(v.kindName)")
                    continue
                }
                if key == "pattern" { checkPattern(s, v.span, into: &bag) }
                if key == "$ref", !s.hasPrefix("#") { fileRef(s, v.span) }
            } else if booleans.contains(key) {
                if case .bool = v.resolved, v.scalar != nil { continue }
                bag.add(.invalidSchema, v.span, "'\(key)' must be true or false, found \(v.kindName)")
            } else if key == "type" {
                let names = v.sequence.map { $0.compactMap { $0.scalar?.value } } ?? v.scalar.map { [$0.value] } ?? []
                if names.isEmpty || (v.sequence.map { $0.count != names.count } ?? false) {
                    bag.add(.invalidSchema, v.span, "'type' must be a type name or a list of them")
                }
                for (i, n) in names.enumerated() where !typeNames.contains(n) {
                    let span = v.sequence?[i].span ?? v.span
                    bag.add(
                        .invalidSchema, span, "unknown type '\(n)'",
                        hint: Spelling.hint(n, in: typeNames + ["int", "bool", "float"]).map {
                            $0.replacingAll("'int'", "'integer'").replacingAll("'bool'", "'boolean'").replacingAll("'float'", "'number'")
                        } ?? "types are \(typeNames.joined(separator: ", "))")
                }
                if Set(names).count != names.count { bag.add(.invalidSchema, v.span, "'type' lists a type twice") }
            } else if key == "enum" || key == "examples" {
                if v.sequence == nil { bag.add(.invalidSchema, v.span, "'\(key)' must be a list, found \(v.kindName)") }
            } else if key == "required" {
                guard let items = v.sequence, items.allSatisfy({ if case .string = $0.resolved { $0.scalar != nil } else { false } }) else {
                    bag.add(.invalidSchema, v.span, "'required' must be a list of property names")
                    continue
                }
                var seen: Set<String> = []
                for item in items where !seen.insert(item.scalar!.value).inserted {
                    bag.add(.invalidSchema, item.span, "'\(item.scalar!.value)' is listed twice in 'required'")
                }
                if let props = node["properties"]?.mapping {
                    let names = props.compactMap { $0.key.scalar?.value }
                    for item in items where !names.contains(item.scalar!.value) && node["additionalProperties"]?.resolved == .bool(false) {
                        bag.add(
                            .invalidSchema, item.span,
                            "required property '\(item.scalar!.value)' is not in 'properties' and no other property is allowed",
                            hint: Spelling.hint(item.scalar!.value, in: names))
                    }
                }
            } else if key == "dependentRequired" {
                if !(v.mapping?.allSatisfy { $0.value.sequence != nil } ?? false) {
                    bag.add(.invalidSchema, v.span, "'dependentRequired' must map names to lists of names")
                }
            } else if key == "const" || key == "default" || key == "$vocabulary" {
                continue
            } else {
                bag.add(
                    .unknownSchemaKeyword, pair.key.span, "unknown JSON Schema keyword '\(key)'",
                    hint: Spelling.hint(key, in: keywords) ?? "extension keywords must start with 'x-'")
            }
        }
    }

    static func checkPattern(_ p: String, _ span: Span, into bag: inout DiagnosticBag) {
        do {
            _ = try PCRERegex(p)
        } catch {
            bag.add(.badRegex, span, "invalid regular expression: \(error.message) at offset \(error.offset)")
        }
    }

    /// Whether a schema has a `$ref` or `$dynamicRef` anywhere.
    static func hasReferences(_ v: JSONValue) -> Bool {
        switch v {
        case .object(let o): o["$ref"] != nil || o["$dynamicRef"] != nil || o.values.contains(where: hasReferences)
        case .array(let a): a.contains(where: hasReferences)
        case .null, .bool, .number, .string: false
        }
    }

    static func checkLocalRefs(_ node: YAMLNode, schema: JSONSchema, into bag: inout DiagnosticBag) {
        if let cycle = schema.referenceCycle() {
            let holder = locate(cycle.at, in: node)
            bag.add(
                .refCycle, holder?["$ref"]?.span ?? holder?.span ?? node.span, cycle.message,
                hint: cycle.tooDeep
                    ? "a value is checked through at most 300 nested references"
                    : "a schema may refer to itself only below a keyword that descends into the value, like properties or items")
            return
        }
        for (ref, at) in schema.unresolvedReferences() where ref.hasPrefix("#") {
            let span = locate(at, in: node)?["$ref"]?.span ?? node.span
            bag.add(
                .refNotFound, span, "$ref '\(ref)' does not resolve inside this schema",
                hint: "local references look like '#/$defs/Name'")
        }
    }

    static func locate(_ pointer: String, in node: YAMLNode) -> YAMLNode? {
        var here = node
        for token in pointer.split(separator: "/") {
            if let m = here.mapping, let next = m.first(where: { $0.key.scalar?.value == String(token) })?.value {
                here = next
            } else if let s = here.sequence, let i = Int(token), i < s.count {
                here = s[i]
            } else {
                return nil
            }
        }
        return here
    }
}

extension String {
    func replacingAll(_ target: String, _ replacement: String) -> String {
        var out = ""
        var rest = Substring(self)
        while let r = rest.firstRange(of: target) {
            out += rest[..<r.lowerBound] + replacement
            rest = rest[r.upperBound...]
        }
        return out + rest
    }
}
