/// One validation run: the dynamic scope, the collected errors and the recursion bound.
struct Evaluation {
    /// What a (valid) subschema evaluated, for `unevaluated*`.
    struct Result {
        var valid = true
        var properties: Set<String> = []
        var itemPrefix = 0
        var allItems = false
        var containsItems: Set<Int> = []

        mutating func merge(_ o: Result) {
            guard o.valid else { return }
            properties.formUnion(o.properties)
            itemPrefix = max(itemPrefix, o.itemPrefix)
            allItems = allItems || o.allItems
            containsItems.formUnion(o.containsItems)
        }
    }

    static let maxDepth = 300
    /// Subschema evaluations one validation may make. Schemas without cycles can still be
    /// exponential (`anyOf` over definitions that each `anyOf` the next); past this a value is
    /// reported invalid rather than checked for minutes.
    static let maxSteps = 1_000_000
    /// Errors one validation collects: enough to re-ask with, and a failing `anyOf` over
    /// failing `anyOf`s cannot pile up millions of them.
    static let maxErrors = 64
    static let tooLongMessage = "the schema takes too long to check (more than \(maxSteps) subschema evaluations)"

    let schema: JSONSchema
    let collect: Bool
    var errors: [ValidationError] = []
    var dynamicScope: [String] = []
    var depth = 0
    var steps = 0

    init(schema: JSONSchema, collect: Bool) {
        self.schema = schema
        self.collect = collect
    }

    struct RefKey: Hashable {
        var ref: String
        var base: String
    }
    /// Resolved `$ref`s: parsing and resolving a URI costs more than the rest of a typical
    /// subschema's evaluation, and the same few references are followed over and over.
    var resolved: [RefKey: (target: JSONSchema.Located, id: Int)?] = [:]
    /// Large `enum`s as sets, by keyword location (see `enumContains`).
    var enumSets: [String: (values: [JSONValue], set: Set<JSONValue>)] = [:]
    /// Patterns that hit PCRE2's limits in this validation (see `search`).
    var exhaustedPatterns: Set<String> = []

    /// The target of a reference and a number for it (for the memo's keys).
    mutating func resolve(_ ref: String, _ base: String) -> (target: JSONSchema.Located, id: Int)? {
        let key = RefKey(ref: ref, base: base)
        if let hit = resolved[key] { return hit }
        let found = schema.lookup(URIReference.resolve(ref, against: base)).map { ($0, resolved.count) }
        resolved[key] = found
        return found
    }

    struct MemoKey: Hashable {
        var ref: Int
        var at: String
        var name: Bool
    }
    struct Memo {
        var result: Result
        var errors: [ValidationError]
        var keyword: String
    }
    /// `$ref` results by target and instance location (see `evalReference`).
    var memo: [MemoKey: Memo] = [:]
    /// Visits made once: only a second visit is remembered, so data that reaches each
    /// reference once per location (the usual case) pays one small set insertion, not a memo.
    var visited: Set<MemoKey> = []
    static let maxMemo = 100_000
    /// How often the depth or step limit stopped an evaluation: a result cut short by them
    /// depends on where it was reached, so it is not remembered.
    var limitsHit = 0
    /// True while `propertyNames` checks names, which share their values' instance locations.
    var checkingName = false

    /// A `$ref`'s target evaluated once per instance location: `allOf: [$ref: a, $ref: a]` at
    /// every level of a chain is exponential unless the second visit reuses the first's
    /// result and errors (their keyword locations moved to the second's path). With dynamic
    /// anchors a result also depends on the dynamic scope, so those schemas are not memoised.
    mutating func evalReference(_ target: JSONSchema.Located, _ ref: Int, _ inst: JSONValue, at: String, keyword: String) -> Result {
        guard schema.dynamicAnchors.isEmpty else { return eval(target.schema, inst, base: target.base, at: at, keyword: keyword) }
        let key = MemoKey(ref: ref, at: at, name: checkingName)
        if let m = memo[key] {
            keep(
                m.errors.map { e in
                    var e = e
                    e.keywordLocation = keyword + e.keywordLocation.dropFirst(m.keyword.count)
                    return e
                })
            return m.result
        }
        if visited.insert(key).inserted { return eval(target.schema, inst, base: target.base, at: at, keyword: keyword) }
        let saved = errors.count, limits = limitsHit
        let r = eval(target.schema, inst, base: target.base, at: at, keyword: keyword)
        // Errors capped inside would be replayed short; limits make the result path-dependent.
        if limitsHit == limits, errors.count < Self.maxErrors, memo.count < Self.maxMemo {
            memo[key] = Memo(result: r, errors: Array(errors[saved...]), keyword: keyword)
        }
        return r
    }

