import Foundation
import PrellmCompiler
import PrellmProviderKit
import PrellmRuntime
import PrellmSchema
import Synchronization

/// HealthMonitor probes each provider whose config has `health:`, every `interval`, and takes
/// one that fails out of every route (through ``RoutingState``) until a probe passes again.
/// A breaker still opens on failures of real requests; the probe finds an endpoint that is
/// down before a request has to, and finds it back.
final class HealthMonitor: Sendable {
    struct Upstream: Sendable {
        let name: String
        let probe: any HealthProbing
        let path: String
        let check: ConfigFile.HealthCheck
    }

    /// What the last probe of an upstream found.
    struct Reading: Sendable {
        var failure: String?
        var checkedAt: Date
        /// Since when the upstream has been in its present state.
        var since: Date
    }

    let upstreams: [Upstream]
    private let routing: RoutingState
    private let readings = Mutex<[String: Reading]>([:])

    init(upstreams: [Upstream], routing: RoutingState) {
        self.upstreams = upstreams
        self.routing = routing
        // Each loop holds the monitor only while it probes, so that the monitor (and with it
        // the loop) goes when its gateway does.
        for u in upstreams {
            Task { [weak self] in
                while !Task.isCancelled, let monitor = self {
                    await monitor.probe(u)
                    try? await Task.sleep(for: u.check.interval)
                }
            }
        }
    }

    private func probe(_ u: Upstream) async {
        var failure: String?
        do throws(ProviderError) { try await u.probe.probe(path: u.path, timeout: u.check.timeout) } catch {
            failure = error.message
        }
        record(u.name, failure: failure)
    }

    func record(_ name: String, failure: String?) {
        let now = Date()
        readings.withLock { r in
            let changed = r[name].map { ($0.failure == nil) != (failure == nil) } ?? true
            r[name] = Reading(failure: failure, checkedAt: now, since: changed ? now : r[name]!.since)
        }
        routing.setProbe(name, failure: failure.map(Redaction.forClient))
    }

    /// The upstreams by name, for `/readyz?deep=1`: "healthy", "failing" (with why) or
    /// "unchecked" before the first probe has ended.
    var report: JSONValue {
        let r = readings.withLock { $0 }
        return .object(
            Dictionary(
                uniqueKeysWithValues: upstreams.map { u in
                    guard let reading = r[u.name] else { return (u.name, JSONValue.object(["state": "unchecked"])) }
                    var o: [String: JSONValue] = [
                        "state": .string(reading.failure == nil ? "healthy" : "failing"),
                        "checked_at": .string(ISO8601DateFormatter().string(from: reading.checkedAt)),
                        "since": .string(ISO8601DateFormatter().string(from: reading.since)),
                    ]
                    if let f = reading.failure { o["error"] = .string(Redaction.forClient(f)) }
                    return (u.name, .object(o))
                }))
    }

    /// Whether every checked upstream is failing (then the gateway is not ready).
    var allFailing: Bool {
        let r = readings.withLock { $0 }
        return !upstreams.isEmpty && upstreams.allSatisfy { r[$0.name]?.failure != nil }
    }

    /// Whether `model` (`provider/name`) is on a provider whose probe fails now.
    func isFailing(_ model: String) -> Bool {
        guard let slash = model.firstIndex(of: "/") else { return false }
        return routing.probeFailure(String(model[..<slash])) != nil
    }
}
