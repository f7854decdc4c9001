import PrellmRegex
import Synchronization

/// A JSONSchema validates instances against a JSON Schema 2020-12 document.
///
/// Building one indexes every schema resource (`$id`), `$anchor` and `$dynamicAnchor` of the
/// root and of any extra documents (remote references are never fetched: callers preload
/// them). Validation interprets the schema directly and returns annotations upward, which is
/// what `unevaluatedProperties` / `unevaluatedItems` need: a subschema reports the properties
/// and items it evaluated, and only valid subschemas' reports are kept. `$dynamicRef` looks
/// for the outermost resource in the dynamic scope that declares the anchor.
///
/// `format` is an annotation (never asserted); `pattern` and `patternProperties` use PCRE2.
public struct JSONSchema: Sendable {
    struct Located: Sendable {
        var schema: JSONValue
        var base: String
    }

    public static let defaultBaseURI = "urn:prellm:schema"
    static let validationVocabulary = "https://json-schema.org/draft/2020-12/vocab/validation"

    public let root: JSONValue
    /// The base URI around the root (the root's own `$id` applies inside it).
    let rootBase: String
    var resources: [String: Located] = [:]
    var anchors: [String: Located] = [:]
    var dynamicAnchors: Set<String> = []
    var noValidation: Set<String> = []
    let regexes = RegexCache()

    /// - Parameters:
    ///   - documents: other schema documents by absolute URI (remotes, metaschemas).
    public init(_ root: JSONValue, baseURI: String = JSONSchema.defaultBaseURI, documents: [String: JSONValue] = [:]) {
        self.root = root
        rootBase = baseURI
        for (uri, doc) in documents {
            resources[uri] = Located(schema: doc, base: uri)
            index(doc, base: uri)
        }
        resources[baseURI] = Located(schema: root, base: baseURI)
        index(root, base: baseURI)
        for (uri, located) in resources {
            if let meta = located.schema["$schema"]?.stringValue,
                let vocab = resources[URIReference.split(meta).base]?.schema["$vocabulary"]?.objectValue,
                vocab[Self.validationVocabulary] == nil
            {
                noValidation.insert(uri)
            }
        }
    }

    static let schemaMapKeywords = ["$defs", "definitions", "properties", "patternProperties", "dependentSchemas"]
    static let schemaKeywords = [
        "items", "additionalProperties", "unevaluatedProperties", "unevaluatedItems",
        "contains", "propertyNames", "not", "if", "then", "else",
    ]
    static let schemaListKeywords = ["allOf", "anyOf", "oneOf", "prefixItems"]

    /// Indexes `s`, found where the base URI is `base`. Every Located keeps the base *around*
    /// its schema; the schema's own `$id` is applied when it is evaluated.
    mutating func index(_ s: JSONValue, base: String) {
        guard case .object(let o) = s else { return }
        let outer = base
        var base = base
        if let id = o["$id"]?.stringValue {
            base = URIReference.split(URIReference.resolve(id, against: base)).base
            resources[base] = Located(schema: s, base: outer)
        }
        if let a = o["$anchor"]?.stringValue { anchors[base + "#" + a] = Located(schema: s, base: outer) }
        if let a = o["$dynamicAnchor"]?.stringValue {
            anchors[base + "#" + a] = Located(schema: s, base: outer)
            dynamicAnchors.insert(base + "#" + a)
        }
        for k in Self.schemaMapKeywords { for (_, v) in o[k]?.objectValue ?? [:] { index(v, base: base) } }
        for k in Self.schemaKeywords { if let v = o[k] { index(v, base: base) } }
        for k in Self.schemaListKeywords { for v in o[k]?.arrayValue ?? [] { index(v, base: base) } }
    }

    /// The base URI inside a located schema (its own `$id` applied).
    static func innerBase(_ l: Located) -> String {
        guard let id = l.schema["$id"]?.stringValue else { return l.base }
        return URIReference.split(URIReference.resolve(id, against: l.base)).base
    }

