import PrellmProviderKit
import PrellmSchema

/// A Size is an upper bound on a number of bytes, in two forms that are both always true:
/// `max`, a plain bound; and `base + perElement × X`, where X is the content size of the
/// element being summed over (the current `{% for %}` variable, or a map's item). The second
/// form is what keeps a loop's bound linear: over a list whose elements' contents add up to C,
/// `Σ (base + perElement × Xᵢ) ≤ n × base + perElement × C`, where the first form alone would
/// give `n × max`, with every element as large as the largest. Nil means no bound is known.
struct Size: Sendable, Equatable {
    var max: Int?
    var base: Int?
    var perElement: Int

    /// Bounds past this are treated as no bound: no prompt is a petabyte, and sums stay far from overflow.
    static let limit = 1 << 50

    init(max: Int?, base: Int?, perElement: Int) {
        var m = max.flatMap { $0 > Self.limit ? nil : $0 }
        var b = base.flatMap { $0 > Self.limit ? nil : $0 }
        // Without a per-element part both forms are plain bounds: keep the tighter in both.
        if perElement == 0 {
            m = both(m, b, Swift.min) ?? m ?? b
            b = m
        }
        self.max = m
        self.base = b
        self.perElement = Swift.min(perElement, Self.limit)
    }

    static func exactly(_ n: Int) -> Size { Size(max: n, base: n, perElement: 0) }
    static let zero = Size.exactly(0)
    static let unbounded = Size(max: nil, base: nil, perElement: 0)
    /// The element being summed over, measured by its own content: X itself.
    static func element(max: Int?) -> Size { Size(max: max, base: 0, perElement: 1) }

    var isBounded: Bool { max != nil }

    static func + (a: Size, b: Size) -> Size {
        Size(max: add(a.max, b.max), base: add(a.base, b.base), perElement: a.perElement + b.perElement)
    }

    static func * (a: Size, k: Int) -> Size {
        Size(max: mul(a.max, k), base: mul(a.base, k), perElement: mul(a.perElement, k) ?? limit)
    }

    /// Either of two sizes (a branch, a conditional): the larger of each bound.
    func either(_ b: Size) -> Size {
        Size(max: both(max, b.max, Swift.max), base: both(base, b.base, Swift.max), perElement: Swift.max(perElement, b.perElement))
    }

    /// At most `n` bytes as well.
    func capped(_ n: Int) -> Size {
        Size(max: max.map { Swift.min($0, n) } ?? n, base: base, perElement: perElement)
    }

    /// This size read as a part of `whole`: never larger than the whole, in either form.
    func part(of whole: Size) -> Size {
        var s = Size(max: both(max, whole.max, Swift.min) ?? max ?? whole.max, base: whole.base, perElement: whole.perElement)
        if whole.perElement == 0 { s.base = s.max }
        return s
    }

    /// The total over `count` elements whose contents add up to `content`: the smaller of
    /// `count × max` and `count × base + perElement × content`.
    func summed(count: Int?, content: Int?) -> Size {
        let plain = mul(count, max)
        let linear = perElement == 0 ? mul(count, base) : add(mul(count, base), mul(perElement, content))
        let total = both(plain, linear, Swift.min) ?? plain ?? linear
        return Size(max: total, base: total, perElement: 0)
    }

    /// The same size with X concretised: a plain bound, as seen from outside the loop.
    var concrete: Size { Size(max: max, base: max, perElement: 0) }
}

func add(_ a: Int?, _ b: Int?) -> Int? {
    guard let a, let b else { return nil }
    let (s, o) = a.addingReportingOverflow(b)
    return o || s > Size.limit ? nil : s
}

func mul(_ a: Int?, _ b: Int?) -> Int? {
    guard let a, let b else { return nil }
    let (s, o) = a.multipliedReportingOverflow(by: b)
    return o || s > Size.limit ? nil : s
}

func both(_ a: Int?, _ b: Int?, _ f: (Int, Int) -> Int) -> Int? {
    guard let a, let b else { return nil }
    return f(a, b)
}

/// An Extent bounds the size of a value as the templates see it:
/// - `content`: the bytes of its leaves' text (strings as they are, numbers as digits);
/// - `json`: the bytes of its JSON text;
/// - `overhead`: what its JSON can have beyond `jsonGrowth × content` (quotes, keys, brackets,
///   commas), which is what lets a loop over its elements be bounded linearly;
/// - its shape: what its fields and elements are, and how many elements a list has at most.
/// A value rendered into a template prints as its content when it is a string or a scalar,
/// and as its JSON otherwise.
struct Extent: Sendable {
    indirect enum Shape: Sendable {
        case scalar
        case string
        case list(element: Extent, items: Int?)
        case object(fields: [String: Extent], other: Extent?)
        case unknown
    }

    var content: Size
    var json: Size
    var overhead: Int?
    var shape: Shape

    static let growth = TokenEstimate.jsonGrowth

    var text: Size {
        switch shape {
        case .scalar, .string: content
        case .list, .object, .unknown: json
        }
    }

    /// The most elements, when it is a list: its shape's count, else one per byte of its JSON.
    var items: Int? {
        if case .list(_, let n?) = shape { return n }
        return json.max
    }

