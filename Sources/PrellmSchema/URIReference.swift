/// RFC 3986 reference resolution, as much of it as JSON Schema identifiers need:
/// absolute URIs, URNs, network-path, absolute-path, relative-path and fragment-only references.
enum URIReference {
    /// Splits off the fragment: ("http://x/y.json", "/defs/a") for "http://x/y.json#/defs/a".
    static func split(_ uri: String) -> (base: String, fragment: String?) {
        guard let hash = uri.firstIndex(of: "#") else { return (uri, nil) }
        return (String(uri[..<hash]), String(uri[uri.index(after: hash)...]))
    }

    static func scheme(of s: String) -> String? {
        guard let colon = s.firstIndex(of: ":") else { return nil }
        let head = s[..<colon]
        guard let f = head.first, f.isLetter,
            head.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "+" || $0 == "-" || $0 == "." })
        else { return nil }
        return String(head)
    }

    static func resolve(_ ref: String, against base: String) -> String {
        if scheme(of: ref) != nil { return normalise(ref) }
        let (baseNoFragment, _) = split(base)
        if ref.isEmpty { return baseNoFragment }
        if ref.hasPrefix("#") { return baseNoFragment + ref }
        guard let scheme = scheme(of: baseNoFragment) else { return ref }
        let afterScheme = baseNoFragment.dropFirst(scheme.count + 1)
        if ref.hasPrefix("//") { return normalise(scheme + ":" + ref) }
        var authority = ""
        var path = String(afterScheme)
        if afterScheme.hasPrefix("//") {
            let rest = afterScheme.dropFirst(2)
            let slash = rest.firstIndex(of: "/") ?? rest.endIndex
            authority = "//" + rest[..<slash]
            path = String(rest[slash...])
        }
        if let q = path.firstIndex(of: "?") { path = String(path[..<q]) }
        let merged: String
        if ref.hasPrefix("/") {
            merged = ref
        } else if let lastSlash = path.lastIndex(of: "/") {
            merged = path[...lastSlash] + ref
        } else {
            merged = authority.isEmpty ? ref : "/" + ref
        }
        return scheme + ":" + authority + removeDotSegments(merged)
    }

    static func normalise(_ uri: String) -> String {
        guard let scheme = scheme(of: uri) else { return uri }
        let rest = uri.dropFirst(scheme.count + 1)
        guard rest.hasPrefix("//") else { return uri }
        let (noFragment, fragment) = split(String(rest.dropFirst(2)))
        let slash = noFragment.firstIndex(of: "/") ?? noFragment.endIndex
        let out = scheme + "://" + noFragment[..<slash] + removeDotSegments(String(noFragment[slash...]))
        return fragment.map { out + "#" + $0 } ?? out
    }

    static func removeDotSegments(_ path: String) -> String {
        guard path.contains(".") else { return path }
        var (p, fragment) = split(path)
        var query = ""
        if let q = p.firstIndex(of: "?") { query = String(p[q...]); p = String(p[..<q]) }
        var out: [Substring] = []
        let parts = p.split(separator: "/", omittingEmptySubsequences: false)
        for (i, seg) in parts.enumerated() {
            if seg == "." { if i == parts.count - 1 { out.append("") }; continue }
            if seg == ".." {
                if out.count > 1 { out.removeLast() }
                if i == parts.count - 1 { out.append("") }
                continue
            }
            out.append(seg)
        }
        let joined = out.joined(separator: "/") + query
        return fragment.map { joined + "#" + $0 } ?? joined
    }

    /// Decodes a JSON Pointer fragment ("/a~1b/0") into its tokens, percent-decoding first.
    static func pointerTokens(_ fragment: String) -> [String] {
        let decoded = percentDecode(fragment)
        return decoded.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map {
            $0.replacingAll("~1", "/").replacingAll("~0", "~")
        }
    }

    static func percentDecode(_ s: String) -> String {
        guard s.contains("%") else { return s }
        var bytes: [UInt8] = []
        var it = Array(s.utf8)[...]
        while let c = it.popFirst() {
            if c == UInt8(ascii: "%"), it.count >= 2,
                let v = UInt8(String(decoding: it.prefix(2), as: UTF8.self), radix: 16)
            {
                bytes.append(v); it = it.dropFirst(2)
            } else {
                bytes.append(c)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension StringProtocol {
    func replacingAll(_ target: String, _ replacement: String) -> String {
        guard !target.isEmpty else { return String(self) }
        var out = ""
        var rest = Substring(self)
        while let r = rest.range(of: target) {
            out += rest[..<r.lowerBound]
            out += replacement
            rest = rest[r.upperBound...]
        }
        return out + rest
    }

    func range(of target: String) -> Range<Index>? {
        var i = startIndex
        while i < endIndex {
            if self[i...].hasPrefix(target) {
                return i..<index(i, offsetBy: target.count)
            }
            i = index(after: i)
        }
        return nil
    }
}