    func lookup(_ uri: String) -> Located? {
        let (b, fragment) = URIReference.split(uri)
        guard let fragment, !fragment.isEmpty else { return resources[b] }
        if !fragment.hasPrefix("/") { return anchors[b + "#" + URIReference.percentDecode(fragment)] }
        guard var here = resources[b] else { return nil }
        for token in URIReference.pointerTokens(fragment) {
            let next: JSONValue?
            switch here.schema {
            case .object(let o): next = o[token]
            case .array(let a): next = Int(token).flatMap { $0 >= 0 && $0 < a.count ? a[$0] : nil }
            default: next = nil
            }
            guard let next else { return nil }
            here = Located(schema: next, base: Self.innerBase(here))
        }
        return here
    }

    /// Every `$ref` / `$dynamicRef` in the schema that does not resolve, as (ref, JSON pointer of the schema).
    public func unresolvedReferences() -> [(ref: String, at: String)] {
        unresolved().map { ($0.ref, $0.at) }
    }

    /// The documents that unresolved references point into (absolute URIs without fragment),
    /// for a caller that can load them (files beside the schema, built-in meta-schemas).
    public func missingDocuments() -> [String] {
        var seen = Set<String>()
        return unresolved().map { URIReference.split($0.uri).base }.filter { resources[$0] == nil && seen.insert($0).inserted }
    }

    func unresolved() -> [(ref: String, at: String, uri: String)] {
        var out: [(String, String, String)] = []
        func walk(_ s: JSONValue, base: String, at: String) {
            guard case .object(let o) = s else { return }
            var base = base
            if let id = o["$id"]?.stringValue { base = URIReference.split(URIReference.resolve(id, against: base)).base }
            for key in ["$ref", "$dynamicRef"] {
                if let r = o[key]?.stringValue {
                    let uri = URIReference.resolve(r, against: base)
                    if lookup(uri) == nil { out.append((r, at, uri)) }
                }
            }
            for k in Self.schemaMapKeywords { for (n, v) in o[k]?.objectValue ?? [:] { walk(v, base: base, at: at + "/" + k + "/" + n) } }
            for k in Self.schemaKeywords { if let v = o[k] { walk(v, base: base, at: at + "/" + k) } }
            for k in Self.schemaListKeywords {
                for (i, v) in (o[k]?.arrayValue ?? []).enumerated() { walk(v, base: base, at: at + "/\(k)/\(i)") }
            }
        }
        walk(root, base: rootBase, at: "")
        return out
    }

    /// Validates an instance; an empty list means valid.
    public func validate(_ instance: JSONValue) -> [ValidationError] {
        var run = Evaluation(schema: self, collect: true)
        _ = run.eval(root, instance, base: rootBase, at: "", keyword: "")
        if run.steps > Evaluation.maxSteps {
            return [ValidationError(instanceLocation: "", keywordLocation: "", message: Evaluation.tooLongMessage)]
        }
        return run.errors
    }

    public func isValid(_ instance: JSONValue) -> Bool {
        var run = Evaluation(schema: self, collect: false)
        return run.eval(root, instance, base: rootBase, at: "", keyword: "").valid
    }
}

/// A ValidationError is one failed keyword: where in the instance (a JSON pointer), which
/// keyword of the schema, and what is wrong.
public struct ValidationError: Sendable, Hashable, CustomStringConvertible {
    public var instanceLocation: String
    public var keywordLocation: String
    public var message: String
    public var description: String { "\(instanceLocation.isEmpty ? "/" : instanceLocation): \(message)" }
}

/// Compiled patterns, shared by every validation with the same schema.
final class RegexCache: Sendable {
    private let cache = Mutex<[String: PCRERegex?]>([:])

    func regex(_ pattern: String) -> PCRERegex? {
        if let hit = cache.withLock({ $0[pattern] }) { return hit }
        let compiled = try? PCRERegex(ECMAPattern.translate(pattern))
        cache.withLock { $0[pattern] = compiled }
        return compiled
    }
}
