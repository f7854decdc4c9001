import Foundation
#if canImport(Glibc)
    import Glibc
#endif
import ProviderStandIn
import Synchronization
import Testing

/// Why the test PostgreSQL server is not there.
struct PostgresUnavailable: Error, Sendable, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// A real PostgreSQL server for the tests: started once per test process on loopback, in a
/// temporary data directory (as the `postgres` user when the tests run as root, which initdb
/// refuses), stopped when the process exits. Each test gets a database of its own.
///
/// Without PostgreSQL installed the tests that need it are skipped, saying what to install;
/// `PRELLM_REQUIRE_POSTGRES=1` (which .ci/run sets) makes that a failure instead.
final class PostgresServer: Sendable {
    let port: Int
    let bin: String
    let directory: String

    static let shared: Result<PostgresServer, PostgresUnavailable> = Result(catching: { () throws(PostgresUnavailable) in try PostgresServer() })

    /// The same, started on a thread of its own: initdb and the server's start take seconds,
    /// and a cooperative-pool thread held that long (one of two on a two-core machine) starves
    /// every other test running beside (a gateway's disconnect went unnoticed for seconds).
    static func available() async throws -> PostgresServer? {
        let result: Result<PostgresServer?, any Error> = await withCheckedContinuation { c in
            Thread { c.resume(returning: Result { try availableNow() }) }.start()
        }
        return try result.get()
    }

    /// The server, or nil with the reason recorded (a skip), or a failure when CI requires it.
    static func availableNow() throws -> PostgresServer? {
        switch shared {
        case .success(let s): return s
        case .failure(let e):
            if ProcessInfo.processInfo.environment["PRELLM_REQUIRE_POSTGRES"] == "1" { throw e }
            return nil
        }
    }

    static let missing = "PostgreSQL is not installed (apt-get install postgresql): the PostgreSQL store tests are skipped"

    private init() throws(PostgresUnavailable) {
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []).compactMap(Int.init).sorted()
        guard let version = versions.last, FileManager.default.isExecutableFile(atPath: "/usr/lib/postgresql/\(version)/bin/initdb") else {
            throw PostgresUnavailable(Self.missing)
        }
        bin = "/usr/lib/postgresql/\(version)/bin"
        guard let probe = try? StandInServer(handler: { _, _ in }) else { throw PostgresUnavailable("no free port") }
        port = probe.port
        probe.stop()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("prellm-pg-\(UUID().uuidString)").path
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw PostgresUnavailable("cannot create \(directory): \(error)")
        }
        if getuid() == 0 { try Self.run("/bin/chown", ["postgres:postgres", directory]) }
        try asOwner("\(bin)/initdb", ["-D", directory + "/data", "-A", "trust", "-U", "prellm", "--no-sync", "-E", "UTF8"])
        try start()
        PostgresServer.stopAtExit(self)
    }

    /// A fresh database, as a store URL.
    func database() throws -> String {
        let name = "t" + UUID().uuidString.lowercased().filter { $0.isLetter || $0.isNumber }.prefix(16)
        try Self.run("\(bin)/psql", ["-h", "127.0.0.1", "-p", "\(port)", "-U", "prellm", "-d", "postgres", "-qc", "CREATE DATABASE \(name)"])
        return "postgres://prellm@127.0.0.1:\(port)/\(name)?sslmode=disable"
    }

    func stop(mode: String = "fast") {
        try? asOwner("\(bin)/pg_ctl", ["-D", directory + "/data", "-m", mode, "-w", "stop"])
    }

    func start() throws(PostgresUnavailable) {
        try asOwner(
            "\(bin)/pg_ctl",
            [
                "-D", directory + "/data", "-l", directory + "/log", "-w", "-t", "30", "-o",
                "-p \(port) -k \(directory) -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", "start",
            ])
    }

    /// Runs a PostgreSQL program as the data directory's owner.
    func asOwner(_ program: String, _ arguments: [String]) throws(PostgresUnavailable) {
        if getuid() == 0 {
            try Self.run("/usr/sbin/runuser", ["-u", "postgres", "--", program] + arguments)
        } else {
            try Self.run(program, arguments)
        }
    }

    /// Runs a program to its end, its output to a file and not a pipe: the server that
    /// `pg_ctl start` leaves running inherits the descriptors, and a pipe would never close.
    /// posix_spawn and waitpid rather than Process, which has been seen not to notice the end
    /// of a child whose own child lives on.
    static func run(_ program: String, _ arguments: [String]) throws(PostgresUnavailable) {
        let errPath = FileManager.default.temporaryDirectory.appendingPathComponent("prellm-pg-out-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: errPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let argv = ([program] + arguments).map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        var pid = pid_t()
        let spawned = posix_spawn(&pid, program, &actions, nil, argv, environ)
        guard spawned == 0 else { throw PostgresUnavailable("cannot run \(program): error \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exited = (status & 0x7f) == 0
        guard exited && (status >> 8) & 0xff == 0 else {
            let message = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
            throw PostgresUnavailable("\(URL(fileURLWithPath: program).lastPathComponent) failed: \(message)")
        }
    }

    private static let toStop = Mutex<PostgresServer?>(nil)

    private static func stopAtExit(_ server: PostgresServer) {
        toStop.withLock { $0 = server }
        atexit {
            guard let server = PostgresServer.toStop.withLock({ $0 }) else { return }
            server.stop(mode: "immediate")
            try? FileManager.default.removeItem(atPath: server.directory)
        }
    }
}
