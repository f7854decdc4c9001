import Foundation
import PrellmHTTP
import PrellmSchema

/// Contexts kept in a ChromaDB server, through its HTTP API (v2): one collection per context,
/// named `prellm-NAME`, with cosine distance, the embedding model and dimension in its metadata
/// (mixing them is refused here, as in the embedded store), each chunk's file and lines in its
/// record's metadata. Chroma's index is approximate (HNSW): the store for contexts too large to
/// search exactly.
public final class ChromaContextStore: ContextStore {
    let base: String
    let client: HTTPClient
    static let prefix = "prellm-"

    /// `url` is the server (`http://127.0.0.1:8000`); tenant and database default to Chroma's own.
    public init(url: String, tenant: String = "default_tenant", database: String = "default_database", client: HTTPClient = .shared) {
        let root = url.hasSuffix("/") ? String(url.dropLast()) : url
        base = "\(root)/api/v2/tenants/\(Self.escape(tenant))/databases/\(Self.escape(database))"
        self.client = client
    }

    /// How a request failed, without curl's message, which names the host: a store's errors
    /// may reach a gateway's clients.
    static func failure(_ error: any Error) -> String {
        switch (error as? HTTPError)?.kind {
        case .connect?: "no connection"
        case .timeout(let phase)?: "timed out (\(phase.rawValue))"
        case .cutStream?: "the answer was cut short"
        case .tooLarge?: "the answer is too large"
        case .cancelled?: "cancelled"
        case .other?, nil: "the request failed"
        }
    }

