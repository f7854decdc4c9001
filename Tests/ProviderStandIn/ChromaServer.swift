import Foundation
import Testing

/// A real ChromaDB server on loopback (`chroma run`, from `pip install chromadb`), started by
/// the test: `PRELLM_CHROMA` names the executable, else `chroma` on PATH, else the one
/// scripts/setup puts in `.venv-chroma`. Without one the tests say so and pass, unless
/// PRELLM_REQUIRE_CHROMA=1 (.ci/run sets it).
public final class ChromaServer: @unchecked Sendable {
    let process = Process()
    public let url: String
    let data: URL

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

    /// `ready` says whether the server at a URL answers (the store under test asks it).
    public init?(ready: @Sendable (String) async -> Bool) async throws {
        guard let bin = Self.executable() else {
            if ProcessInfo.processInfo.environment["PRELLM_REQUIRE_CHROMA"] == "1" {
                Issue.record("PRELLM_REQUIRE_CHROMA=1 but no chroma executable (PRELLM_CHROMA, or chroma on PATH)")
            } else {
                print("ChromaDB tests skipped: no chroma executable (pip install chromadb; PRELLM_CHROMA=/path/to/chroma)")
            }
            return nil
        }
        let port = Int.random(in: 20_000..<40_000)
        url = "http://127.0.0.1:\(port)"
        data = FileManager.default.temporaryDirectory.appendingPathComponent("prellm-chroma-\(UUID().uuidString)")
        process.executableURL = URL(fileURLWithPath: bin)
        process.arguments = ["run", "--path", data.path, "--host", "127.0.0.1", "--port", "\(port)"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if await ready(url) { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        stop()
        throw ChromaUnavailable(message: "chroma run did not answer on \(url) within 60 s")
    }

    /// SIGKILL: `chroma run` outlives a SIGTERM (seen here), and a test must not leave servers behind.
    public func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(at: data)
    }

    struct ChromaUnavailable: Error { var message: String }
}
