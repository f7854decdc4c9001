/// A reference cycle that reads no input (or an in-place chain deeper than validation
/// follows): where it closes, and what to say about it.
public struct ReferenceCycle: Sendable, Hashable {
    /// The `$ref` that closes the cycle (empty for a chain that is too deep).
    public var ref: String
    /// The JSON pointer of the schema that holds it.
    public var at: String
    public var tooDeep: Bool
    /// `$ref` or `$dynamicRef`: which keyword holds `ref`.
    public var keyword = "$ref"

    public var message: String {
        tooDeep
            ? "references here chain more than \(Evaluation.maxDepth) schemas deep without reading into the value"
            : "\(keyword) '\(ref)' leads back to itself without reading into the value, so checking would never end"
    }
}

extension JSONSchema {
    /// Keywords that apply their subschemas to the same instance. A path through them alone
    /// never consumes input, so a cycle along it would recurse forever; every other applicator
    /// (`properties`, `items`, …) descends into a part of the instance, which is finite.
    static let inPlaceKeywords = ["not", "if", "then", "else"]
    static let inPlaceListKeywords = ["allOf", "anyOf", "oneOf"]

    /// A `$ref` or `$dynamicRef` that leads back to itself without descending into the
    /// instance (`{anyOf: [{$ref: '#'}]}`), as (ref, JSON pointer of the schema that holds it),
    /// or nil. JSON Schema allows reference cycles only through a keyword that descends.
    ///
    /// A depth-first search over in-place edges, each schema visited once (by the URI it was
    /// reached at plus its pointer below that), so the work is linear in the schema's size.
    /// A chain of in-place references deeper than validation follows is reported too (with
    /// `tooDeep`), so the search's own recursion is bounded by the same limit.
    public func referenceCycle() -> ReferenceCycle? {
        var state: [String: Bool] = [:]  // false: on the current path; true: done, no cycle below
        var found: (String, String)?
        var foundKeyword = "$ref"
        var depth = 0, tooDeep = false

        func visit(_ s: JSONValue, base: String, id: String, at: String) {
            guard found == nil, case .object(let o) = s else { return }
            if let seen = state[id] {
                if !seen { found = ("", at) }
                return
            }
            depth += 1
            defer { depth -= 1 }
            if depth > Evaluation.maxDepth {
                tooDeep = true
                found = ("", at)
                return
            }
            state[id] = false
            defer { state[id] = true }
            var base = base
            if let sid = o["$id"]?.stringValue { base = URIReference.split(URIReference.resolve(sid, against: base)).base }
            for key in ["$ref", "$dynamicRef"] {
                guard let ref = o[key]?.stringValue else { continue }
                let uri = URIReference.resolve(ref, against: base)
                guard let target = lookup(uri) else { continue }
                visit(target.schema, base: target.base, id: uri, at: pointer(uri) ?? at)
                if let f = found, f.0.isEmpty {
                    found = (ref, at)
                    foundKeyword = key
                }
                if found != nil { return }
            }
            for k in Self.inPlaceKeywords {
                if let v = o[k] { visit(v, base: base, id: id + "/" + k, at: at + "/" + k) }
            }
            for k in Self.inPlaceListKeywords {
                for (i, v) in (o[k]?.arrayValue ?? []).enumerated() { visit(v, base: base, id: id + "/\(k)/\(i)", at: at + "/\(k)/\(i)") }
            }
            for (n, v) in o["dependentSchemas"]?.objectValue ?? [:] {
                visit(v, base: base, id: id + "/dependentSchemas/" + n, at: at + "/dependentSchemas/" + n)
            }
        }

        // Every schema is a possible entry point: a cycle inside `$defs` is reached through
        // whatever names it.
        func entries(_ s: JSONValue, base: String, at: String) {
            guard found == nil, case .object(let o) = s else { return }
            var inner = base
            if let sid = o["$id"]?.stringValue { inner = URIReference.split(URIReference.resolve(sid, against: base)).base }
            visit(s, base: base, id: rootBase + "#" + at, at: at)
            for k in Self.schemaMapKeywords {
                for (n, v) in o[k]?.objectValue ?? [:] { entries(v, base: inner, at: at + "/" + k + "/" + n) }
            }
            for k in Self.schemaKeywords { if let v = o[k] { entries(v, base: inner, at: at + "/" + k) } }
            for k in Self.schemaListKeywords {
                for (i, v) in (o[k]?.arrayValue ?? []).enumerated() { entries(v, base: inner, at: at + "/\(k)/\(i)") }
            }
        }
        // Where a reference lands, as a pointer into the root, when it is one.
        func pointer(_ uri: String) -> String? {
            let (b, fragment) = URIReference.split(uri)
            guard b == rootBase, let fragment, fragment.isEmpty || fragment.hasPrefix("/") else { return nil }
            return URIReference.percentDecode(fragment)
        }
        entries(root, base: rootBase, at: "")
        return found.map { ReferenceCycle(ref: $0.0, at: $0.1, tooDeep: tooDeep, keyword: foundKeyword) }
    }
}
