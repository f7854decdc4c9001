/// A named user context as a store holds it: the embedding model its vectors come from, and
/// their dimension. Both are fixed when the first chunk is added: vectors of different models
/// are not comparable, so mixing them is refused rather than searched as garbage.
public struct ContextInfo: Sendable, Equatable {
    public var name: String
    /// `provider/model`, as the configuration names it.
    public var model: String
    public var dimension: Int
    public var chunks: Int
    public var sources: [String]

    public init(name: String, model: String, dimension: Int, chunks: Int, sources: [String]) {
        self.name = name
        self.model = model
        self.dimension = dimension
        self.chunks = chunks
        self.sources = sources
    }
}

/// A chunk found by a search, with its cosine similarity to the query (1 is the same direction).
public struct ContextHit: Sendable, Equatable {
    public var chunk: Chunk
    public var score: Double

    public init(chunk: Chunk, score: Double) {
        self.chunk = chunk
        self.score = score
    }
}

public struct MemoryError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
    public init(_ message: String) { self.message = message }

    static func mixedModels(_ info: ContextInfo, model: String, dimension: Int) -> MemoryError {
        MemoryError(
            "context '\(info.name)' holds vectors of \(info.model) (\(info.dimension) dimensions); these are of \(model) (\(dimension)): "
                + "vectors of different models cannot be compared — embed with \(info.model), or add to a new context")
    }

    /// Unless vectors of `model` and `dimension` may be added to or searched in `info`'s context.
    static func unlessSameModel(_ info: ContextInfo, model: String, dimension: Int) throws(MemoryError) {
        guard info.model == model, info.dimension == dimension else { throw mixedModels(info, model: model, dimension: dimension) }
    }

    public static func missing(_ name: String, among names: [String]) -> MemoryError {
        MemoryError(
            "no context named '\(name)'"
                + (names.isEmpty ? "; there are none yet (prellm context add NAME FILE…)" : "; contexts: \(names.joined(separator: ", "))"))
    }
}

/// Where contexts live: the embedded SQLite file by default (exact search), or a ChromaDB server
/// (approximate). Both rank by cosine similarity.
public protocol ContextStore: Sendable {
    func contexts() async throws(MemoryError) -> [ContextInfo]
    /// One context's model, dimension and size (its sources left out); nil when there is none.
    func context(named name: String) async throws(MemoryError) -> ContextInfo?
    /// Adds chunks with their vectors (one per chunk, all of `model`), creating the context when
    /// it does not exist. All or nothing.
    func add(_ chunks: [Chunk], vectors: [[Double]], to context: String, model: String) async throws(MemoryError)
    /// The `topK` chunks most similar to `vector` with a score of at least `minScore`, best first.
    func search(_ context: String, vector: [Double], model: String, topK: Int, minScore: Double) async throws(MemoryError) -> [ContextHit]
    /// Every chunk of a context, in the order added.
    func chunks(of context: String) async throws(MemoryError) -> [Chunk]
    /// Removes a context; false when there was none.
    func remove(_ context: String) async throws(MemoryError) -> Bool
}

/// The vector arithmetic of the embedded store.
public enum Vectors {
    /// The vector scaled to length 1; nil for a zero (or non-finite) vector, which has no direction.
    public static func unit(_ v: [Double]) -> [Float]? {
        let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        guard norm > 0, norm.isFinite else { return nil }
        return v.map { Float($0 / norm) }
    }

    /// Cosine similarity of two unit vectors: their dot product, eight lanes at a time (a
    /// search is this loop over every chunk; one lane at a time it was 3 times slower).
    @inline(__always)
    public static func dot(_ a: UnsafeBufferPointer<Float>, _ b: UnsafeBufferPointer<Float>) -> Float {
        let n = min(a.count, b.count)
        guard n > 0, let pa = a.baseAddress, let pb = b.baseAddress else { return 0 }
        let ra = UnsafeRawPointer(pa), rb = UnsafeRawPointer(pb)
        var lanes = SIMD8<Float>()
        var i = 0
        while i + 8 <= n {
            lanes += ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) * rb.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            i += 8
        }
        var sum = lanes.sum()
        while i < n {
            sum += pa[i] * pb[i]
            i += 1
        }
        return sum
    }

    static func bytes(_ v: [Float]) -> [UInt8] { v.withUnsafeBytes { Array($0) } }
}

/// The `k` best of a stream of scored items, kept in a small sorted buffer: a search over many
/// chunks keeps `k` of them, not all.
struct TopK {
    let k: Int
    private(set) var items: [(score: Float, id: Int)] = []

    init(_ k: Int) { self.k = max(0, k) }

    mutating func offer(_ score: Float, _ id: Int) {
        guard k > 0 else { return }
        if items.count == k, let worst = items.last, score <= worst.score { return }
        let at = items.firstIndex { $0.score < score } ?? items.count
        items.insert((score, id), at: at)
        if items.count > k { items.removeLast() }
    }
}
