import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PrellmCompiler
import PrellmSchema
import PrellmSyntax
import Synchronization
import Testing

@testable import PrellmServer

/// What reaches a client of the gateway: upstream errors without the addresses of the network
/// behind it (the log keeps them), and headers that let no browser sniff an answer's type.
@Suite struct RedactionTests {
    @Test(arguments: [
        (
            "cannot connect to http://10.0.0.5:8000: Failed to connect to 10.0.0.5 port 8000 after 0 ms: Couldn't connect to server",
            "cannot connect to the upstream: Failed to connect after 0 ms: Couldn't connect to server"
        ),
        (
            "cannot connect to https://gpu-a.internal:8443: Could not resolve host: gpu-a.internal",
            "cannot connect to the upstream: Could not resolve the host"
        ),
        ("openai/gpt-4o: HTTP 500 from https://llm-proxy.corp/v1/chat?key=sk-1", "openai/gpt-4o: HTTP 500 from the upstream"),
        ("connection refused (127.0.0.1:5432) and [fd00::7]:11434", "connection refused ([address]) and [address]"),
        (
            "ollama/llama3.1:8b failed; version 1.2.3 costs $0.01 for 10.5 tokens",
            "ollama/llama3.1:8b failed; version 1.2.3 costs $0.01 for 10.5 tokens"
        ),
        ("the request has 3 messages", "the request has 3 messages"),
        ("Could not resolve proxy: proxy.corp", "Could not resolve the proxy"),
        ("SSL_ERROR_SYSCALL in connection to gpu-a.internal:443 (ok)", "SSL_ERROR_SYSCALL in connection to the upstream (ok)"),
        ("HTTPConnectionPool(host='gpu-a.internal', port=8000): failed", "HTTPConnectionPool(host='[host]', port=8000): failed"),
        ("Cannot connect to host gpu-a.internal:8000 ssl:default", "Cannot connect to host [host] ssl:default"),
        ("connect to fd00::7 failed at 12:34:56", "connect to [address] failed at 12:34:56"),
        ("[fe80::1%eth0]:8080 is down", "[address] is down"),
        ("the upstream is 10.0.0.5.", "the upstream is [address]."),
        ("see <http://10.1.2.3:80/x> now", "see <the upstream> now"),
    ])
    func upstreamMessagesLoseTheirAddresses(_ message: String, _ client: String) {
        #expect(Redaction.forClient(message) == client)
    }

    /// An upstream nobody listens on: the client's 502 says the connection failed, without the
    /// endpoint's address; the log line has it whole. Every answer says `nosniff` and names no
    /// server software.
    @Test func aClientIsNotToldWhereTheUpstreamIs() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("prellm-redact-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("prellm.yaml").path
        try "prellm: 1\nserver: {host: 127.0.0.1, port: 0}\nmodels:\n  fast: openai/gpt-4o-mini\n  embed: openai/text-embedding-3-small\n".write(
            toFile: path, atomically: true, encoding: .utf8)
        let result = WorkflowCompiler().compile(path: path)
        let config = try #require(result.config, "\(result.diagnostics)")
        let lines = Mutex<[String]>([])
        // Port 1 on loopback: refused at once.
        let gateway = try Gateway(
            config: config, environment: ["OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": "http://127.0.0.1:1/v1"],
            log: { line in lines.withLock { $0.append(line) } })
        let app = Application(router: gateway.makeRouter())
        try await app.test(.live) { client in
            let r = try await client.execute(
                uri: "/v1/chat/completions", method: .post, headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"model": "fast", "messages": [{"role": "user", "content": "Hi"}]}"#))
            #expect(r.status == .badGateway)
            let text = String(buffer: r.body)
            let message = try JSONParser.parse(text)["error"]?["message"]?.stringValue ?? ""
            #expect(message.contains("cannot connect to the upstream"), "\(message)")
            #expect(!text.contains("127.0.0.1") && !text.contains(":1/"), "\(text)")
            #expect(lines.withLock { $0 }.contains { $0.contains("127.0.0.1:1") }, "the log keeps the address")
            #expect(r.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
            #expect(r.headers[.server] == nil)

            // Embeddings too: the client's copy without the address, the log line with it.
            lines.withLock { $0 = [] }
            let embedded = try await client.execute(
                uri: "/v1/embeddings", method: .post, headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"model": "embed", "input": "Hi"}"#))
            #expect(embedded.status == .badGateway)
            #expect(!String(buffer: embedded.body).contains("127.0.0.1"), "\(String(buffer: embedded.body))")
            #expect(lines.withLock { $0 }.contains { $0.contains("127.0.0.1:1") && $0.contains("/v1/embeddings") })

            let unknown = try await client.execute(uri: "/v2/nothing", method: .get)
            #expect(unknown.status == .notFound)
            #expect(unknown.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
            let health = try await client.execute(uri: "/healthz", method: .get)
            #expect(health.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
        }
    }
}
