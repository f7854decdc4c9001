import Foundation
import PrellmProviderKit
import PrellmProviders

// Decodes an OpenAI Chat Completions stream of small deltas (as a model streams tokens), fed
// in network-sized pieces, through the same decoder the provider uses: SSE framing, a JSON
// parse per event, delta extraction.
//
//   sse-decode [--megabytes 1] [--repeat 20] [--piece 1400]
// Prints: events, bytes, best MB/s over the repeats. Run under valgrind with --repeat 1 (and
// once with --megabytes 0 for the baseline) to count allocations per event.

var megabytes = 1.0, repeats = 20, piece = 1400
var args = CommandLine.arguments.dropFirst().makeIterator()
while let a = args.next() {
    switch a {
    case "--megabytes": megabytes = Double(args.next() ?? "1") ?? 1
    case "--repeat": repeats = Int(args.next() ?? "20") ?? 20
    case "--piece": piece = Int(args.next() ?? "1400") ?? 1400
    default: FileHandle.standardError.write(Data("unknown argument \(a)\n".utf8)); exit(2)
    }
}

let words = ["The", " quick", " brown", " fox", " jumps", " over", " the", " lazy", " dog", ".", " Über", " naïve", " café", "\\n"]
var stream = ""
var events = 0
while Double(stream.utf8.count) < megabytes * 1_000_000 {
    let w = words[events % words.count]
    stream +=
        "data: {\"id\":\"chatcmpl-AbC123\",\"object\":\"chat.completion.chunk\",\"created\":1732000000,\"model\":\"gpt-4o-mini-2024-07-18\",\"system_fingerprint\":\"fp_0ba0d124f1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\(w)\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n"
    events += 1
}
stream += "data: [DONE]\n\n"
let bytes = Array(stream.utf8)
let pieces = stride(from: 0, to: bytes.count, by: piece).map { Array(bytes[$0..<min(bytes.count, $0 + piece)]) }

var best = Double.infinity
var texts = 0
for _ in 0..<repeats {
    var decoder = OpenAIStreamDecoder()
    var n = 0
    let start = ContinuousClock.now
    for p in pieces { try decoder.feed(p) { if case .text = $0 { n += 1 } } }
    let elapsed = ContinuousClock.now - start
    precondition(decoder.isDone && n == events, "decoded \(n) of \(events) events")
    texts = n
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    best = min(best, seconds)
}
let mbps = Double(bytes.count) / 1_000_000 / best
print(
    "events=\(texts) bytes=\(bytes.count) pieces=\(pieces.count) best_seconds=\(String(format: "%.4f", best)) MB_per_s=\(String(format: "%.1f", mbps))"
)
