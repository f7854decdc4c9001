import Foundation
import PrellmHTTP
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A real ChromaDB server on loopback (`chroma run`, from `pip install chromadb`), started once
/// per test process and killed when it exits; each test gets a database of its own on it.
/// `PRELLM_CHROMA` names the executable, else `chroma` on PATH, else the one scripts/setup puts
/// in `.venv-chroma`. Without one the tests say so and pass, unless PRELLM_REQUIRE_CHROMA=1
/// (.ci/run sets it).
///
/// One server rather than one per test: `chroma run` takes seconds of CPU to start, and several
/// starting at once beside the rest of the suite on two cores did not answer within a minute.
public struct ChromaServer: Sendable {
    public let url: String
    /// The database this test's contexts go in (in Chroma's default tenant).
    public let database: String

    /// A fresh database on the shared server, or nil (a skip, said) when there is no chroma.
    public static func database() async throws -> ChromaServer? {
        guard let url = try await Launch.shared.value else {
            if ProcessInfo.processInfo.environment["PRELLM_REQUIRE_CHROMA"] == "1" {
                Issue.record("PRELLM_REQUIRE_CHROMA=1 but no chroma executable (PRELLM_CHROMA, or chroma on PATH)")
            } else {
                print("ChromaDB tests skipped: no chroma executable (pip install chromadb; PRELLM_CHROMA=/path/to/chroma)")
            }
            return nil
        }
        let name = "t" + UUID().uuidString.lowercased().filter { $0.isLetter || $0.isNumber }.prefix(16)
        let body = #"{"name":"\#(name)"}"#
        let response = try await HTTPClient.shared.send(
            HTTPRequest(
                method: "POST", url: "\(url)/api/v2/tenants/default_tenant/databases", headers: [("content-type", "application/json")],
                body: Array(body.utf8), timeouts: HTTPTimeouts(connect: .seconds(5), total: .seconds(60))))
        guard (200..<300).contains(response.head.status) else {
            throw ChromaUnavailable(message: "creating a database: status \(response.head.status) \(String(decoding: response.body, as: UTF8.self))")
        }
        return ChromaServer(url: url, database: name)
    }

    /// The one `chroma run` of this process: its URL once it answers, nil when not installed.
    enum Launch {
        static let shared = Task<String?, any Error> { try await start() }
        static let pid = Mutex<pid_t>(0)

        static func start() async throws -> String? {
            guard let bin = executable() else { return nil }
            let port = Int.random(in: 20_000..<40_000)
            let url = "http://127.0.0.1:\(port)"
            let data = FileManager.default.temporaryDirectory.appendingPathComponent("prellm-chroma-\(UUID().uuidString)").path
            let log = data + ".log"
            try spawn(bin, ["run", "--path", data, "--host", "127.0.0.1", "--port", "\(port)"], log: log, data: data)
            let deadline = ContinuousClock.now + .seconds(180)
            while ContinuousClock.now < deadline {
                if await answers(url) { return url }
                try await Task.sleep(for: .milliseconds(250))
            }
            let said = (try? String(contentsOfFile: log, encoding: .utf8))?.suffix(2000) ?? ""
            throw ChromaUnavailable(message: "chroma run did not answer on \(url) within 180 s; its log ends:\n\(said)")
        }

        static func answers(_ url: String) async -> Bool {
            let request = HTTPRequest(
                method: "GET", url: url + "/api/v2/heartbeat", headers: [], body: nil,
                timeouts: HTTPTimeouts(connect: .seconds(2), total: .seconds(5)))
            return (try? await HTTPClient.shared.send(request).head.status) == 200
        }

        /// posix_spawn, its output to a log file: a pipe another test's child inherited would
        /// never close, and Process has been seen to miss the end of such children.
        static func spawn(_ program: String, _ arguments: [String], log: String, data: String) throws {
            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            defer { posix_spawn_file_actions_destroy(&actions) }
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
            SpawnHygiene.closeInherited(&actions)
            let argv = ([program] + arguments).map { strdup($0) } + [nil]
            defer { for a in argv { free(a) } }
            var child = pid_t()
            let spawned = posix_spawn(&child, program, &actions, nil, argv, environ)
            guard spawned == 0 else { throw ChromaUnavailable(message: "cannot run \(program): error \(spawned)") }
            pid.withLock { $0 = child }
            directory.withLock { $0 = data }
            // SIGKILL: `chroma run` outlives a SIGTERM (seen here), and tests must not leave servers behind.
            atexit {
                let child = ChromaServer.Launch.pid.withLock { $0 }
                if child > 0 { kill(child, SIGKILL) }
                if let data = ChromaServer.Launch.directory.withLock({ $0 }) {
                    try? FileManager.default.removeItem(atPath: data)
                    try? FileManager.default.removeItem(atPath: data + ".log")
                }
            }
        }
        static let directory = Mutex<String?>(nil)

        static func executable() -> String? {
            let env = ProcessInfo.processInfo.environment
            if let named = env["PRELLM_CHROMA"], FileManager.default.isExecutableFile(atPath: named) { return named }
            for dir in (env["PATH"] ?? "").split(separator: ":") where FileManager.default.isExecutableFile(atPath: "\(dir)/chroma") {
                return "\(dir)/chroma"
            }
            let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            let local = root.appendingPathComponent(".venv-chroma/bin/chroma").path
            return FileManager.default.isExecutableFile(atPath: local) ? local : nil
        }
    }

    struct ChromaUnavailable: Error { var message: String }
}
