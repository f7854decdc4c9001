import PrellmSchema

/// The extent a JSON Schema allows: what `maxLength`, `maxItems`, `enum`, `const`, closed
/// objects and the types bound. A schema that bounds nothing gives an unbounded extent, which
/// is right: an input declared `query: string` can be any length until the run is given one.
extension Extent {
    static func of(schema: JSONValue) -> Extent { SchemaExtent(root: schema).extent(schema, depth: 0) }
}

struct SchemaExtent {
    let root: JSONValue
    static let maxDepth = 16
    /// A character is at most 4 UTF-8 bytes, and JSON-escaped at most 6.
    static let bytesPerCharacter = 4

    func extent(_ schema: JSONValue, depth: Int) -> Extent {
        guard depth < Self.maxDepth, case .object(let o) = schema else { return .unknown }
        if let ref = o["$ref"]?.stringValue, ref.hasPrefix("#") {
            var here = root
            for token in ref.dropFirst().split(separator: "/") {
                guard let next = here[String(token)] else { return .unknown }
                here = next
            }
            return extent(here, depth: depth + 1)
        }
        if let values = o["enum"]?.arrayValue, !values.isEmpty {
            return values.dropFirst().reduce(Extent.known(values[0])) { $0.either(Extent.known($1)) }
        }
        if let c = o["const"] { return Extent.known(c) }
        for key in ["anyOf", "oneOf"] {
            if let options = o[key]?.arrayValue, !options.isEmpty {
                return options.map { extent($0, depth: depth + 1) }.dropFirst()
                    .reduce(extent(options[0], depth: depth + 1)) { $0.either($1) }
            }
        }
        var types = o["type"]?.arrayValue?.compactMap(\.stringValue) ?? o["type"]?.stringValue.map { [$0] } ?? []
        if types.isEmpty {
            if o["properties"] != nil || o["additionalProperties"] != nil {
                types = ["object"]
            } else if o["items"] != nil || o["prefixItems"] != nil {
                types = ["array"]
            }
        }
        guard !types.isEmpty else { return .unknown }
        let each = types.map { type(of: $0, o, depth: depth) }
        return each.dropFirst().reduce(each[0]) { $0.either($1) }
    }

    func type(of name: String, _ o: [String: JSONValue], depth: Int) -> Extent {
        switch name {
        case "string":
            let chars = o["maxLength"]?.int
            return .string(chars.flatMap { mul($0, Self.bytesPerCharacter) })
        case "integer", "number": return .number
        case "boolean": return .boolean
        case "null": return .known(.null)
        case "array":
            // An element is one of `prefixItems` (by position) or `items` (after them; absent, anything).
            var parts = (o["prefixItems"]?.arrayValue ?? []).map { extent($0, depth: depth + 1) }
            switch o["items"] {
            case .bool(false)?: break
            case let items?: parts.append(extent(items, depth: depth + 1))
            case nil: parts.append(.unknown)
            }
            let element = parts.dropFirst().reduce(parts.first ?? .unknown) { $0.either($1) }
            let n = o["maxItems"]?.int
            let content = n.map { element.content.concrete.summed(count: $0, content: nil) } ?? .unbounded
            let json = n.map { element.json.concrete.summed(count: $0, content: nil) + (add($0, 2).map(Size.exactly) ?? .unbounded) } ?? .unbounded
            return Extent(
                content: content, json: json, overhead: n.flatMap { k in element.overhead.flatMap { add(mul(k, add($0, 1)), 2) } },
                shape: .list(element: element, items: n))
        case "object":
            let props = o["properties"]?.objectValue ?? [:]
            var fields: [String: Extent] = [:]
            for (k, v) in props { fields[k] = extent(v, depth: depth + 1) }
            let closed = o["additionalProperties"] == .bool(false) && o["patternProperties"] == nil
            let other: Extent? =
                closed ? nil : o["additionalProperties"]?.objectValue.map { _ in extent(o["additionalProperties"]!, depth: depth + 1) } ?? .unknown
            guard closed else { return Extent(content: .unbounded, json: .unbounded, overhead: nil, shape: .object(fields: fields, other: other)) }
            var content = Size.zero, json = Size.exactly(2)
            var overhead: Int? = 2
            for (k, e) in fields {
                content = content + e.content
                json = json + e.json + .exactly(k.utf8.count * Extent.growth + 4)
                overhead = add(overhead, add(e.overhead, k.utf8.count * Extent.growth + 4))
            }
            return Extent(content: content, json: json, overhead: overhead, shape: .object(fields: fields, other: nil))
        default:
            return .unknown
        }
    }
}
