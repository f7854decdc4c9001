import Foundation
import PrellmSchema

/// A Chunk is a piece of a user's file small enough to embed and to hand a model: its text, the
/// file it came from and the lines it spans there (1-based, inclusive), so that a recalled
/// chunk can always be traced back to where it was written.
public struct Chunk: Sendable, Equatable {
    public var text: String
    public var source: String
    public var lines: ClosedRange<Int>

    public init(text: String, source: String, lines: ClosedRange<Int>) {
        self.text = text
        self.source = source
        self.lines = lines
    }
}

/// The Chunker splits a file at the boundaries its format has — Markdown at headings and
/// paragraphs, text at paragraphs, YAML at top-level keys and items, JSON at top-level members
/// and elements — and packs neighbouring pieces up to `maxCharacters`, so a chunk is one
/// coherent piece rather than a window cut mid-sentence. A Markdown chunk that continues a
/// section starts with the section's heading trail, which is what its meaning depends on.
public struct Chunker: Sendable {
    public var maxCharacters: Int

    public init(maxCharacters: Int = 1200) { self.maxCharacters = max(80, maxCharacters) }

    public enum Format: String, Sendable, CaseIterable {
        case markdown, text, json, yaml

        /// The format a file's name says, nil for names it does not know.
        public init?(path: String) {
            let name = path.lowercased()
            if name.hasSuffix(".md") || name.hasSuffix(".markdown") {
                self = .markdown
            } else if name.hasSuffix(".txt") || name.hasSuffix(".text") {
                self = .text
            } else if name.hasSuffix(".json") {
                self = .json
            } else if name.hasSuffix(".yaml") || name.hasSuffix(".yml") {
                self = .yaml
            } else {
                return nil
            }
        }
    }

    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// One piece at a format boundary: lines `first...last` (0-based) and, for Markdown, the
    /// heading trail it sits under.
    struct Piece {
        var first: Int
        var last: Int
        var trail: String
    }