    mutating func fail(_ result: inout Result, _ at: String, _ keyword: String, _ message: @autoclosure () -> String) {
        result.valid = false
        if collect, errors.count < Self.maxErrors {
            errors.append(ValidationError(instanceLocation: at, keywordLocation: keyword, message: message()))
        }
    }

    /// Errors of subschemas the caller decided to report, up to the cap.
    mutating func keep(_ more: [ValidationError]) {
        guard collect else { return }
        errors += more.prefix(max(0, Self.maxErrors - errors.count))
    }

    /// Evaluates a subschema whose own errors are only wanted if the caller decides so.
    mutating func probe(_ s: JSONValue, _ inst: JSONValue, base: String, at: String, keyword: String) -> (Result, [ValidationError]) {
        let saved = errors.count
        let r = eval(s, inst, base: base, at: at, keyword: keyword)
        let produced = Array(errors[saved...])
        errors.removeSubrange(saved...)
        return (r, produced)
    }

    mutating func eval(_ s: JSONValue, _ inst: JSONValue, base: String, at: String, keyword: String) -> Result {
        var r = Result()
        switch s {
        case .bool(true): return r
        case .bool(false):
            fail(&r, at, keyword, "no value is allowed here (false schema)")
            return r
        case .object: break
        default: return r
        }
        let o = s.objectValue!
        steps += 1
        if steps > Self.maxSteps {
            limitsHit += 1
            // Every evaluation after the limit fails without work; `validate` reports why.
            r.valid = false
            return r
        }
        depth += 1
        defer { depth -= 1 }
        if depth > Self.maxDepth {
            limitsHit += 1
            fail(&r, at, keyword, "schema references nest more than \(Self.maxDepth) levels (a $ref cycle?)")
            return r
        }
        var base = base
        let scopeCount = dynamicScope.count
        if let id = o["$id"]?.stringValue {
            base = URIReference.split(URIReference.resolve(id, against: base)).base
        }
        // Only where the resource changes: `$dynamicRef` looks for the outermost scope with its
        // anchor, which a repeat of the scope before cannot change, and a scan of every level
        // made each `$dynamicRef` cost the depth.
        if dynamicScope.last != base { dynamicScope.append(base) }
        defer { dynamicScope.removeSubrange(scopeCount...) }

        if let ref = o["$ref"]?.stringValue {
            if let (target, id) = resolve(ref, base) {
                let sub = evalReference(target, id, inst, at: at, keyword: keyword + "/$ref")
                if !sub.valid { r.valid = false }
                r.merge(sub)
            } else {
                fail(&r, at, keyword + "/$ref", "cannot resolve reference '\(ref)'")
            }
        }
        if let ref = o["$dynamicRef"]?.stringValue {
            // Resolved through the cache like `$ref`; resolving keeps the reference's fragment.
            if var target = resolve(ref, base)?.target {
                let fragment = URIReference.split(ref).fragment ?? ""
                if !fragment.isEmpty, !fragment.hasPrefix("/"), target.schema["$dynamicAnchor"]?.stringValue == fragment {
                    for scope in dynamicScope where schema.dynamicAnchors.contains(scope + "#" + fragment) {
                        if let outer = schema.anchors[scope + "#" + fragment] { target = outer; break }
                    }
                }
                let sub = eval(target.schema, inst, base: target.base, at: at, keyword: keyword + "/$dynamicRef")
                if !sub.valid { r.valid = false }
                r.merge(sub)
            } else {
                fail(&r, at, keyword + "/$dynamicRef", "cannot resolve reference '\(ref)'")
            }
        }

        if !schema.noValidation.contains(base) {
            validateAssertions(o, inst, at: at, keyword: keyword, into: &r)
        }
        applyInPlace(o, inst, base: base, at: at, keyword: keyword, into: &r)
        switch inst {
        case .object(let obj): applyObject(o, obj, base: base, at: at, keyword: keyword, into: &r)
        case .array(let arr): applyArray(o, arr, base: base, at: at, keyword: keyword, into: &r)
        default: break
        }
        return r
    }

    // MARK: - Applicators that evaluate the same instance

