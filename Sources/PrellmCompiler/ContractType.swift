import PrellmSchema

/// ContractType derives the static ValueType of a JSON Schema, so that templates and
/// expressions reading a contract's fields can be checked (`facts.tagret` → did you mean `target`?).
/// Local `$ref`s are followed a bounded number of times; recursive schemas become `any` past that.
enum ContractType {
    static func of(_ schema: JSONValue, root: JSONValue? = nil, depth: Int = 0) -> ValueType {
        let root = root ?? schema
        guard depth < 16, case .object(let o) = schema else { return .any }
        if let ref = o["$ref"]?.stringValue, ref.hasPrefix("#") {
            var here = root
            for token in ref.dropFirst().split(separator: "/") {
                guard let next = here[String(token)] else { return .any }
                here = next
            }
            return of(here, root: root, depth: depth + 1)
        }
        if let values = o["enum"]?.arrayValue {
            let strings = values.compactMap(\.stringValue)
            return strings.count == values.count ? .string(values: strings) : .any
        }
        if let c = o["const"] {
            if let s = c.stringValue { return .string(values: [s]) }
            return c.isInteger ? .int : c.numberValue != nil ? .number : c.boolValue != nil ? .bool : .any
        }
        var types = o["type"]?.arrayValue?.compactMap(\.stringValue) ?? o["type"]?.stringValue.map { [$0] } ?? []
        if types.count > 1 { types.removeAll { $0 == "null" } }
        if types.isEmpty {
            if o["properties"] != nil || o["additionalProperties"] != nil {
                types = ["object"]
            } else if o["items"] != nil || o["prefixItems"] != nil {
                types = ["array"]
            }
        }
        guard types.count == 1 else { return .any }
        switch types[0] {
        case "string": return .string
        case "integer": return .int
        case "number": return .number
        case "boolean": return .bool
        case "null": return .null
        case "array":
            if let items = o["items"] { return .array(of(items, root: root, depth: depth + 1)) }
            return .array(.any)
        case "object":
            let props = o["properties"]?.objectValue ?? [:]
            // Keep declaration order where the schema came from YAML; JSON objects are unordered,
            // so names are sorted for a stable result.
            let fields = props.keys.sorted().map { ($0, of(props[$0]!, root: root, depth: depth + 1)) }
            let required = Set(o["required"]?.arrayValue?.compactMap(\.stringValue) ?? [])
            var extra: ValueType?
            switch o["additionalProperties"] {
            case .bool(false)?: extra = nil
            case .object?: extra = of(o["additionalProperties"]!, root: root, depth: depth + 1)
            case .bool(true)?: extra = .any
            default: extra = (props.isEmpty || o["patternProperties"] != nil) ? .any : nil
            }
            return .object(.init(fields: fields, required: required, extra: extra))
        default:
            return .any
        }
    }
}
