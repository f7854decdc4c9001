// Search latency of the embedded context store (SQLiteContextStore) at growing sizes: random
// unit vectors of `--dimension` floats, added in batches, then searched for the top 5. Cold is
// the first search (the context's vectors read from the file into one matrix); warm is every
// later one (the matrix kept). See Benchmarks/README.md.
import Foundation
import PrellmMemory

struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func argument(_ name: String, _ fallback: Int) -> Int {
    let args = CommandLine.arguments
    guard let i = args.firstIndex(of: name), i + 1 < args.count, let v = Int(args[i + 1]) else { return fallback }
    return v
}

func ms(_ d: Duration) -> Double { Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15 }

@main struct MemoryBench {
    static func main() async throws {
        let dimension = argument("--dimension", 1536)
        let searches = argument("--searches", 50)
        let sizes = [1_000, 10_000, 100_000].filter { $0 <= argument("--max", 100_000) }
        var rng = SplitMix64(state: 2026)
        func vector() -> [Double] { (0..<dimension).map { _ in Double.random(in: -1...1, using: &rng) } }

        print("dimension \(dimension), top 5, \(searches) warm searches per size")
        for size in sizes {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("prellm-memory-bench-\(size).sqlite").path
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
            let store = try SQLiteContextStore(path: path)
            let clock = ContinuousClock()
            let added = try await clock.measure {
                var done = 0
                while done < size {
                    let n = min(1_000, size - done)
                    let chunks = (0..<n).map { Chunk(text: "chunk \(done + $0)", source: "bench.md", lines: (done + $0 + 1)...(done + $0 + 1)) }
                    try await store.add(chunks, vectors: (0..<n).map { _ in vector() }, to: "bench", model: "bench/embed")
                    done += n
                }
            }
            // A fresh connection, so the first search reads the vectors from the file.
            let reader = try SQLiteContextStore(path: path)
            let cold = try await clock.measure { _ = try await reader.search("bench", vector: vector(), model: "bench/embed", topK: 5, minScore: -1) }
            var warm: [Double] = []
            for _ in 0..<searches {
                let q = vector()
                warm.append(
                    ms(try await clock.measure { _ = try await reader.search("bench", vector: q, model: "bench/embed", topK: 5, minScore: -1) }))
            }
            warm.sort()
            let bytes = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
            let p = { (q: Double) in warm[min(warm.count - 1, Int(Double(warm.count) * q))] }
            print(
                String(
                    format: "%7d chunks: add %.1f s, file %d MB, cold search %.1f ms, warm p50 %.2f ms, p99 %.2f ms", size, ms(added) / 1000,
                    bytes / 1_000_000, ms(cold), p(0.5), p(0.99)))
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        }
    }
}
