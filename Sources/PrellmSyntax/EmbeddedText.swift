/// An EmbeddedText is the value of a YAML scalar that holds a template or an expression,
/// with a map from offsets in the value back to positions in the YAML file.
///
/// An error in `{{ facts.tagret }}` must point at `tagret` in the YAML file, also inside
/// quoted and block scalars (cel-go's `RelativeSource`). The map is built by aligning the
/// value with the source text from the scalar's start: quotes, indentation and line folding
/// are skipped in the source; an escape sequence in a double-quoted scalar is one character
/// of the value. The alignment is computed only when a position is asked for, which happens
/// only when there is a diagnostic to report: clean files never pay for it.
public struct EmbeddedText: Sendable {
    public let value: String
    public let span: Span
    public let style: YAMLNode.ScalarStyle
    public let source: Source?
    /// For text not read from a YAML scalar: offsets are the identity.
    private let identity: Bool

    public init(node: YAMLNode, source: Source) {
        let scalar = node.scalar ?? .init(value: "", style: .plain, tag: nil)
        self.value = scalar.value
        self.span = node.span
        self.style = scalar.style
        self.source = source
        self.identity = false
    }

    init(value: String, span: Span, source: Source) {
        self.value = value
        self.span = span
        self.style = .literal
        self.source = source
        self.identity = true
    }

    /// Text with no file behind it (tests, generated text): positions are columns on line 1.
    public init(value: String) {
        self.value = value
        self.span = Span(start: Position(line: 1, column: 1), end: Position(line: 1, column: value.unicodeScalars.count + 1))
        self.style = .plain
        self.source = nil
        self.identity = true
    }

    /// The file position of a UTF-8 offset in the value.
    public func position(at offset: Int) -> Position {
        let clamped = max(0, min(offset, value.utf8.count))
        let o: Int
        if identity {
            o = clamped
        } else if let source {
            o = Self.align(value: Array(value.utf8), style: style, source: source, span: span)[clamped]
        } else {
            o = clamped
        }
        guard let source else {
            let prefix = value.utf8.prefix(o)
            return Position(line: 1, column: String(decoding: prefix, as: UTF8.self).unicodeScalars.count + 1)
        }
        return source.position(ofOffset: o)
    }

    public func span(_ range: Range<Int>) -> Span {
        Span(start: position(at: range.lowerBound), end: position(at: range.upperBound))
    }

    static func align(value: [UInt8], style: YAMLNode.ScalarStyle, source: Source, span: Span) -> [Int] {
        let src = source.utf8
        var s = source.offset(of: span.start)
        let limit = min(src.count, max(source.offset(of: span.end), s))
        var out = [Int]()
        out.reserveCapacity(value.count + 1)
        // Skip the indicator of a block scalar, up to its first content line.
        if style == .literal || style == .folded {
            while s < limit, src[s] != UInt8(ascii: "\n") { s += 1 }
            if s < limit { s += 1 }
        } else if style == .singleQuoted || style == .doubleQuoted {
            s += 1
        }
        var i = 0
        while i < value.count {
            let v = value[i]
            var t = s
            if style == .doubleQuoted, t < limit, src[t] == UInt8(ascii: "\\") {
                // One escape sequence stands for one (possibly multi-byte) value character.
                let width = Source.scalarLength(v)
                let escapeLength = Self.escapeLength(src, t, limit)
                for _ in 0..<width where i < value.count { out.append(t); i += 1 }
                s = t + escapeLength
                continue
            }
            while t < limit, src[t] != v {
                // A newline in the value may stand for a folded space; a space for a newline.
                if v == UInt8(ascii: " "), src[t] == UInt8(ascii: "\n") { break }
                t += 1
            }
            if t >= limit {  // lost the alignment: map the rest to the scalar's end
                while i < value.count { out.append(limit); i += 1 }
                break
            }
            if style == .singleQuoted, v == UInt8(ascii: "'"), t + 1 < limit, src[t + 1] == UInt8(ascii: "'") {
                out.append(t); s = t + 2; i += 1
                continue
            }
            out.append(t)
            s = t + 1
            i += 1
        }
        out.append(min(s, limit))
        return out
    }

    static func escapeLength(_ src: [UInt8], _ t: Int, _ limit: Int) -> Int {
        guard t + 1 < limit else { return 1 }
        switch src[t + 1] {
        case UInt8(ascii: "x"): return 4
        case UInt8(ascii: "u"): return 6
        case UInt8(ascii: "U"): return 10
        default: return 2
        }
    }
}

extension EmbeddedText {
    /// A whole file used as a template (a `prompt_file`); positions are in that file.
    public init(wholeFile source: Source) {
        self.init(
            value: source.text, span: Span(start: Position(line: 1, column: 1), end: source.position(ofOffset: source.utf8.count)),
            source: source)
    }

    /// The file an offset's position belongs to, for diagnostics.
    public var file: String? { source?.path }
}