    mutating func applyInPlace(_ o: [String: JSONValue], _ inst: JSONValue, base: String, at: String, keyword: String, into r: inout Result) {
        if let all = o["allOf"]?.arrayValue {
            for (i, s) in all.enumerated() {
                let sub = eval(s, inst, base: base, at: at, keyword: keyword + "/allOf/\(i)")
                if !sub.valid { r.valid = false }
                r.merge(sub)
            }
        }
        if let any = o["anyOf"]?.arrayValue {
            var matched = false
            var collected: [ValidationError] = []
            for (i, s) in any.enumerated() {
                let (sub, errs) = probe(s, inst, base: base, at: at, keyword: keyword + "/anyOf/\(i)")
                if sub.valid { matched = true; r.merge(sub) } else if collected.count < Self.maxErrors { collected += errs }
            }
            if !matched {
                fail(&r, at, keyword + "/anyOf", "value does not match any of the \(any.count) alternatives in anyOf")
                keep(collected)
            }
        }
        if let one = o["oneOf"]?.arrayValue {
            var valid: [Int] = []
            var collected: [ValidationError] = []
            var chosen = Result()
            for (i, s) in one.enumerated() {
                let (sub, errs) = probe(s, inst, base: base, at: at, keyword: keyword + "/oneOf/\(i)")
                if sub.valid { valid.append(i); chosen = sub } else if collected.count < Self.maxErrors { collected += errs }
            }
            if valid.count == 1 {
                r.merge(chosen)
            } else if valid.isEmpty {
                fail(&r, at, keyword + "/oneOf", "value does not match any of the \(one.count) alternatives in oneOf")
                keep(collected)
            } else {
                fail(
                    &r, at, keyword + "/oneOf",
                    "value matches \(valid.count) alternatives of oneOf (\(valid.map(String.init).joined(separator: ", "))); exactly one must match")
            }
        }
        if let not = o["not"] {
            let (sub, _) = probe(not, inst, base: base, at: at, keyword: keyword + "/not")
            if sub.valid { fail(&r, at, keyword + "/not", "value must not match the schema in 'not'") }
        }
        if let cond = o["if"] {
            let (sub, _) = probe(cond, inst, base: base, at: at, keyword: keyword + "/if")
            if sub.valid {
                r.merge(sub)
                if let then = o["then"] {
                    let t = eval(then, inst, base: base, at: at, keyword: keyword + "/then")
                    if !t.valid { r.valid = false }
                    r.merge(t)
                }
            } else if let els = o["else"] {
                let e = eval(els, inst, base: base, at: at, keyword: keyword + "/else")
                if !e.valid { r.valid = false }
                r.merge(e)
            }
        }
    }

    // MARK: - Objects

    mutating func applyObject(_ o: [String: JSONValue], _ obj: [String: JSONValue], base: String, at: String, keyword: String, into r: inout Result) {
        let properties = o["properties"]?.objectValue
        if let properties {
            for (name, s) in properties {
                guard let v = obj[name] else { continue }
                let sub = eval(s, v, base: base, at: at + "/" + Self.escape(name), keyword: keyword + "/properties/" + name)
                if !sub.valid { r.valid = false }
                r.properties.insert(name)
            }
        }
        let patterns = o["patternProperties"]?.objectValue
        var matchedByPattern: Set<String> = []
        if let patterns {
            for (pattern, s) in patterns {
                guard let re = schema.regexes.regex(pattern) else {
                    fail(&r, at, keyword + "/patternProperties", "invalid pattern '\(pattern)'")
                    continue
                }
                let here = keyword + "/patternProperties/" + pattern
                for (name, v) in obj where search(re, pattern, name, at: at + "/" + Self.escape(name), keyword: here, into: &r) == .match {
                    matchedByPattern.insert(name)
                    let sub = eval(s, v, base: base, at: at + "/" + Self.escape(name), keyword: here)
                    if !sub.valid { r.valid = false }
                    r.properties.insert(name)
                }
            }
        }
        if let additional = o["additionalProperties"] {
            for (name, v) in obj where properties?[name] == nil && !matchedByPattern.contains(name) {
                let (sub, errs) = probe(additional, v, base: base, at: at + "/" + Self.escape(name), keyword: keyword + "/additionalProperties")
                if !sub.valid {
                    if additional == .bool(false) {
                        let known = (properties?.keys).map { Array($0) } ?? []
                        let near = Self.nearest(name, known)
                        fail(
                            &r, at, keyword + "/additionalProperties",
                            "property '\(name)' is not allowed" + (near.map { " (did you mean '\($0)'?)" } ?? ""))
                    } else {
                        r.valid = false
                        keep(errs)
                    }
                }
                r.properties.insert(name)
            }
        }
        if let names = o["propertyNames"] {
            // The name is checked at its value's location: a different instance there.
            let outer = checkingName
            checkingName = true
            defer { checkingName = outer }
            for name in obj.keys {
                let sub = eval(names, .string(name), base: base, at: at + "/" + Self.escape(name), keyword: keyword + "/propertyNames")
                if !sub.valid { r.valid = false }
            }
        }
        if let deps = o["dependentSchemas"]?.objectValue {
            for (name, s) in deps where obj[name] != nil {
                let sub = eval(s, .object(obj), base: base, at: at, keyword: keyword + "/dependentSchemas/" + name)
                if !sub.valid { r.valid = false }
                r.merge(sub)
            }
        }
        if let unevaluated = o["unevaluatedProperties"] {
            for (name, v) in obj where !r.properties.contains(name) {
                let (sub, errs) = probe(unevaluated, v, base: base, at: at + "/" + Self.escape(name), keyword: keyword + "/unevaluatedProperties")
                if !sub.valid {
                    if unevaluated == .bool(false) {
                        fail(&r, at, keyword + "/unevaluatedProperties", "property '\(name)' is not allowed (unevaluated)")
                    } else {
                        r.valid = false
                        keep(errs)
                    }
                }
                r.properties.insert(name)
            }
        }
    }

