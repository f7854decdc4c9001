import Foundation
import PrellmRuntime
import PrellmSchema
import Synchronization

/// GatewayMetrics counts what the gateway does and renders it in the Prometheus text format
/// (`GET /metrics`): requests, latency and time-to-first-token histograms, tokens and cost by
/// model and key, errors by kind, upstream calls, retries, fallbacks, cache hits, and the state
/// of each circuit breaker. Upstream calls are counted from the router's events.
public final class GatewayMetrics: RunEventSink {
    static let buckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

    struct Histogram {
        var counts = [Int](repeating: 0, count: GatewayMetrics.buckets.count)
        var sum = 0.0
        var count = 0
        mutating func observe(_ v: Double) {
            for (i, b) in GatewayMetrics.buckets.enumerated() where v <= b { counts[i] += 1 }
            sum += v
            count += 1
        }
    }

    /// A series' labels, kept as values and escaped only when `/metrics` is rendered: a
    /// request counts several series, and escaping their labels each time was a tenth of the
    /// gateway's time per request. Rendered in this order, the ones present.
    struct Labels: Hashable, Sendable {
        var model: String?
        var key: String?
        var status: String?
        var kind: String?

        var rendered: String {
            [("model", model), ("key", key), ("status", status), ("kind", kind)]
                .compactMap { name, value in value.map { "\(name)=\"\(GatewayMetrics.escape($0))\"" } }
                .joined(separator: ",")
        }
    }

    struct State {
        var counters: [String: [Labels: Double]] = [:]  // metric → labels → value
        var histograms: [String: [Labels: Histogram]] = [:]

        mutating func add(_ metric: String, _ labels: Labels, _ v: Double = 1) {
            counters[metric, default: [:]][labels, default: 0] += v
        }

        mutating func observe(_ metric: String, _ labels: Labels, _ v: Double) {
            histograms[metric, default: [:]][labels, default: Histogram()].observe(v)
        }
    }

    private let state = Mutex(State())
    /// The models with a circuit breaker, whose state is rendered; a reload may change them.
    let breakers: Mutex<[String]>
    let routing: RoutingState

    init(breakerModels: [String], routing: RoutingState) {
        self.breakers = Mutex(breakerModels)
        self.routing = routing
    }

    func setBreakerModels(_ models: [String]) { breakers.withLock { $0 = models } }

    /// A label value as the Prometheus text format quotes it.
    static func escape(_ value: String) -> String {
        guard value.utf8.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\n") }) else {
            return value
        }
        return value.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"").replacing("\n", with: "\\n")
    }

    func add(_ metric: String, _ labels: Labels, _ v: Double = 1) {
        state.withLock { $0.add(metric, labels, v) }
    }

    func observe(_ metric: String, _ labels: Labels, _ v: Double) {
        state.withLock { $0.observe(metric, labels, v) }
    }

    /// A request's series, counted under one lock.
    func request(model: String, key: String, status: Int, seconds: Double, tokens: Int?, cost: Double?, error: String?) {
        let byKey = Labels(model: model, key: key)
        state.withLock { s in
            s.add("prellm_requests_total", Labels(model: model, key: key, status: String(status)))
            s.observe("prellm_request_duration_seconds", Labels(model: model), seconds)
            if let tokens { s.add("prellm_tokens_total", byKey, Double(tokens)) }
            if let cost { s.add("prellm_cost_usd_total", byKey, cost) }
            if let error { s.add("prellm_errors_total", Labels(kind: error)) }
        }
    }

    func firstToken(model: String, seconds: Double) {
        observe("prellm_time_to_first_token_seconds", Labels(model: model), seconds)
    }

    /// The router's events: upstream calls by outcome, retries, fallbacks, cache hits, overruns.
    public func record(_ event: RunEvent) {
        if case .memory(let m) = event { add("prellm_upstream_calls_total", Labels(model: m.model, status: "ok")) }
        guard case .call(let e) = event else { return }
        let model = Labels(model: e.model)
        switch e.kind {
        case .answered: add("prellm_upstream_calls_total", Labels(model: e.model, status: "ok"))
        case .failed: add("prellm_upstream_calls_total", Labels(model: e.model, status: "error"))
        case .cancelled: add("prellm_upstream_calls_total", Labels(model: e.model, status: "cancelled"))
        case .retrying: add("prellm_retries_total", model)
        case .fellBack: add("prellm_fallbacks_total", model)
        case .cacheHit: add("prellm_cache_hits_total", model)
        case .overrun: add("prellm_reservation_overruns_total", model)
        case .started, .skipped, .charged: break
        }
    }

    static let help: [String: (String, String)] = [
        "prellm_requests_total": ("counter", "Requests by model, key and HTTP status."),
        "prellm_tokens_total": ("counter", "Tokens used, by model and key."),
        "prellm_cost_usd_total": ("counter", "Cost in US dollars, by model and key."),
        "prellm_errors_total": ("counter", "Failed requests by error kind."),
        "prellm_upstream_calls_total": ("counter", "Calls to providers by model and outcome."),
        "prellm_retries_total": ("counter", "Retries scheduled after a provider error, by model."),
        "prellm_fallbacks_total": ("counter", "Calls that fell back to this model after the ones before it failed or were skipped."),
        "prellm_reservation_overruns_total": ("counter", "Calls whose reported usage was more than they had reserved, by model."),
        "prellm_cache_hits_total": ("counter", "Answers served from the cache."),
        "prellm_cache_misses_total": ("counter", "Cache lookups that found no answer."),
        "prellm_cache_stored_bytes_total": ("counter", "Bytes of answers written to the cache."),
        "prellm_request_duration_seconds": ("histogram", "Request latency."),
        "prellm_time_to_first_token_seconds": ("histogram", "Time to the first streamed token."),
    ]

    public func render() -> String {
        let s = state.withLock { $0 }
        var out = ""
        for name in s.counters.keys.sorted() {
            let (type, help) = Self.help[name] ?? ("counter", name)
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for (labels, v) in s.counters[name]!.map({ ($0.key.rendered, $0.value) }).sorted(by: { $0.0 < $1.0 }) {
                out += "\(name){\(labels)} \(Self.number(v))\n"
            }
        }
        for name in s.histograms.keys.sorted() {
            let (type, help) = Self.help[name] ?? ("histogram", name)
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for (labels, h) in s.histograms[name]!.map({ ($0.key.rendered, $0.value) }).sorted(by: { $0.0 < $1.0 }) {
                let sep = labels.isEmpty ? "" : ","
                for (i, b) in Self.buckets.enumerated() { out += "\(name)_bucket{\(labels)\(sep)le=\"\(Self.number(b))\"} \(h.counts[i])\n" }
                out +=
                    "\(name)_bucket{\(labels)\(sep)le=\"+Inf\"} \(h.count)\n\(name)_sum{\(labels)} \(Self.number(h.sum))\n\(name)_count{\(labels)} \(h.count)\n"
            }
        }
        out += "# HELP prellm_circuit_open Whether a model's circuit breaker is open (1) or closed (0).\n# TYPE prellm_circuit_open gauge\n"
        for m in breakers.withLock({ $0 }) { out += "prellm_circuit_open{\(Labels(model: m).rendered)} \(routing.isOpen(m) ? 1 : 0)\n" }
        return out
    }

    static func number(_ v: Double) -> String {
        v.rounded() == v && abs(v) < 1e15 ? String(Int64(v)) : String(v)
    }
}
