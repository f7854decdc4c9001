import PrellmSchema

extension ValueType {
    /// Why a JSON value cannot be of this type, as `pointer: message`, or nil when it can be.
    /// `any` admits everything, as everywhere in the checker.
    func mismatch(_ v: JSONValue, at path: String = "") -> String? {
        let here = path.isEmpty ? "/" : path
        switch (self, v) {
        case (.any, _), (.null, .null), (.bool, .bool), (.number, .number):
            return nil
        case (.int, .number(let d)):
            return d.rounded() == d ? nil : "\(here): expected an integer, found \(v.jsonText)"
        case (.string(let values), .string(let s)):
            guard let values, !values.contains(s) else { return nil }
            return "\(here): \(v.jsonText) is not one of \(values.map { "\"\($0)\"" }.joined(separator: ", "))"
        case (.array(let element), .array(let items)):
            return items.enumerated().lazy.compactMap { i, item in element.mismatch(item, at: path + "/\(i)") }.first
        case (.object(let o), .object(let fields)):
            if let missing = o.order.first(where: { o.required.contains($0) && fields[$0] == nil }) {
                return "\(here): the required field '\(missing)' is missing"
            }
            for key in fields.keys.sorted() {
                let inner = path + "/" + key
                if let t = o.fields[key] {
                    if let problem = t.mismatch(fields[key]!, at: inner) { return problem }
                } else if let extra = o.extra {
                    if let problem = extra.mismatch(fields[key]!, at: inner) { return problem }
                } else if !o.order.isEmpty {
                    return "\(here): no field '\(key)' (fields are \(o.order.joined(separator: ", ")))"
                }
            }
            return nil
        default:
            return "\(here): expected \(article), found \(v.typeName)"
        }
    }
}
