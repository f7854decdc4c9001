/// What of an error's text may reach a client. An upstream failure's message names where the
/// gateway tried to connect ("cannot connect to http://10.0.0.5:8000: Failed to connect to
/// 10.0.0.5 port 8000 …", a database at 10.0.0.7): the gateway's log keeps it whole, a client
/// gets it without the endpoints, host names and addresses of the network behind the gateway.
enum Redaction {
    /// `text` with URLs' scheme and host, the host names that `markers` find, and IPv4 and
    /// IPv6 addresses taken out.
    static func forClient(_ text: String) -> String {
        guard text.contains("://") || markers.contains(where: { text.contains($0.marker) }) || containsAddress(text) else { return text }
        var s = withoutURLs(text)
        for m in markers { s = without(s, after: m.marker, upTo: m.stop, thenDigits: m.thenDigits, replacement: m.replacement) }
        return withoutAddresses(s)
    }

    /// Where curl, PostgreSQL and common upstream servers name a host in their messages, and
    /// what is written instead: the text after each marker, up to `stop` and the digits after
    /// it when `thenDigits` (curl's "HOST port 8000"), or up to the next space.
    static let markers: [(marker: String, stop: String?, thenDigits: Bool, replacement: String)] = [
        ("Failed to connect to ", " port ", true, "Failed to connect"),
        ("Could not resolve host: ", nil, false, "Could not resolve the host"),
        ("Could not resolve proxy: ", nil, false, "Could not resolve the proxy"),
        ("in connection to ", nil, false, "in connection to the upstream"),
        ("connect to host ", nil, false, "connect to host [host]"),
        ("host name '", "'", false, "host name '[host]'"),
        ("host name \"", "\"", false, "host name \"[host]\""),
        ("host='", "'", false, "host='[host]'"),
    ]

    /// `scheme://host[:port]` as "the upstream" (a path after it is dropped too: it may hold a
    /// key in its query).
    static func withoutURLs(_ text: String) -> String {
        var out = ""
        var rest = Substring(text)
        while let r = rest.range(of: "://") {
            var start = r.lowerBound
            while start > rest.startIndex, let c = rest[rest.index(before: start)].asciiValue, isSchemeByte(c) {
                start = rest.index(before: start)
            }
            guard start < r.lowerBound else {
                out += rest[..<r.upperBound]
                rest = rest[r.upperBound...]
                continue
            }
            out += rest[..<start]
            out += "the upstream"
            var end = r.upperBound
            while end < rest.endIndex, !isURLEnd(rest[end]) { end = rest.index(after: end) }
            // "http://h:8000: Failed …": the colon after the port is the sentence's.
            if end > r.upperBound, rest[rest.index(before: end)] == ":" { end = rest.index(before: end) }
            rest = rest[end...]
        }
        return out + rest
    }

    /// Takes out what follows each `marker` up to `stop` (and the digits after it), or up to
    /// the next space, writing `replacement` for the marker.
    static func without(_ text: String, after marker: String, upTo stop: String?, thenDigits: Bool, replacement: String) -> String {
        var out = ""
        var rest = Substring(text)
        while let m = rest.range(of: marker) {
            out += rest[..<m.lowerBound] + replacement
            var end = m.upperBound
            if let stop, let s = rest[m.upperBound...].range(of: stop), !rest[m.upperBound..<s.lowerBound].contains(" ") {
                end = s.upperBound
                if thenDigits { while end < rest.endIndex, rest[end].isASCII, rest[end].isNumber { end = rest.index(after: end) } }
            } else {
                while end < rest.endIndex, rest[end] != " " { end = rest.index(after: end) }
            }
            rest = rest[end...]
        }
        return out + rest
    }

    /// Dotted-quad IPv4 addresses and `[…]` IPv6 ones (each with a port), and unbracketed IPv6
    /// ones with "::", as "[address]".
    static func withoutAddresses(_ text: String) -> String {
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            if let end = addressEnd(bytes, at: i), i == 0 || !isHostByte(bytes[i - 1]) {
                out += Array("[address]".utf8)
                i = end
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func containsAddress(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        return bytes.indices.contains { addressEnd(bytes, at: $0) != nil }
    }

    /// Where an address starting at `i` ends (past its port), if one does.
    static func addressEnd(_ b: [UInt8], at i: Int) -> Int? {
        var j = i
        if b[i] == UInt8(ascii: "[") {
            j += 1
            let colons = ipv6(b, &j)
            // A zone ("%eth0") may follow.
            if colons >= 2, j < b.count, b[j] == UInt8(ascii: "%") {
                j += 1
                while j < b.count, isHostByte(b[j]) { j += 1 }
            }
            guard colons >= 2, j < b.count, b[j] == UInt8(ascii: "]") else { return nil }
            return port(b, after: j + 1)
        }
        if isHexByte(b[i]) || b[i] == UInt8(ascii: ":") {
            // Unbracketed IPv6 only with "::", so that a time (12:34:56) is left alone.
            var k = i
            if ipv6(b, &k) >= 2, b[i..<k].indices.contains(where: { $0 + 1 < k && b[$0] == UInt8(ascii: ":") && b[$0 + 1] == UInt8(ascii: ":") }),
                k == b.count || !isHostByte(b[k])
            {
                return k
            }
        }
        for part in 0..<4 {
            let digitsStart = j
            while j < b.count, j - digitsStart < 3, isDigit(b[j]) { j += 1 }
            guard j > digitsStart else { return nil }
            if part < 3 {
                guard j < b.count, b[j] == UInt8(ascii: ".") else { return nil }
                j += 1
            }
        }
        // A sentence's full stop after the address is not part of it.
        let stop = j < b.count && b[j] == UInt8(ascii: ".") && (j + 1 == b.count || !isHostByte(b[j + 1]))
        guard j == b.count || !isHostByte(b[j]) || stop else { return nil }
        return port(b, after: j)
    }

    /// Scans hex digits, colons and dots from `j`; returns how many colons.
    static func ipv6(_ b: [UInt8], _ j: inout Int) -> Int {
        var colons = 0
        while j < b.count, isHexByte(b[j]) || b[j] == UInt8(ascii: ":") || b[j] == UInt8(ascii: ".") {
            if b[j] == UInt8(ascii: ":") { colons += 1 }
            j += 1
        }
        return colons
    }

    static func port(_ b: [UInt8], after j: Int) -> Int {
        guard j + 1 < b.count, b[j] == UInt8(ascii: ":"), isDigit(b[j + 1]) else { return j }
        var k = j + 1
        while k < b.count, isDigit(b[k]) { k += 1 }
        return k
    }

    static func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }
    static func isHexByte(_ c: UInt8) -> Bool {
        isDigit(c) || (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "f")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "F"))
    }
    static func isHostByte(_ c: UInt8) -> Bool {
        isHexByte(c) || (c >= UInt8(ascii: "g") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "G") && c <= UInt8(ascii: "Z"))
            || c == UInt8(ascii: ".") || c == UInt8(ascii: "-") || c == UInt8(ascii: "_")
    }
    static func isSchemeByte(_ c: UInt8) -> Bool {
        (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z")) || c == UInt8(ascii: "+")
    }
    static func isURLEnd(_ c: Character) -> Bool { c.isWhitespace || "\"'(),;<>[]{}".contains(c) }
}
