import Foundation
import PrellmHTTP
import ProviderStandIn
import Synchronization
import Testing

/// Faults a hostile model answer or client can cause, against `prellm serve` as a process: the
/// gateway must keep answering everyone else.
@Suite(.serialized) struct GatewayFaultTests {
    static let workflow = """
        prellm: 1
        name: hostile
        inputs:
          message: {type: string}
        models:
          fast: openai/gpt-4o-mini
        contracts:
          Facts:
            type: object
            required: [a]
            properties: {a: {type: string}}
        steps:
          - id: facts
            call: {model: fast, prompt: "{{ inputs.message }}", output: Facts}
        """

    /// A served workflow whose model answers 200,000 `[`: repairing it once took seconds per
    /// answer on the pool that serves requests, and `/healthz` waited 24 s behind two of them.
    /// Measured against a control — the same ten requests with a 20-byte answer — so that the
    /// test says what the hostile answers cost `/healthz` and not how busy the machine is.
    @Test func healthStaysFastWhileHostileAnswersAreParsed() async throws {
        let standIn = try ScriptedStandIn([
            "gpt-4o-mini": [Reply.openAI(String(repeating: "[", count: 200_000))],
            "gpt-4.1-mini": [Reply.openAI(String(repeating: "[", count: 20))],
        ])
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("prellm-fault-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for (name, model) in [("hostile", "openai/gpt-4o-mini"), ("control", "openai/gpt-4.1-mini")] {
            try Self.workflow.replacingOccurrences(of: "name: hostile", with: "name: \(name)")
                .replacingOccurrences(of: "fast: openai/gpt-4o-mini", with: "fast: \(model)")
                .write(to: dir.appendingPathComponent("\(name).yaml"), atomically: true, encoding: .utf8)
        }
        let gateway = try await ServedGateway(environment: standIn.environment) { port in
            "prellm: 1\nserver: {host: 127.0.0.1, port: \(port)}\nmodels:\n  fast: openai/gpt-4o-mini\nworkflows: [\(dir.path)/hostile.yaml, \(dir.path)/control.yaml]\n"
        }
        defer { gateway.stop() }
        let base = "http://127.0.0.1:\(gateway.port)"
        let control = try await Self.probeHealth(base, while: "workflow/control")
        let hostile = try await Self.probeHealth(base, while: "workflow/hostile")
        #expect(Self.p90(hostile) < Self.p90(control) + Self.noise, "/healthz with hostile answers: \(hostile); control: \(control)")
        #expect(hostile.last! < control.last! + .seconds(1), "/healthz: \(hostile); control: \(control)")
        #expect(standIn.requests.count == 40, "two attempts per request")
    }

    /// `/healthz`'s latencies, sorted, while ten requests for `model` run; each request must end
    /// in the contract's failure (the answers are not JSON).
    static func probeHealth(_ base: String, while model: String) async throws -> [Duration] {
        let statuses = tenChats(base, model: model)
        let latencies = try await healthLatencies(base)
        let ended = try await statuses.value
        #expect(ended.allSatisfy { $0 == 502 }, "statuses: \(ended)")
        return latencies
    }

