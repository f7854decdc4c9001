import Foundation
import PrellmMemory
import ProviderStandIn
import Testing

@Suite struct SQLiteContextStoreTests {
    static func store() throws -> (SQLiteContextStore, String) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("prellm-contexts-\(UUID().uuidString).sqlite").path
        return (try SQLiteContextStore(path: path), path)
    }

    static func random(_ n: Int, _ d: Int, _ rng: inout SplitMix64) -> [[Double]] {
        (0..<n).map { _ in (0..<d).map { _ in Double.random(in: -1...1, using: &rng) } }
    }

    /// The plain definition: cosine over the original vectors, in doubles, sorted.
    static func reference(_ vectors: [[Double]], _ q: [Double], k: Int, min: Double) -> [(Int, Double)] {
        func norm(_ v: [Double]) -> Double { v.reduce(0) { $0 + $1 * $1 }.squareRoot() }
        let scored = vectors.enumerated().map { i, v in (i, zip(v, q).reduce(0) { $0 + $1.0 * $1.1 } / (norm(v) * norm(q))) }
        return Array(scored.filter { $0.1 >= min }.sorted { $0.1 > $1.1 }.prefix(k))
    }

    @Test func searchFindsWhatBruteForceFinds() async throws {
        let (store, path) = try Self.store()
        defer { try? FileManager.default.removeItem(atPath: path) }
        var rng = SplitMix64(seed: 42)
        let vectors = Self.random(600, 48, &rng)
        let chunks = vectors.indices.map { Chunk(text: "chunk \($0)", source: "f\($0 % 7).md", lines: ($0 + 1)...($0 + 1)) }
        try await store.add(chunks, vectors: vectors, to: "team", model: "openai/text-embedding-3-small")
        for _ in 0..<25 {
            let q = Self.random(1, 48, &rng)[0]
            let k = Int.random(in: 1...12, using: &rng)
            let floor = Double.random(in: -0.2...0.3, using: &rng)
            let hits = try await store.search("team", vector: q, model: "openai/text-embedding-3-small", topK: k, minScore: floor)
            let expected = Self.reference(vectors, q, k: k, min: floor)
            #expect(hits.count == expected.count)
            for (hit, (i, score)) in zip(hits, expected) {
                // Stored as 32-bit floats: scores agree to float precision, ranks but for near-ties.
                #expect(abs(hit.score - score) < 1e-5, "\(hit.score) vs \(score)")
                if hit.chunk.text != "chunk \(i)" { #expect(abs(hit.score - score) < 1e-5) }
            }
        }
    }

    @Test func aContextKeepsItsModelAndDimension() async throws {
        let (store, path) = try Self.store()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let chunk = Chunk(text: "a", source: "a.md", lines: 1...1)
        try await store.add([chunk], vectors: [[1, 0, 0]], to: "team", model: "openai/text-embedding-3-small")
        await #expect(throws: MemoryError.self) {
            try await store.add([chunk], vectors: [[1, 0, 0]], to: "team", model: "ollama/nomic-embed-text")
        }
        await #expect(throws: MemoryError.self) {
            try await store.add([chunk], vectors: [[1, 0, 0, 0]], to: "team", model: "openai/text-embedding-3-small")
        }
        do {
            _ = try await store.search("team", vector: [1, 0, 0], model: "gemini/gemini-embedding-001", topK: 1, minScore: 0)
            Issue.record("a search with another model's vector went through")
        } catch {
            #expect(error.message.contains("holds vectors of openai/text-embedding-3-small (3 dimensions)"), "\(error)")
        }
        do {
            _ = try await store.search("tema", vector: [1, 0, 0], model: "openai/text-embedding-3-small", topK: 1, minScore: 0)
            Issue.record("a missing context was searched")
        } catch {
            #expect(error.message == "no context named 'tema'; contexts: team")
        }
        await #expect(throws: MemoryError.self) { try await store.add([chunk], vectors: [[0, 0, 0]], to: "other", model: "m/x") }
        #expect(try await store.contexts().map(\.name) == ["team"])
    }

    @Test func addingAfterASearchIsSeenAndRemovingForgets() async throws {
        let (store, path) = try Self.store()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let model = "openai/text-embedding-3-small"
        try await store.add([Chunk(text: "east", source: "a.md", lines: 1...2)], vectors: [[1, 0]], to: "t", model: model)
        #expect(try await store.search("t", vector: [0, 1], model: model, topK: 1, minScore: 0.5).isEmpty)
        try await store.add([Chunk(text: "north", source: "b.md", lines: 3...4)], vectors: [[0, 2]], to: "t", model: model)
        let hits = try await store.search("t", vector: [0, 1], model: model, topK: 1, minScore: 0.5)
        #expect(hits == [ContextHit(chunk: Chunk(text: "north", source: "b.md", lines: 3...4), score: 1)])
        // The file keeps it: another connection reads the same.
        let reopened = try SQLiteContextStore(path: path)
        #expect(try await reopened.chunks(of: "t").map(\.text) == ["east", "north"])
        #expect(try await reopened.contexts() == [ContextInfo(name: "t", model: model, dimension: 2, chunks: 2, sources: ["a.md", "b.md"])])
        #expect(try await store.remove("t"))
        #expect(try await !store.remove("t"))
        #expect(try await store.contexts().isEmpty)
    }
}