    static func escape(_ s: String) -> String { s.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["/"])) ?? s }

    /// One collection as Chroma lists it.
    struct Collection {
        var id: String
        var context: String
        var model: String
        var dimension: Int

        var info: ContextInfo { ContextInfo(name: context, model: model, dimension: dimension, chunks: 0, sources: []) }
    }

    public func contexts() async throws(MemoryError) -> [ContextInfo] {
        var out: [ContextInfo] = []
        for c in try await collections() {
            let records = try await call("POST", "/collections/\(c.id)/get", .object(["include": .array(["metadatas"])]))
            let sources = Set((records["metadatas"]?.arrayValue ?? []).compactMap { $0["source"]?.stringValue })
            out.append(
                ContextInfo(
                    name: c.context, model: c.model, dimension: c.dimension, chunks: records["ids"]?.arrayValue?.count ?? 0, sources: sources.sorted()
                ))
        }
        return out.sorted { $0.name < $1.name }
    }

    func collections() async throws(MemoryError) -> [Collection] {
        let list = try await call("GET", "/collections", nil)
        return (list.arrayValue ?? []).compactMap(Self.collection)
    }

    static func collection(_ v: JSONValue) -> Collection? {
        guard let id = v["id"]?.stringValue, let name = v["name"]?.stringValue, name.hasPrefix(prefix) else { return nil }
        return Collection(
            id: id, context: String(name.dropFirst(prefix.count)), model: v["metadata"]?["prellm_model"]?.stringValue ?? "",
            dimension: v["metadata"]?["prellm_dimension"]?.int ?? 0)
    }

    /// The context's collection, asked for by name: one request, however many collections the
    /// database holds.
    func find(_ context: String) async throws(MemoryError) -> Collection? {
        guard let found = try await call("GET", "/collections/\(Self.escape(Self.prefix + context))", nil, absentIsNil: true) else { return nil }
        return Self.collection(found)
    }

    /// The context's collection, or the error naming those that exist.
    func existing(_ context: String) async throws(MemoryError) -> Collection {
        if let c = try await find(context) { return c }
        throw .missing(context, among: try await collections().map(\.context).sorted())
    }

    public func context(named name: String) async throws(MemoryError) -> ContextInfo? {
        guard let c = try await find(name) else { return nil }
        var info = c.info
        info.chunks = try await call("GET", "/collections/\(c.id)/count", nil).int ?? 0
        return info
    }

    public func add(_ chunks: [Chunk], vectors: [[Double]], to context: String, model: String) async throws(MemoryError) {
        guard chunks.count == vectors.count else { throw MemoryError("\(chunks.count) chunks but \(vectors.count) vectors") }
        guard let dimension = vectors.first?.count else { return }
        guard vectors.allSatisfy({ $0.count == dimension }) else { throw MemoryError("the vectors differ in length") }
        var collection = try await find(context)
        if let c = collection { try MemoryError.unlessSameModel(c.info, model: model, dimension: dimension) }
        if collection == nil {
            let made = try await call(
                "POST", "/collections",
                .object([
                    "name": .string(Self.prefix + context), "get_or_create": true,
                    "metadata": .object(["prellm_model": .string(model), "prellm_dimension": .number(Double(dimension))]),
                    "configuration": .object(["hnsw": .object(["space": "cosine"])]),
                ]))
            collection = Self.collection(made)
        }
        guard let c = collection else { throw MemoryError("ChromaDB did not make the collection for '\(context)'") }
        // Ids continue the collection's count, so chunks list in the order added.
        let count = try await call("GET", "/collections/\(c.id)/count", nil).int ?? 0
        let ids = chunks.indices.map { JSONValue.string(String(format: "%010d", count + $0)) }
        _ = try await call(
            "POST", "/collections/\(c.id)/add",
            .object([
                "ids": .array(ids), "embeddings": .array(vectors.map { .array($0.map(JSONValue.number)) }),
                "documents": .array(chunks.map { .string($0.text) }),
                "metadatas": .array(
                    chunks.map {
                        .object([
                            "source": .string($0.source), "first_line": .number(Double($0.lines.lowerBound)),
                            "last_line": .number(Double($0.lines.upperBound)),
                        ])
                    }),
            ]))
    }

    public func search(
        _ context: String, vector: [Double], model: String, topK: Int, minScore: Double
    ) async throws(MemoryError)
        -> [ContextHit]
    {
        let c = try await existing(context)
        try MemoryError.unlessSameModel(c.info, model: model, dimension: vector.count)
        let found = try await call(
            "POST", "/collections/\(c.id)/query",
            .object([
                "query_embeddings": .array([.array(vector.map(JSONValue.number))]), "n_results": .number(Double(max(1, topK))),
                "include": .array(["documents", "metadatas", "distances"]),
            ]))
        let documents = found["documents"]?[0]?.arrayValue ?? [], metadatas = found["metadatas"]?[0]?.arrayValue ?? []
        let distances = found["distances"]?[0]?.arrayValue ?? []
        return zip(zip(documents, metadatas), distances).compactMap { pair, distance in
            // Cosine distance is 1 − similarity.
            let score = 1 - (distance.numberValue ?? 2)
            guard score >= minScore else { return nil }
            return ContextHit(chunk: Self.chunk(pair.0, pair.1), score: score)
        }
    }

    public func chunks(of context: String) async throws(MemoryError) -> [Chunk] {
        let c = try await existing(context)
        let records = try await call("POST", "/collections/\(c.id)/get", .object(["include": .array(["documents", "metadatas"])]))
        let ids = records["ids"]?.arrayValue?.compactMap(\.stringValue) ?? []
        let rows = zip(ids, zip(records["documents"]?.arrayValue ?? [], records["metadatas"]?.arrayValue ?? []))
        return rows.sorted { $0.0 < $1.0 }.map { Self.chunk($0.1.0, $0.1.1) }
    }

    public func remove(_ context: String) async throws(MemoryError) -> Bool {
        guard try await find(context) != nil else { return false }
        _ = try await call("DELETE", "/collections/\(Self.escape(Self.prefix + context))", nil)
        return true
    }

    static func chunk(_ document: JSONValue, _ metadata: JSONValue) -> Chunk {
        let first = metadata["first_line"]?.int ?? 1, last = metadata["last_line"]?.int ?? first
        return Chunk(text: document.stringValue ?? "", source: metadata["source"]?.stringValue ?? "", lines: first...max(first, last))
    }

    /// One request; an error status is Chroma's own message, without the server's address.
    func call(_ method: String, _ path: String, _ body: JSONValue?) async throws(MemoryError) -> JSONValue {
        // Never nil: only absentIsNil turns a 404 into nil.
        try await call(method, path, body, absentIsNil: false) ?? .null
    }

    /// As `call`; with `absentIsNil`, Chroma's 404 (no such collection) is nil rather than an error.
    func call(_ method: String, _ path: String, _ body: JSONValue?, absentIsNil: Bool) async throws(MemoryError) -> JSONValue? {
        let request = HTTPRequest(
            method: method, url: base + path, headers: [("content-type", "application/json")], body: body.map { Array($0.jsonText.utf8) },
            timeouts: HTTPTimeouts(connect: .seconds(5), total: .seconds(60)))
        let response: HTTPResponse
        do { response = try await client.send(request) } catch { throw MemoryError("ChromaDB cannot be reached (\(Self.failure(error)))") }
        let value = (try? JSONParser.parse(bytes: response.body)) ?? .null
        if absentIsNil, response.head.status == 404 { return nil }
        guard (200..<300).contains(response.head.status) else {
            throw MemoryError(
                "ChromaDB refused \(method) \(path.split(separator: "/").last ?? ""): \(value["message"]?.stringValue ?? "status \(response.head.status)")"
            )
        }
        return value
    }
}