    // MARK: - Arrays

    mutating func applyArray(_ o: [String: JSONValue], _ arr: [JSONValue], base: String, at: String, keyword: String, into r: inout Result) {
        var prefix = 0
        if let prefixItems = o["prefixItems"]?.arrayValue {
            for (i, s) in prefixItems.enumerated() where i < arr.count {
                let sub = eval(s, arr[i], base: base, at: at + "/\(i)", keyword: keyword + "/prefixItems/\(i)")
                if !sub.valid { r.valid = false }
            }
            prefix = min(prefixItems.count, arr.count)
            r.itemPrefix = max(r.itemPrefix, prefix)
        }
        if let items = o["items"] {
            for i in prefix..<max(prefix, arr.count) {
                let sub = eval(items, arr[i], base: base, at: at + "/\(i)", keyword: keyword + "/items")
                if !sub.valid { r.valid = false }
            }
            r.allItems = true
        }
        if let contains = o["contains"] {
            var matches: Set<Int> = []
            for (i, v) in arr.enumerated() {
                let (sub, _) = probe(contains, v, base: base, at: at + "/\(i)", keyword: keyword + "/contains")
                if sub.valid { matches.insert(i) }
            }
            r.containsItems.formUnion(matches)
            let validating = !schema.noValidation.contains(base)
            // Compared as a Double: a schema may say 1e300, which no Int holds.
            let minimum = validating ? o["minContains"]?.numberValue ?? 1 : 1
            if Double(matches.count) < minimum {
                fail(
                    &r, at, keyword + "/contains",
                    minimum == 1
                        ? "array contains no item that matches 'contains'"
                        : "array contains \(matches.count) matching items; at least \(JSONValue.format(minimum)) are required")
            }
            if validating, let maximum = o["maxContains"]?.numberValue, Double(matches.count) > maximum {
                fail(
                    &r, at, keyword + "/maxContains",
                    "array contains \(matches.count) matching items; at most \(JSONValue.format(maximum)) are allowed")
            }
        }
        if let unevaluated = o["unevaluatedItems"], !r.allItems {
            for i in r.itemPrefix..<max(r.itemPrefix, arr.count) where !r.containsItems.contains(i) {
                let sub = eval(unevaluated, arr[i], base: base, at: at + "/\(i)", keyword: keyword + "/unevaluatedItems")
                if !sub.valid { r.valid = false }
            }
            r.allItems = true
        }
    }

    static func escape(_ token: String) -> String {
        guard token.contains("~") || token.contains("/") else { return token }
        return token.replacingAll("~", "~0").replacingAll("/", "~1")
    }

    static func nearest(_ name: String, _ candidates: [String]) -> String? {
        var best: (String, Int)?
        for c in candidates {
            let d = levenshtein(Array(name), Array(c))
            if d <= max(1, max(name.count, c.count) / 3), best == nil || d < best!.1 { best = (c, d) }
        }
        return best?.0
    }

    static func levenshtein(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
        var prev = Array(0...b.count)
        for i in 1...a.count {
            var cur = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            prev = cur
        }
        return prev[b.count]
    }
}
