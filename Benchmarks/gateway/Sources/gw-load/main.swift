import Foundation
import PrellmHTTP

// An open-loop load generator: requests start at a fixed rate whatever the server does (so a
// slow server shows up as latency, not as a lower offered rate), with at most `concurrency`
// in flight; a request that cannot start because the cap is reached counts as dropped.
// Latency is measured per request, from its scheduled start.
//
//   gw-load URL [URL…] --rate 1000 --seconds 10 --concurrency 256 [--header 'Authorization: Bearer …'] [--get]
// (--get sends GETs without a body: the gateway's own cost on a route that calls no upstream.
// Several URLs take the requests in turn: replicas behind a round-robin balancer.)
// Prints one JSON line: offered and achieved rates, p50/p99/max latency in ms, errors, drops.

var urls: [String] = [], rate = 100.0, seconds = 10.0, concurrency = 256, get = false
var headers: [(name: String, value: String)] = [("Content-Type", "application/json")]
var it = CommandLine.arguments.dropFirst().makeIterator()
while let a = it.next() {
    switch a {
    case "--rate": rate = Double(it.next() ?? "") ?? rate
    case "--seconds": seconds = Double(it.next() ?? "") ?? seconds
    case "--concurrency": concurrency = Int(it.next() ?? "") ?? concurrency
    case "--get": get = true
    case "--header":
        let h = it.next() ?? ""
        if let c = h.firstIndex(of: ":") { headers.append((String(h[..<c]), h[h.index(after: c)...].trimmingCharacters(in: .whitespaces))) }
    default: urls.append(a)
    }
}
let body = Array(#"{"model": "fast", "messages": [{"role": "user", "content": "Say hello in five words."}], "max_tokens": 16}"#.utf8)
let client = HTTPClient(maxConnectionsPerHost: concurrency)

actor Stats {
    let cap: Int
    init(cap: Int) { self.cap = cap }
    var latencies: [Double] = []
    var errors = 0
    var dropped = 0
    var inFlight = 0
    func begin() -> Bool { if inFlight >= cap { dropped += 1; return false }; inFlight += 1; return true }
    func end(_ ms: Double?) { inFlight -= 1; if let ms { latencies.append(ms) } else { errors += 1 } }
}
let stats = Stats(cap: concurrency)
let targets = urls, requestHeaders = headers, method = get ? "GET" : "POST", requestBody: [UInt8]? = get ? nil : body
let total = Int(rate * seconds)
let interval = 1.0 / rate
let start = ContinuousClock.now
await withTaskGroup(of: Void.self) { group in
    for i in 0..<total {
        let due = start + .nanoseconds(Int64(Double(i) * interval * 1e9))
        if due > .now { try? await Task.sleep(until: due, clock: .continuous) }
        guard await stats.begin() else { continue }
        let target = targets[i % targets.count]
        group.addTask {
            do {
                let r = try await client.send(HTTPRequest(method: method, url: target, headers: requestHeaders, body: requestBody))
                let ms =
                    Double((ContinuousClock.now - due).components.attoseconds) / 1e15 + Double((ContinuousClock.now - due).components.seconds) * 1000
                await stats.end(r.head.status == 200 ? ms : nil)
            } catch {
                await stats.end(nil)
            }
        }
    }
}
let elapsed = ContinuousClock.now - start
let wall = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
let sorted = await stats.latencies.sorted()
func pct(_ p: Double) -> Double { sorted.isEmpty ? -1 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }
let errors = await stats.errors, dropped = await stats.dropped
print(
    String(
        format:
            #"{"offered_rps": %.0f, "achieved_rps": %.0f, "ok": %d, "errors": %d, "dropped": %d, "p50_ms": %.3f, "p99_ms": %.3f, "max_ms": %.3f}"#,
        rate, Double(sorted.count) / wall, sorted.count, errors, dropped, pct(0.5), pct(0.99), sorted.last ?? -1))
