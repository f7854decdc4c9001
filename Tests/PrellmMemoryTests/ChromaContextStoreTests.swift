import Foundation
import PrellmMemory
import ProviderStandIn
import Testing

@Suite struct ChromaContextStoreTests {
    @Test func addSearchRefuseAndRemoveOnARealServer() async throws {
        guard let server = try await ChromaServer.database() else { return }
        let store = ChromaContextStore(url: server.url, database: server.database)
        let model = "openai/text-embedding-3-small"
        try await store.add(
            [Chunk(text: "east", source: "a.md", lines: 1...2), Chunk(text: "north", source: "b.md", lines: 3...4)],
            vectors: [[1, 0, 0], [0, 1, 0.1]], to: "team", model: model)
        try await store.add([Chunk(text: "up", source: "c.md", lines: 5...5)], vectors: [[0, 0, 1]], to: "team", model: model)
        let hits = try await store.search("team", vector: [0, 1, 0], model: model, topK: 2, minScore: 0.5)
        #expect(hits.map(\.chunk.text) == ["north"], "\(hits)")
        #expect(abs((hits.first?.score ?? 0) - 0.995) < 0.01)
        #expect(hits.first?.chunk == Chunk(text: "north", source: "b.md", lines: 3...4))
        #expect(try await store.chunks(of: "team").map(\.text) == ["east", "north", "up"])
        #expect(try await store.contexts() == [ContextInfo(name: "team", model: model, dimension: 3, chunks: 3, sources: ["a.md", "b.md", "c.md"])])

        await #expect(throws: MemoryError.self) {
            try await store.add([Chunk(text: "x", source: "x", lines: 1...1)], vectors: [[1, 0, 0]], to: "team", model: "ollama/nomic-embed-text")
        }
        do {
            _ = try await store.search("tema", vector: [1, 0, 0], model: model, topK: 1, minScore: 0)
            Issue.record("a missing context was searched")
        } catch {
            #expect(error.message == "no context named 'tema'; contexts: team")
        }
        // Asked for by name: a missing one is nil, not Chroma's 404 as an error.
        #expect(try await store.context(named: "tema") == nil)
        #expect(try await store.context(named: "team")?.chunks == 3)
        #expect(try await store.remove("team"))
        #expect(try await !store.remove("team"))
        #expect(try await store.contexts().isEmpty)
    }

    /// The same chunks in both stores: the best chunk for each query is the same one.
    @Test func chromaAndTheEmbeddedStoreAgree() async throws {
        guard let server = try await ChromaServer.database() else { return }
        let chroma = ChromaContextStore(url: server.url, database: server.database)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("prellm-agree-\(UUID().uuidString).sqlite").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let embedded = try SQLiteContextStore(path: path)
        var rng = SplitMix64(seed: 11)
        let vectors = (0..<200).map { _ in (0..<16).map { _ in Double.random(in: -1...1, using: &rng) } }
        let chunks = vectors.indices.map { Chunk(text: "chunk \($0)", source: "f.md", lines: ($0 + 1)...($0 + 1)) }
        for store in [chroma, embedded] as [any ContextStore] { try await store.add(chunks, vectors: vectors, to: "r", model: "m/e") }
        for _ in 0..<10 {
            let q = (0..<16).map { _ in Double.random(in: -1...1, using: &rng) }
            let a = try await chroma.search("r", vector: q, model: "m/e", topK: 1, minScore: -1)
            let b = try await embedded.search("r", vector: q, model: "m/e", topK: 1, minScore: -1)
            #expect(a.first?.chunk == b.first?.chunk && abs((a.first?.score ?? 0) - (b.first?.score ?? 9)) < 1e-3, "\(a) \(b)")
        }
    }
}