    public func chunks(of text: String, source: String, format: Format) throws(Failure) -> [Chunk] {
        if format == .json {
            do { _ = try JSONParser.parse(text) } catch { throw Failure(message: "\(source) is not valid JSON: \(error)") }
        }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.hasSuffix("\r") ? $0.dropLast() : $0 }
        let pieces: [Piece] =
            switch format {
            case .markdown: Self.markdownPieces(lines)
            case .text: Self.paragraphs(lines, trail: { _ in "" })
            case .yaml: Self.pieces(lines) { i in Self.startsYAMLEntry(lines[i]) }
            case .json: Self.jsonPieces(lines)
            }
        return pack(pieces, lines, source: source)
    }

    // MARK: - Boundaries

    /// Paragraphs: runs of non-blank lines.
    static func paragraphs(_ lines: [Substring], trail: (Int) -> String) -> [Piece] {
        var out: [Piece] = []
        var start: Int?
        for (i, line) in lines.enumerated() {
            let blank = line.allSatisfy(\.isWhitespace)
            if blank, let s = start {
                out.append(Piece(first: s, last: i - 1, trail: trail(s)))
                start = nil
            } else if !blank, start == nil {
                start = i
            }
        }
        if let s = start { out.append(Piece(first: s, last: lines.count - 1, trail: trail(s))) }
        return out
    }

    /// Markdown: paragraphs, each heading its own start, each under the trail of headings above
    /// it (`Conventions > Python`). Fenced code is one piece, whatever blank lines it holds.
    static func markdownPieces(_ lines: [Substring]) -> [Piece] {
        var trails: [String] = Array(repeating: "", count: lines.count)
        var stack: [(level: Int, title: String)] = []
        var inFence = false
        var starts = Set<Int>()
        var fenced = Set<Int>()
        for (i, line) in lines.enumerated() {
            if line.hasPrefix("```") || line.hasPrefix("~~~") { inFence.toggle() }
            if inFence || line.hasPrefix("```") || line.hasPrefix("~~~") { fenced.insert(i) }
            if !inFence, line.hasPrefix("#") {
                let level = line.prefix { $0 == "#" }.count
                let title = line.dropFirst(level).trimmingCharacters(in: .whitespaces)
                stack.removeAll { $0.level >= level }
                stack.append((level, title))
                starts.insert(i)
            }
            trails[i] = stack.map(\.title).joined(separator: " > ")
        }
        var out: [Piece] = []
        var start: Int?
        for i in lines.indices {
            let blank = lines[i].allSatisfy(\.isWhitespace) && !fenced.contains(i)
            if let s = start, blank || starts.contains(i) {
                out.append(Piece(first: s, last: i - 1, trail: trails[s]))
                start = nil
            }
            if !blank, start == nil { start = i }
        }
        if let s = start { out.append(Piece(first: s, last: lines.count - 1, trail: trails[s])) }
        return out.filter { p in !(p.first...p.last).allSatisfy { lines[$0].allSatisfy(\.isWhitespace) } }
    }

    /// A top-level key or list item: a line that starts at the margin, not a comment or `---`.
    static func startsYAMLEntry(_ line: Substring) -> Bool {
        guard let c = line.first, !c.isWhitespace, c != "#" else { return false }
        return !line.hasPrefix("---") && !line.hasPrefix("...")
    }

    /// Pieces that start at every line number `startsPiece` accepts (and at the first line).
    static func pieces(_ lines: [Substring], startsPiece: (Int) -> Bool) -> [Piece] {
        var out: [Piece] = []
        var start = 0
        for i in lines.indices where i > start && startsPiece(i) {
            out.append(Piece(first: start, last: i - 1, trail: ""))
            start = i
        }
        if !lines.isEmpty { out.append(Piece(first: start, last: lines.count - 1, trail: "")) }
        return out
    }

    /// JSON: a piece starts at each line that begins a top-level member or element (the
    /// nesting depth is one when the line starts, and the line does not only close something).
    static func jsonPieces(_ lines: [Substring]) -> [Piece] {
        var depthAtStart: [Int] = []
        var depth = 0
        var inString = false, escaped = false
        for line in lines {
            depthAtStart.append(depth)
            for c in line.utf8 {
                if inString {
                    if escaped {
                        escaped = false
                    } else if c == UInt8(ascii: "\\") {
                        escaped = true
                    } else if c == UInt8(ascii: "\"") {
                        inString = false
                    }
                    continue
                }
                switch c {
                case UInt8(ascii: "\""): inString = true
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
                default: break
                }
            }
        }
        return pieces(lines) { i in
            let trimmed = lines[i].drop { $0.isWhitespace }
            return depthAtStart[i] == 1 && !trimmed.isEmpty && !"}]".contains(trimmed.first!)
        }
    }

    // MARK: - Packing

    /// Neighbouring pieces joined while they fit; a piece that does not fit alone is cut at its
    /// lines, and a line that does not fit alone at `maxCharacters`. Markdown never joins
    /// across sections: a chunk is about one thing.
    func pack(_ pieces: [Piece], _ lines: [Substring], source: String) -> [Chunk] {
        var out: [Chunk] = []
        var current: (first: Int, last: Int, trail: String, size: Int)?
        func flush() {
            guard var c = current else { return }
            // The span is of the text kept: blank lines at either edge are not part of it.
            while c.first < c.last, lines[c.first].allSatisfy(\.isWhitespace) { c.first += 1 }
            while c.last > c.first, lines[c.last].allSatisfy(\.isWhitespace) { c.last -= 1 }
            let body = lines[c.first...c.last].joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
            let startsWithHeading = lines[c.first].hasPrefix("#")
            let text = c.trail.isEmpty || startsWithHeading ? body : c.trail + "\n\n" + body
            if !body.isEmpty { out.append(Chunk(text: text, source: source, lines: (c.first + 1)...(c.last + 1))) }
            current = nil
        }
        for piece in pieces.flatMap({ split($0, lines) }) {
            let size = (piece.first...piece.last).reduce(0) { $0 + lines[$1].count + 1 }
            if let c = current, c.size + size <= maxCharacters, c.trail == piece.trail {
                current = (c.first, piece.last, c.trail, c.size + size)
            } else {
                flush()
                current = (piece.first, piece.last, piece.trail, size + piece.trail.count)
            }
        }
        flush()
        return out.flatMap(cutLongLines)
    }

    /// A piece longer than the limit, as runs of whole lines that fit.
    func split(_ piece: Piece, _ lines: [Substring]) -> [Piece] {
        var out: [Piece] = []
        var start = piece.first, size = 0
        for i in piece.first...piece.last {
            let n = lines[i].count + 1
            if size + n > maxCharacters, i > start {
                out.append(Piece(first: start, last: i - 1, trail: piece.trail))
                start = i
                size = 0
            }
            size += n
        }
        out.append(Piece(first: start, last: piece.last, trail: piece.trail))
        return out
    }

    /// A chunk still over the limit is one long line (minified JSON, a wide table): cut it.
    func cutLongLines(_ chunk: Chunk) -> [Chunk] {
        guard chunk.text.count > maxCharacters + 200 else { return [chunk] }
        var out: [Chunk] = []
        var rest = Substring(chunk.text)
        while !rest.isEmpty {
            out.append(Chunk(text: String(rest.prefix(maxCharacters)), source: chunk.source, lines: chunk.lines))
            rest = rest.dropFirst(maxCharacters)
        }
        return out
    }
}