    static let unknown = Extent(content: .unbounded, json: .unbounded, overhead: nil, shape: .unknown)
    static let number = Extent(content: .exactly(24), json: .exactly(24), overhead: 0, shape: .scalar)
    static let boolean = Extent(content: .exactly(5), json: .exactly(5), overhead: 0, shape: .scalar)

    /// A string of at most `bytes` bytes.
    static func string(_ bytes: Int?) -> Extent {
        let b = bytes.map(Size.exactly) ?? .unbounded
        return Extent(content: b, json: b * growth + .exactly(2), overhead: 2, shape: .string)
    }

    /// A text of exactly these bytes (its JSON size is computed only if asked for).
    static func literal(_ s: String) -> Extent {
        let n = s.utf8.count
        return Extent(content: .exactly(n), json: .exactly(2 + n * growth), overhead: 2, shape: .string)
    }

    /// The exact extent of a known value (an input given to the run).
    static func known(_ v: JSONValue) -> Extent {
        switch v {
        case .null: return Extent(content: .zero, json: .exactly(4), overhead: 4, shape: .scalar)
        case .bool(let b): return Extent(content: .exactly(b ? 4 : 5), json: .exactly(b ? 4 : 5), overhead: 0, shape: .scalar)
        case .number:
            let n = v.jsonText.utf8.count
            return Extent(content: .exactly(n), json: .exactly(n), overhead: 0, shape: .scalar)
        case .string(let s):
            let n = s.utf8.count, j = v.jsonText.utf8.count
            return Extent(content: .exactly(n), json: .exactly(j), overhead: Swift.max(0, j - n), shape: .string)
        case .array(let items):
            let parts = items.map(known)
            let content = parts.reduce(0) { $0 + ($1.content.max ?? 0) }
            let json = v.jsonText.utf8.count
            let element = parts.dropFirst().reduce(parts.first ?? .known(.null)) { $0.either($1) }
            return Extent(
                content: .exactly(content), json: .exactly(json), overhead: Swift.max(0, json - content),
                shape: .list(element: element, items: items.count))
        case .object(let o):
            var fields: [String: Extent] = [:]
            var content = 0
            for (k, x) in o {
                let e = known(x)
                fields[k] = e
                content += e.content.max ?? 0
            }
            let json = v.jsonText.utf8.count
            return Extent(
                content: .exactly(content), json: .exactly(json), overhead: Swift.max(0, json - content),
                shape: .object(fields: fields, other: nil))
        }
    }

    /// The larger of two extents, field by field (the value is one of them).
    func either(_ b: Extent) -> Extent {
        let shape: Shape
        switch (self.shape, b.shape) {
        case (.scalar, .scalar): shape = .scalar
        case (.string, .string): shape = .string
        case (.list(let x, let n), .list(let y, let m)): shape = .list(element: x.either(y), items: both(n, m, Swift.max))
        case (.object(let f, let o), .object(let g, let p)):
            var fields: [String: Extent] = [:]
            for k in Set(f.keys).union(g.keys) {
                if let x = f[k], let y = g[k] { fields[k] = x.either(y) } else { fields[k] = (f[k] ?? g[k])!.either(o ?? p ?? .unknown) }
            }
            let other: Extent? =
                switch (o, p) {
                case (nil, nil): nil
                case (let x?, let y?): x.either(y)
                case (let x?, nil), (nil, let x?): x
                }
            shape = .object(fields: fields, other: other)
        default: shape = .unknown
        }
        return Extent(
            content: content.either(b.content), json: json.either(b.json),
            overhead: both(overhead, b.overhead, Swift.max), shape: shape)
    }

    /// A part of this value (a field, an element): its own bounds, never more than the whole's.
    func part(_ p: Extent) -> Extent {
        Extent(content: p.content.part(of: content), json: p.json.part(of: json), overhead: p.overhead, shape: p.shape)
    }

    /// A field of this value, by name.
    func field(_ name: String) -> Extent {
        switch shape {
        case .object(let fields, let other): part(fields[name] ?? other ?? .unknown)
        case .unknown, .list, .scalar, .string: part(.unknown)
        }
    }

    /// An element of this value (a list's, or any field of an object).
    var element: Extent {
        switch shape {
        case .list(let e, _): part(e)
        case .object(let fields, let other):
            part(fields.values.reduce(other ?? (fields.isEmpty ? .unknown : fields.values.first!)) { $0.either($1) })
        case .unknown, .scalar, .string: part(.unknown)
        }
    }

    /// This value as the element being summed over: its sizes in terms of X, its own content.
    var asElement: Extent {
        let json: Size =
            overhead.map { Size(max: self.json.max, base: $0, perElement: Self.growth) }
            ?? Size(max: self.json.max, base: self.json.max, perElement: 0)
        return Extent(content: .element(max: content.max), json: json, overhead: overhead, shape: shape)
    }

    /// The same extent as seen from outside a loop: plain bounds only.
    var concrete: Extent { Extent(content: content.concrete, json: json.concrete, overhead: overhead, shape: shape) }

    /// At most `bytes` bytes of JSON (and so of content): what a parsed model answer can be.
    func limited(toJSON bytes: Int) -> Extent {
        Extent(content: content.capped(bytes), json: json.capped(bytes), overhead: overhead, shape: shape)
    }
}