    /// Ten concurrent chat requests for `model`, started at once; their statuses when all end.
    static func tenChats(_ base: String, model: String) -> Task<[Int], any Error> {
        let body = Array(#"{"model": "\#(model)", "messages": [{"role": "user", "content": "go"}]}"#.utf8)
        return Task {
            try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<10 {
                    group.addTask {
                        let request = HTTPRequest(url: base + "/v1/chat/completions", headers: [("Content-Type", "application/json")], body: body)
                        return try await HTTPClient.shared.send(request).head.status
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
        }
    }

    /// Forty `/healthz` probes 25 ms apart; their latencies, sorted.
    static func healthLatencies(_ base: String) async throws -> [Duration] {
        var latencies: [Duration] = []
        let clock = ContinuousClock()
        while latencies.count < 40 {
            let started = clock.now
            let r = try await HTTPClient.shared.send(HTTPRequest(method: "GET", url: base + "/healthz"))
            #expect(r.head.status == 200)
            latencies.append(clock.now - started)
            try await Task.sleep(for: .milliseconds(25))
        }
        return latencies.sorted()
    }

    static func p90(_ sorted: [Duration]) -> Duration { sorted[sorted.count * 9 / 10] }

    /// What a probe may lose to the machine rather than to the gateway. A probe queued behind
    /// the work these tests make waits for that work — a 2-second upstream, seconds of parsing
    /// — so this tells queued from not queued; it is no speed target (those are in Benchmarks).
    /// The 90th percentile, not the worst: the suites share two cores, and 50 ms proved too
    /// little in a loaded CI run.
    static let noise: Duration = .milliseconds(250)

    /// Ten concurrent 2-second requests through the gateway to one HTTP/1.1 upstream: all ten
    /// are at the upstream at once (they queued one behind another), and `/healthz` stays as
    /// fast as on an idle gateway.
    @Test func slowUpstreamRequestsRunSideBySideAndHealthStaysFast() async throws {
        let inFlight = InFlight()
        let slow: ScriptedStandIn.Responder = { request, w in
            inFlight.enter()
            defer { inFlight.leave() }
            w.pause(2_000)
            Reply.openAI("ok")(request, w)
        }
        let standIn = try ScriptedStandIn(["gpt-4o-mini": [slow]])
        let gateway = try await ServedGateway(environment: standIn.environment) { port in
            "prellm: 1\nserver: {host: 127.0.0.1, port: \(port)}\nmodels:\n  fast: openai/gpt-4o-mini\n"
        }
        defer { gateway.stop() }
        let base = "http://127.0.0.1:\(gateway.port)"
        let idle = try await Self.healthLatencies(base)
        let statuses = Self.tenChats(base, model: "fast")
        let busy = try await Self.healthLatencies(base)
        #expect(try await statuses.value == Array(repeating: 200, count: 10))
        #expect(inFlight.most == 10, "at most \(inFlight.most) of 10 requests were at the upstream at once")
        #expect(Self.p90(busy) < Self.p90(idle) + Self.noise, "/healthz busy: \(busy); idle: \(idle)")
    }

    /// 100 clients each dripping a request head, and 100 idle connections: `/healthz` stays as
    /// fast as on an idle gateway, and the guard closes them all in time.
    @Test func slowAndIdleClientsDoNotSlowHealth() async throws {
        let gateway = try await ServedGateway(environment: ["PATH": "/usr/bin:/bin"]) { port in
            "prellm: 1\nserver: {host: 127.0.0.1, port: \(port)}\nmodels:\n  fast: openai/gpt-4o-mini\nlimits: {header_timeout: 2s, idle_timeout: 2s}\n"
        }
        defer { gateway.stop() }
        let base = "http://127.0.0.1:\(gateway.port)"
        let idle = try await Self.healthLatencies(base)
        var clients: [RawClient] = []
        for i in 0..<200 {
            let c = try RawClient(port: gateway.port)
            if i % 2 == 0 { c.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n") }
            clients.append(c)
        }
        let busy = try await Self.healthLatencies(base)
        #expect(Self.p90(busy) < Self.p90(idle) + Self.noise, "/healthz busy: \(busy); idle: \(idle)")
        try await Task.sleep(for: .seconds(2))
        // Every connection was closed by the gateway: a 408 for the dripping ones, nothing for
        // the idle ones, then the end of the stream.
        var answered = 0
        for c in clients where c.readToEnd(timeout: .seconds(3)).hasPrefix("HTTP/1.1 408") { answered += 1 }
        #expect(answered == 100)
    }
}

/// Clients that are slow, idle, many or malformed, against `prellm serve` with short limits.
@Suite struct SlowClientTests {
    static func served(_ limits: String) async throws -> ServedGateway {
        try await ServedGateway(environment: ["PATH": "/usr/bin:/bin"]) { port in
            "prellm: 1\nserver: {host: 127.0.0.1, port: \(port)}\nmodels:\n  fast: openai/gpt-4o-mini\nlimits: \(limits)\n"
        }
    }

    @Test func aClientDrippingItsHeadIsAnswered408() async throws {
        let gateway = try await Self.served("{header_timeout: 1s}")
        defer { gateway.stop() }
        let c = try RawClient(port: gateway.port)
        let started = ContinuousClock.now
        let answer = try await c.drip("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nX-Slow: " + String(repeating: "a", count: 40), everyMs: 100)
        #expect(answer.hasPrefix("HTTP/1.1 408"), "\(answer)")
        #expect(answer.contains("request_timeout"))
        #expect(ContinuousClock.now - started < .seconds(3))
    }

    @Test func aClientDrippingItsBodyIsAnswered408() async throws {
        let gateway = try await Self.served("{body_timeout: 1s}")
        defer { gateway.stop() }
        let c = try RawClient(port: gateway.port)
        c.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n")
        let answer = try await c.drip(String(repeating: " ", count: 40), everyMs: 100)
        #expect(answer.hasPrefix("HTTP/1.1 408"), "\(answer)")
        #expect(answer.contains("its body"))
    }

    @Test func anIdleConnectionIsClosed() async throws {
        let gateway = try await Self.served("{idle_timeout: 1s}")
        defer { gateway.stop() }
        let c = try RawClient(port: gateway.port)
        let started = ContinuousClock.now
        let answer = c.readToEnd(timeout: .seconds(5))
        #expect(answer == "", "an idle connection is closed without an answer")
        let waited = ContinuousClock.now - started
        #expect(waited >= .milliseconds(900) && waited < .seconds(4), "closed after \(waited)")
    }

    @Test func connectionsPastTheCapAreRefusedWith503() async throws {
        let gateway = try await Self.served("{max_connections: 3, idle_timeout: 30s}")
        defer { gateway.stop() }
        // /healthz's own probe connection may still be open: fill up to the cap and one more.
        var held: [RawClient] = []
        var refusal = ""
        for _ in 0..<4 {
            let c = try RawClient(port: gateway.port)
            c.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            let head = c.readHead(timeout: .seconds(3))
            held.append(c)
            if head.hasPrefix("HTTP/1.1 503") {
                refusal = head + c.readToEnd(timeout: .seconds(3))
                break
            }
            #expect(head.hasPrefix("HTTP/1.1 200"), "\(head)")
        }
        #expect(refusal.contains("too_many_connections"), "no refusal past the cap: \(refusal)")
        #expect(refusal.contains("Retry-After: 1"))
        held.forEach { $0.close() }
        // The closed connections leave the census: a new one is served.
        try await Task.sleep(for: .milliseconds(300))
        let again = try await HTTPClient.shared.send(HTTPRequest(method: "GET", url: "http://127.0.0.1:\(gateway.port)/healthz"))
        #expect(again.head.status == 200)
    }

    /// A body shorter than its Content-Length, or with a bad chunk size, is a bad request (400),
    /// not one too large (413).
    @Test(arguments: [
        "Content-Length: 200\r\n\r\n{\"model\": \"fast\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}",
        "Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
    ])
    func aMalformedBodyIs400(_ rest: String) async throws {
        let gateway = try await Self.served("{body_timeout: 10s}")
        defer { gateway.stop() }
        let c = try RawClient(port: gateway.port)
        c.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + rest)
        c.shutdownWrite()
        let answer = c.readToEnd(timeout: .seconds(5))
        #expect(answer.hasPrefix("HTTP/1.1 400"), "\(answer)")
        #expect(!answer.contains("larger than"))
        #expect(!answer.lowercased().contains("\r\nserver:"), "no Server header: \(answer)")
    }
}

/// A client speaking raw bytes over a loopback socket.
final class RawClient: @unchecked Sendable {
    let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw StandInError("cannot connect to \(port)") }
    }

    deinit { close() }

    func close() { _ = Glibc.shutdown(fd, Int32(SHUT_RDWR)) }
    func shutdownWrite() { _ = Glibc.shutdown(fd, Int32(SHUT_WR)) }

    func send(_ text: String) {
        _ = text.withCString { Glibc.send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
    }

    /// Sends `text` a byte at a time until the server answers or closes; returns the answer.
    func drip(_ text: String, everyMs: Int) async throws -> String {
        for byte in text.utf8 {
            var b = byte
            if Glibc.send(fd, &b, 1, Int32(MSG_NOSIGNAL)) <= 0 { break }
            let got = readToEnd(timeout: .milliseconds(everyMs))
            if !got.isEmpty { return got + readToEnd(timeout: .seconds(2)) }
        }
        return readToEnd(timeout: .seconds(5))
    }

    /// What arrives until the server closes, or until nothing has come for `timeout`.
    func readToEnd(timeout: Duration) -> String {
        var out: [UInt8] = []
        while let chunk = read(timeout: timeout), !chunk.isEmpty { out += chunk }
        return String(decoding: out, as: UTF8.self)
    }

    /// A response's head (through its blank line) and whatever came with it.
    func readHead(timeout: Duration) -> String {
        var out: [UInt8] = []
        while !String(decoding: out, as: UTF8.self).contains("\r\n\r\n"), let chunk = read(timeout: timeout), !chunk.isEmpty { out += chunk }
        return String(decoding: out, as: UTF8.self)
    }

    /// One read: nil when nothing came in time, empty at the end of the stream.
    private func read(timeout: Duration) -> [UInt8]? {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ms = Int32(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        guard poll(&p, 1, ms) > 0 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = recv(fd, &buffer, buffer.count, 0)
        return n <= 0 ? [] : Array(buffer[0..<n])
    }
}
