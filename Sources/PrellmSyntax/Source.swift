/// A Source is the text of one input file together with the line index that diagnostics need.
///
/// Positions are 1-based; columns count Unicode scalars, the unit libyaml reports marks in,
/// so that a column from the YAML parser and one computed by the expression lexer agree.
public struct Source: Sendable {
    public let path: String
    public let text: String
    /// The UTF-8 offset at which each line starts; `lineStarts[0] == 0`.
    private let lineStarts: [Int]
    private let bytes: [UInt8]

    public init(path: String, text: String) {
        self.path = path
        self.text = text
        self.bytes = Array(text.utf8)
        var starts = [0]
        for (i, b) in bytes.enumerated() where b == UInt8(ascii: "\n") { starts.append(i + 1) }
        self.lineStarts = starts
    }

    public var lineCount: Int { lineStarts.count }

    /// The text of a 1-based line, without its line terminator.
    public func line(_ number: Int) -> String {
        guard number >= 1, number <= lineStarts.count else { return "" }
        let start = lineStarts[number - 1]
        var end = number < lineStarts.count ? lineStarts[number] - 1 : bytes.count
        if end > start, bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        return String(decoding: bytes[start..<max(start, end)], as: UTF8.self)
    }

    /// The UTF-8 offset of a position, clamped to the text.
    public func offset(of position: Position) -> Int {
        guard position.line >= 1, position.line <= lineStarts.count else { return bytes.count }
        var offset = lineStarts[position.line - 1]
        var column = 1
        while column < position.column, offset < bytes.count, bytes[offset] != UInt8(ascii: "\n") {
            offset += Self.scalarLength(bytes[offset])
            column += 1
        }
        return offset
    }

    /// The position of a UTF-8 offset.
    public func position(ofOffset offset: Int) -> Position {
        var lo = 0, hi = lineStarts.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if lineStarts[mid] <= offset { lo = mid } else { hi = mid - 1 }
        }
        var column = 1
        var i = lineStarts[lo]
        while i < offset, i < bytes.count {
            i += Self.scalarLength(bytes[i])
            column += 1
        }
        return Position(line: lo + 1, column: column)
    }

    public var utf8: [UInt8] { bytes }

    /// A position's column in UTF-16 code units (1-based), the unit SARIF viewers and editors
    /// count in: a scalar outside the Basic Multilingual Plane is two of them.
    public func utf16Column(of position: Position) -> Int {
        guard position.line >= 1, position.line <= lineStarts.count else { return position.column }
        var offset = lineStarts[position.line - 1]
        var column = 1, units = 1
        while column < position.column, offset < bytes.count, bytes[offset] != UInt8(ascii: "\n") {
            let length = Self.scalarLength(bytes[offset])
            units += length == 4 ? 2 : 1
            offset += length
            column += 1
        }
        return units + (position.column - column)  // past the end of the line: as many more
    }

    @inline(__always)
    static func scalarLength(_ lead: UInt8) -> Int {
        switch lead {
        case 0..<0x80: 1
        case 0xC0..<0xE0: 2
        case 0xE0..<0xF0: 3
        case 0xF0...: 4
        default: 1
        }
    }
}

/// A Position is a 1-based line and column (in Unicode scalars) in a Source.
public struct Position: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var line: Int
    public var column: Int
    public init(line: Int, column: Int) { self.line = line; self.column = column }
    public static func < (a: Position, b: Position) -> Bool {
        (a.line, a.column) < (b.line, b.column)
    }
    public var description: String { "\(line):\(column)" }
}

/// A Span is a half-open range of positions: `end` is the position just after the last character.
public struct Span: Sendable, Hashable, CustomStringConvertible {
    public var start: Position
    public var end: Position
    public init(start: Position, end: Position) { self.start = start; self.end = max(start, end) }
    public init(_ position: Position) { self.start = position; self.end = Position(line: position.line, column: position.column + 1) }
    public static let unknown = Span(start: Position(line: 1, column: 1), end: Position(line: 1, column: 1))
    public var description: String { "\(start)-\(end)" }
}
