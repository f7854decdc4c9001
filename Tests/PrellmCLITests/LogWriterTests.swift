import Foundation
import Synchronization
import Testing

@testable import PrellmCLI

/// The gateway's log writer never blocks its caller on a reader that does not read, keeps what
/// fits, and says how much it dropped once the reader catches up.
@Suite struct LogWriterTests {
    @Test func aStalledReaderNeverBlocksTheWriter() throws {
        let received = Mutex<String?>(nil)
        var fds: [Int32] = [0, 0]
        // Close-on-exec: a child another test spawns meanwhile (a server that runs for seconds)
        // would otherwise inherit the write end, and the reader would wait for its EOF.
        #expect(pipe(&fds) == 0)
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        defer { close(fds[0]) }
        let writer = LogWriter(fd: fds[1], limit: 256 * 1024)
        let line = String(repeating: "x", count: 200)
        let started = ContinuousClock.now
        // A pipe holds 64 KiB: a blocking writer would stop in the first few hundred lines.
        for _ in 0..<20_000 { writer.write(line) }
        #expect(ContinuousClock.now - started < .seconds(5))
        // The reader wakes up: it gets whole lines, and the count of those dropped.
        let readEnd = fds[0]
        let reader = Thread {
            let handle = FileHandle(fileDescriptor: readEnd, closeOnDealloc: false)
            var text = ""
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                text += String(decoding: chunk, as: UTF8.self)
            }
            received.withLock { $0 = text }
        }
        reader.start()
        writer.flush(timeout: .seconds(20))
        close(fds[1])
        let deadline = ContinuousClock.now + .seconds(20)
        while received.withLock({ $0 == nil }), ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.01) }
        let text = try #require(received.withLock { $0 })
        let lines = text.split(separator: "\n")
        #expect(lines.count > 1000)
        #expect(lines.count < 20_000)
        #expect(lines.allSatisfy { $0 == line[...] || $0.hasPrefix(#"{"level":"warn","message":""#) })
        // Drops are reported as the reader catches up, perhaps in several lines.
        let reports = lines.filter { $0.contains("log lines were dropped") }
        #expect(!reports.isEmpty)
        let dropped = reports.compactMap { Int($0.split(separator: "\"")[7].split(separator: " ")[0]) }.reduce(0, +)
        #expect(dropped + lines.count - reports.count == 20_000)
    }

    @Test func flushWaitsForEveryLine() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("prellm-log-\(UUID().uuidString)").path
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        let handle = try #require(FileHandle(forWritingAtPath: path))
        let writer = LogWriter(fd: handle.fileDescriptor)
        for i in 0..<5000 { writer.write(#"{"n":\#(i)}"#) }
        writer.flush()
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.split(separator: "\n").count == 5000)
        #expect(text.hasSuffix(#"{"n":4999}"# + "\n"))
        try handle.close()
    }
}
