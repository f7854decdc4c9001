import PrellmRegex

/// The validation vocabulary: keywords that assert on the instance itself.
extension Evaluation {
    mutating func validateAssertions(_ o: [String: JSONValue], _ inst: JSONValue, at: String, keyword: String, into r: inout Result) {
        if let type = o["type"] {
            let allowed = type.arrayValue?.compactMap(\.stringValue) ?? type.stringValue.map { [$0] } ?? []
            let actual = inst.typeName
            if !allowed.contains(where: { $0 == actual || ($0 == "number" && actual == "integer") }) {
                fail(&r, at, keyword + "/type", "expected \(allowed.joined(separator: " or ")), found \(actual)")
            }
        }
        if let values = o["enum"]?.arrayValue, !enumContains(values, inst, keyword: keyword + "/enum") {
            fail(&r, at, keyword + "/enum", "value \(Self.short(inst)) is not one of \(Self.listed(values))")
        }
        if let c = o["const"], c != inst {
            fail(&r, at, keyword + "/const", "value must be \(Self.short(c))")
        }
        switch inst {
        case .number(let n): numeric(o, n, at: at, keyword: keyword, into: &r)
        case .string(let s): string(o, s, at: at, keyword: keyword, into: &r)
        case .array(let a):
            if let m = o["maxItems"]?.numberValue, Double(a.count) > m {
                fail(&r, at, keyword + "/maxItems", "array has \(a.count) items; at most \(JSONValue.format(m)) are allowed")
            }
            if let m = o["minItems"]?.numberValue, Double(a.count) < m {
                fail(&r, at, keyword + "/minItems", "array has \(a.count) items; at least \(JSONValue.format(m)) are required")
            }
            if o["uniqueItems"] == .bool(true) {
                var seen = Set<JSONValue>()
                for (i, v) in a.enumerated() where !seen.insert(v).inserted {
                    fail(&r, at + "/\(i)", keyword + "/uniqueItems", "item \(i) repeats an earlier item; items must be unique")
                    break
                }
            }
        case .object(let obj):
            if let required = o["required"]?.arrayValue {
                for case .string(let name) in required where obj[name] == nil {
                    fail(&r, at, keyword + "/required", "missing required property '\(name)'")
                }
            }
            if let m = o["maxProperties"]?.numberValue, Double(obj.count) > m {
                fail(&r, at, keyword + "/maxProperties", "object has \(obj.count) properties; at most \(JSONValue.format(m)) are allowed")
            }
            if let m = o["minProperties"]?.numberValue, Double(obj.count) < m {
                fail(&r, at, keyword + "/minProperties", "object has \(obj.count) properties; at least \(JSONValue.format(m)) are required")
            }
            if let deps = o["dependentRequired"]?.objectValue {
                for (name, needs) in deps where obj[name] != nil {
                    for case .string(let other) in needs.arrayValue ?? [] where obj[other] == nil {
                        fail(&r, at, keyword + "/dependentRequired/" + name, "property '\(other)' is required when '\(name)' is present")
                    }
                }
            }
        default: break
        }
    }

    mutating func numeric(_ o: [String: JSONValue], _ n: Double, at: String, keyword: String, into r: inout Result) {
        if let m = o["maximum"]?.numberValue, n > m {
            fail(&r, at, keyword + "/maximum", "\(JSONValue.format(n)) is greater than the maximum \(JSONValue.format(m))")
        }
        if let m = o["exclusiveMaximum"]?.numberValue, n >= m {
            fail(&r, at, keyword + "/exclusiveMaximum", "\(JSONValue.format(n)) must be less than \(JSONValue.format(m))")
        }
        if let m = o["minimum"]?.numberValue, n < m {
            fail(&r, at, keyword + "/minimum", "\(JSONValue.format(n)) is less than the minimum \(JSONValue.format(m))")
        }
        if let m = o["exclusiveMinimum"]?.numberValue, n <= m {
            fail(&r, at, keyword + "/exclusiveMinimum", "\(JSONValue.format(n)) must be greater than \(JSONValue.format(m))")
        }
        if let m = o["multipleOf"]?.numberValue, m > 0 {
            let q = n / m
            let ok = q.isFinite && abs(q - q.rounded()) <= 1e-9 * max(1, abs(q))
            if !ok { fail(&r, at, keyword + "/multipleOf", "\(JSONValue.format(n)) is not a multiple of \(JSONValue.format(m))") }
        }
    }

    mutating func string(_ o: [String: JSONValue], _ s: String, at: String, keyword: String, into r: inout Result) {
        let needsLength = o["maxLength"] != nil || o["minLength"] != nil
        let length = needsLength ? s.unicodeScalars.count : 0
        if let m = o["maxLength"]?.numberValue, Double(length) > m {
            fail(&r, at, keyword + "/maxLength", "string has \(length) characters; at most \(JSONValue.format(m)) are allowed")
        }
        if let m = o["minLength"]?.numberValue, Double(length) < m {
            fail(&r, at, keyword + "/minLength", "string has \(length) characters; at least \(JSONValue.format(m)) are required")
        }
        if let p = o["pattern"]?.stringValue {
            if let re = schema.regexes.regex(p) {
                if search(re, p, s, at: at, keyword: keyword + "/pattern", into: &r) == .noMatch {
                    fail(&r, at, keyword + "/pattern", "string does not match the pattern '\(p)'")
                }
            } else {
                fail(&r, at, keyword + "/pattern", "invalid pattern '\(p)'")
            }
        }
    }

    /// A search for a schema pattern; one that stops at PCRE2's limits is a validation error
    /// naming the pattern, since its answer is unknown. After the first such stop the pattern
    /// is not run again in this validation: 2,000 hostile strings cost one search's limit, not
    /// 2,000 of them.
    mutating func search(
        _ re: PCRERegex, _ pattern: String, _ text: String, at: String, keyword: String, into r: inout Result
    ) -> PCRERegex.SearchResult {
        let outcome = exhaustedPatterns.contains(pattern) ? .tooComplex : re.search(text)
        if outcome == .tooComplex {
            exhaustedPatterns.insert(pattern)
            fail(
                &r, at, keyword,
                "the pattern '\(pattern)' needs more than \(PCRERegex.matchLimit) backtracking steps on this value; "
                    + "rewrite it without nested or overlapping repetition")
        }
        return outcome
    }

    /// Membership in an `enum`: a linear scan for a few values, else a set built once per
    /// validation, so `items: {enum: …}` over many items costs one hash per item rather than
    /// a scan of every value. Sets are found by keyword path; two schemas can share a path
    /// (property names are not escaped in it), so a hit counts only for the same list, which
    /// `==` confirms at once when both share the schema's storage.
    mutating func enumContains(_ values: [JSONValue], _ inst: JSONValue, keyword: String) -> Bool {
        guard values.count > 16 else { return values.contains(inst) }
        if let cached = enumSets[keyword], cached.values == values { return cached.set.contains(inst) }
        let set = Set(values)
        enumSets[keyword] = (values, set)
        return set.contains(inst)
    }

    /// Up to ten values of a list, and how many more: a message stays readable for any enum.
    static func listed(_ values: [JSONValue]) -> String {
        let shown = values.prefix(10).map(short).joined(separator: ", ")
        return values.count > 10 ? shown + ", … (\(values.count) values)" : shown
    }

    static func short(_ v: JSONValue) -> String {
        let text = v.jsonText
        return text.count > 60 ? String(text.prefix(57)) + "..." : text
    }
}
