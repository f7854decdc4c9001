import Foundation
import PrellmHTTP
import ProviderStandIn
import Testing

/// Concurrent requests to an HTTP/2 host share one connection: nginx with TLS and `http2`, in
/// front of a slow stand-in, logs which connection each request came on.
@Suite struct HTTP2Tests {
    static let nginx = "/usr/sbin/nginx"

    @Test func concurrentRequestsToAnHTTP2HostShareOneConnection() async throws {
        guard FileManager.default.isExecutableFile(atPath: Self.nginx) else {
            #expect(ProcessInfo.processInfo.environment["PRELLM_REQUIRE_NGINX"] == nil, "nginx is required here but missing")
            print("skipped: nginx is not installed (apt-get install nginx-light)")
            return
        }
        let inFlight = InFlight()
        let upstream = try StandInServer { _, w in
            inFlight.enter()
            defer { inFlight.leave() }
            w.pause(1_000)
            w.respond(body: "{}")
        }
        let front = try await Front(upstreamPort: upstream.port)
        defer { front.stop() }
        let client = HTTPClient(caBundle: front.certificate)
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<8 {
                group.addTask { try await client.send(HTTPRequest(url: "https://127.0.0.1:\(front.port)/r\(i)")).head.status }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(statuses == Array(repeating: 200, count: 8))
        #expect(inFlight.most == 8, "the requests ran one after another: at most \(inFlight.most) at once")
        let lines = try front.accessLog()
        #expect(lines.count == 8)
        #expect(lines.allSatisfy { $0.hasSuffix(" HTTP/2.0") }, "\(lines)")
        #expect(Set(lines.map { $0.split(separator: " ")[0] }).count == 1, "more than one connection: \(lines)")
    }

    /// nginx on a free loopback port with a self-signed certificate for 127.0.0.1, proxying to
    /// the stand-in; its access log holds each request's connection number and protocol.
    struct Front {
        let process = Process()
        let dir: URL
        let port: Int
        var certificate: String { dir.appendingPathComponent("cert.pem").path }

        init(upstreamPort: Int) async throws {
            dir = FileManager.default.temporaryDirectory.appendingPathComponent("prellm-h2-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir.appendingPathComponent("tmp"), withIntermediateDirectories: true)
            let openssl = try await Subprocess.run(
                URL(fileURLWithPath: "/usr/bin/env"),
                [
                    "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", dir.appendingPathComponent("key.pem").path,
                    "-out", dir.appendingPathComponent("cert.pem").path,
                ])
            guard openssl.status == 0 else { throw StandInError("openssl: \(openssl.stderr)") }
            let probe = try StandInServer { _, _ in }
            port = probe.port
            probe.stop()
            let d = dir.path
            let config = """
                daemon off;
                master_process off;
                pid \(d)/nginx.pid;
                error_log \(d)/error.log;
                events {}
                http {
                    log_format conn '$connection $server_protocol';
                    access_log \(d)/access.log conn;
                    client_body_temp_path \(d)/tmp/body;
                    proxy_temp_path \(d)/tmp/proxy;
                    fastcgi_temp_path \(d)/tmp/fastcgi;
                    uwsgi_temp_path \(d)/tmp/uwsgi;
                    scgi_temp_path \(d)/tmp/scgi;
                    server {
                        listen 127.0.0.1:\(port) ssl http2;
                        ssl_certificate \(d)/cert.pem;
                        ssl_certificate_key \(d)/key.pem;
                        location / { proxy_pass http://127.0.0.1:\(upstreamPort); }
                    }
                }
                """
            try config.write(to: dir.appendingPathComponent("nginx.conf"), atomically: true, encoding: .utf8)
            process.executableURL = URL(fileURLWithPath: HTTP2Tests.nginx)
            process.arguments = ["-c", dir.appendingPathComponent("nginx.conf").path, "-p", d, "-e", "\(d)/error.log"]
            process.standardError = FileHandle.nullDevice
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            for _ in 0..<100 {
                if (try? RawSocket.connects(to: port)) == true { return }
                try await Task.sleep(for: .milliseconds(50))
            }
            kill(process.processIdentifier, SIGKILL)
            throw StandInError("nginx did not start: " + ((try? String(contentsOfFile: "\(d)/error.log", encoding: .utf8)) ?? ""))
        }

        func accessLog() throws -> [String] {
            try String(contentsOf: dir.appendingPathComponent("access.log"), encoding: .utf8).split(separator: "\n").map(String.init)
        }

        /// SIGKILL: nginx inherits the test runner's blocked signals, so it never sees a SIGTERM.
        func stop() {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
            try? FileManager.default.removeItem(at: dir)
        }
    }
}

enum RawSocket {
    /// Whether something accepts connections on the loopback port.
    static func connects(to port: Int) throws -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }
}
