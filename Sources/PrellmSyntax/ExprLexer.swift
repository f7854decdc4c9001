/// The ExprLexer splits a UTF-8 range of an embedded text into tokens. It works on bytes:
/// every token boundary of the language is ASCII.
struct ExprLexer {
    enum Kind: Equatable {
        case identifier(String)
        case int(Int)
        case double(Double)
        case string(String)
        case punct(String)
        case end
    }

    struct Token {
        var kind: Kind
        var range: Range<Int>
    }

    let bytes: [UInt8]
    var i: Int
    let end: Int

    init(bytes: [UInt8], range: Range<Int>) {
        self.bytes = bytes
        self.i = range.lowerBound
        self.end = range.upperBound
    }

    static let twoCharOps: Set<String> = ["==", "!=", "<=", ">=", "&&", "||"]
    static let oneCharOps: Set<UInt8> = Set("+-*/%<>!?:.,()[]{}|".utf8)

    mutating func next() throws(ExprError) -> Token {
        while i < end, bytes[i] == 32 || bytes[i] == 9 || bytes[i] == 10 || bytes[i] == 13 { i += 1 }
        guard i < end else { return Token(kind: .end, range: end..<end) }
        let start = i
        let c = bytes[i]
        if isIdentStart(c) {
            while i < end, isIdentPart(bytes[i]) { i += 1 }
            return Token(kind: .identifier(String(decoding: bytes[start..<i], as: UTF8.self)), range: start..<i)
        }
        if isDigit(c) { return try number(start) }
        if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") { return try string(start, quote: c) }
        if i + 1 < end {
            let two = String(decoding: bytes[i..<i + 2], as: UTF8.self)
            if Self.twoCharOps.contains(two) {
                i += 2
                return Token(kind: .punct(two), range: start..<i)
            }
        }
        if Self.oneCharOps.contains(c) {
            i += 1
            return Token(kind: .punct(String(UnicodeScalar(c))), range: start..<i)
        }
        if c == UInt8(ascii: "=") {
            throw ExprError(range: start..<start + 1, message: "unexpected '='", hint: "use '==' to compare")
        }
        if c == UInt8(ascii: "&") {
            throw ExprError(range: start..<start + 1, message: "unexpected '&'", hint: "use '&&' for 'and'")
        }
        let width = Source.scalarLength(c)
        let ch = String(decoding: bytes[start..<min(end, start + width)], as: UTF8.self)
        throw ExprError(range: start..<min(end, start + width), message: "unexpected character '\(ch)'")
    }

    private func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
    private func isIdentStart(_ c: UInt8) -> Bool { (c | 0x20) >= 97 && (c | 0x20) <= 122 || c == 95 }
    private func isIdentPart(_ c: UInt8) -> Bool { isIdentStart(c) || isDigit(c) }

    private mutating func number(_ start: Int) throws(ExprError) -> Token {
        while i < end, isDigit(bytes[i]) { i += 1 }
        var isDouble = false
        if i + 1 < end, bytes[i] == UInt8(ascii: "."), isDigit(bytes[i + 1]) {
            isDouble = true
            i += 1
            while i < end, isDigit(bytes[i]) { i += 1 }
        }
        if i < end, bytes[i] | 0x20 == UInt8(ascii: "e") {
            var j = i + 1
            if j < end, bytes[j] == UInt8(ascii: "+") || bytes[j] == UInt8(ascii: "-") { j += 1 }
            if j < end, isDigit(bytes[j]) {
                isDouble = true
                i = j
                while i < end, isDigit(bytes[i]) { i += 1 }
            }
        }
        if i < end, isIdentStart(bytes[i]) {
            throw ExprError(range: start..<i + 1, message: "invalid number")
        }
        let text = String(decoding: bytes[start..<i], as: UTF8.self)
        if !isDouble, let v = Int(text) { return Token(kind: .int(v), range: start..<i) }
        guard let d = Double(text), d.isFinite else {
            throw ExprError(range: start..<i, message: "number '\(text)' is out of range")
        }
        return Token(kind: .double(d), range: start..<i)
    }

    private mutating func string(_ start: Int, quote: UInt8) throws(ExprError) -> Token {
        i += 1
        var out = [UInt8]()
        while i < end, bytes[i] != quote {
            if bytes[i] == UInt8(ascii: "\\") {
                guard i + 1 < end else { break }
                let e = bytes[i + 1]
                switch e {
                case UInt8(ascii: "n"): out.append(10)
                case UInt8(ascii: "t"): out.append(9)
                case UInt8(ascii: "r"): out.append(13)
                case UInt8(ascii: "\\"), UInt8(ascii: "\""), UInt8(ascii: "'"): out.append(e)
                default:
                    throw ExprError(
                        range: i..<i + 2, message: "unknown escape '\\\(UnicodeScalar(e))'",
                        hint: "escapes are \\n \\t \\r \\\\ \\\" \\'")
                }
                i += 2
                continue
            }
            if bytes[i] == 10 { break }
            out.append(bytes[i])
            i += 1
        }
        guard i < end, bytes[i] == quote else {
            throw ExprError(range: start..<i, message: "unterminated string", hint: "close it with \(UnicodeScalar(quote))")
        }
        i += 1
        return Token(kind: .string(String(decoding: out, as: UTF8.self)), range: start..<i)
    }
}
