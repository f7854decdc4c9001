import Synchronization
import Foundation
import PrellmHTTP
import ProviderStandIn
import Testing

/// The libcurl client against a real server on 127.0.0.1.
@Suite struct HTTPClientTests {
    let client = HTTPClient.shared

    @Test func wholeResponse() async throws {
        let server = try StandInServer { req, w in
            w.respond(
                status: 201, headers: [("Content-Type", "application/json"), ("X-Echo", req.header("x-test") ?? "")],
                body: "{\"got\": \(req.body.count)}")
        }
        let r = try await client.send(HTTPRequest(url: server.baseURL + "/v1/x", headers: [("X-Test", "yes")], body: Array("hello".utf8)))
        #expect(r.head.status == 201)
        #expect(r.head.header("x-echo") == "yes")
        #expect(String(decoding: r.body, as: UTF8.self) == "{\"got\": 5}")
        let seen = try #require(server.requests.first)
        #expect(seen.method == "POST")
        #expect(seen.path == "/v1/x")
        #expect(seen.bodyText == "hello")
        #expect(seen.header("expect") == nil)
    }

    /// An endless (or merely huge) whole body ends in an error at the limit, not in memory.
    @Test func aWholeBodyPastTheLimitIsAnError() async throws {
        let server = try StandInServer { _, w in
            w.startChunked(contentType: "application/json")
            for _ in 0..<64 { w.chunk(String(repeating: "x", count: 16 * 1024)) }
            w.end()
        }
        do {
            _ = try await client.send(HTTPRequest(url: server.baseURL, maxBodyBytes: 100_000))
            Issue.record("no error")
        } catch let e as HTTPError {
            #expect(e.kind == .tooLarge)
            #expect(e.message.hasSuffix("is larger than 100000 bytes"))
        }
        // The same body under the limit arrives whole.
        let r = try await client.send(HTTPRequest(url: server.baseURL, maxBodyBytes: 2 << 20))
        #expect(r.body.count == 64 * 16 * 1024)
    }

    @Test func streamArrivesInPieces() async throws {
        let server = try StandInServer { _, w in
            w.startChunked()
            for i in 0..<5 { w.chunk("data: \(i)\n\n"); w.pause(5) }
            w.end()
        }
        let r = try await client.stream(HTTPRequest(url: server.baseURL))
        #expect(r.head.status == 200)
        #expect(r.head.header("content-type") == "text/event-stream")
        var text = ""
        var chunks = 0
        for try await chunk in r.body { text += String(decoding: chunk, as: UTF8.self); chunks += 1 }
        #expect(text == (0..<5).map { "data: \($0)\n\n" }.joined())
        #expect(chunks >= 2)
    }

    @Test func aCutStreamIsAnError() async throws {
        let server = try StandInServer { _, w in
            w.startChunked()
            w.chunk("data: 1\n\n")
            w.pause(10)
            w.cut()
        }
        let r = try await client.stream(HTTPRequest(url: server.baseURL))
        var received = ""
        do {
            for try await chunk in r.body { received += String(decoding: chunk, as: UTF8.self) }
            Issue.record("the stream ended without an error")
        } catch let e as HTTPError {
            #expect(e.kind == .cutStream)
        }
        #expect(received == "data: 1\n\n")
    }

    @Test func connectionRefused() async throws {
        let server = try StandInServer { _, _ in }
        let url = server.baseURL
        server.stop()
        await #expect(throws: HTTPError.self) { try await client.send(HTTPRequest(url: url)) }
        do { _ = try await client.send(HTTPRequest(url: url)) } catch let e as HTTPError { #expect(e.kind == .connect) }
    }

    @Test func slowFirstByteTimesOut() async throws {
        let server = try StandInServer { _, w in
            w.pause(5000)
            w.respond(body: "{}")
        }
        var timeouts = HTTPTimeouts()
        timeouts.firstByte = .milliseconds(200)
        // The server answers after 5 s, so an error at all means the timer fired first. (Not
        // timed here: this task resumes only when the test pool has a free thread, which on a
        // two-core machine running CPU-bound suites can be seconds after the timer.)
        do {
            _ = try await client.send(HTTPRequest(url: server.baseURL, timeouts: timeouts))
            Issue.record("no timeout")
        } catch let e as HTTPError {
            #expect(e.kind == .timeout(.firstByte))
            #expect(e.message.contains("200ms"))
        }
    }

    @Test func idleStreamTimesOut() async throws {
        let server = try StandInServer { _, w in
            w.startChunked()
            w.chunk("data: 1\n\n")
            w.pause(1500)
            w.chunk("data: 2\n\n")
            w.end()
        }
        var timeouts = HTTPTimeouts()
        timeouts.idle = .milliseconds(200)
        let r = try await client.stream(HTTPRequest(url: server.baseURL, timeouts: timeouts))
        do {
            for try await _ in r.body {}
            Issue.record("no timeout")
        } catch let e as HTTPError {
            #expect(e.kind == .timeout(.idle))
        }
    }

    @Test func cancellingTheTaskCancelsTheRequest() async throws {
        let server = try StandInServer { _, w in
            w.startChunked()
            for _ in 0..<100 { w.chunk("data: x\n\n"); w.pause(20) }
            w.end()
        }
        let task = Task {
            let r = try await client.stream(HTTPRequest(url: server.baseURL))
            var n = 0
            for try await _ in r.body { n += 1 }
            return n
        }
        try await Task.sleep(for: .milliseconds(100))
        task.cancel()
        let result = await task.result
        switch result {
        case .success(let n): #expect(n < 100)
        case .failure(let e): #expect((e as? HTTPError)?.kind == .cancelled || e is CancellationError)
        }
    }

    @Test func manyConcurrentRequestsReuseConnections() async throws {
        let server = try StandInServer { req, w in w.respond(body: req.bodyText) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<50 {
                group.addTask {
                    let r = try await client.send(HTTPRequest(url: server.baseURL, body: Array("\(i)".utf8)))
                    #expect(String(decoding: r.body, as: UTF8.self) == "\(i)")
                }
            }
            try await group.waitForAll()
        }
        #expect(server.requests.count == 50)
    }

    /// Local model servers speak plain HTTP/1.1: concurrent slow requests to one of them must
    /// each get a connection, not queue behind the first (waiting to multiplex on a connection
    /// that never can). Counted at the server, not timed: the server had all 8 at once.
    @Test func concurrentSlowRequestsToOneHTTP1HostRunSideBySide() async throws {
        let inFlight = InFlight()
        let server = try StandInServer { _, w in
            inFlight.enter()
            defer { inFlight.leave() }
            w.pause(1_500)
            w.respond(body: "{}")
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask { _ = try await client.send(HTTPRequest(url: server.baseURL)) }
            }
            try await group.waitForAll()
        }
        #expect(inFlight.most == 8, "at most \(inFlight.most) of 8 requests were in progress at once")
    }

    @Test func concurrentSlowStreamsToOneHTTP1HostRunSideBySide() async throws {
        let inFlight = InFlight()
        let server = try StandInServer { _, w in
            inFlight.enter()
            defer { inFlight.leave() }
            w.startChunked()
            for _ in 0..<3 {
                w.chunk("data: {}\n\n")
                w.pause(500)
            }
            w.end()
        }
        try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    let r = try await client.stream(HTTPRequest(url: server.baseURL))
                    var n = 0
                    for try await chunk in r.body { n += chunk.count }
                    return n
                }
            }
            for try await n in group { #expect(n > 0) }
        }
        #expect(inFlight.most == 8, "at most \(inFlight.most) of 8 streams were in progress at once")
    }
}
