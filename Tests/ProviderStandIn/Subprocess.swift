import Foundation
import Synchronization

/// Runs a program to its end for a test without holding a thread of Swift's cooperative pool.
///
/// Reading a child's pipes and waiting for it block the calling thread; on a test task that is
/// one of the pool's few threads (two on a two-core machine), and every other test's tasks
/// wait behind it — a 200 ms timeout in another suite was once seen to fire after 4.9 s. Here
/// the blocking happens on threads of its own, and both pipes are drained at once so a child
/// that writes a lot to one of them never stalls on a full pipe.
public enum Subprocess {
    public struct Finished: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
        /// The child was still running at the timeout and was killed.
        public var timedOut = false
        /// The child was ended by a signal (a crash), not by exiting.
        public var signalled: Bool
    }

    public static func run(
        _ executable: URL, _ arguments: [String], environment: [String: String]? = nil, directory: URL? = nil,
        timeout: Duration? = nil
    ) async throws -> Finished {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Finished, any Error>) in
            Thread {
                let p = Process()
                p.executableURL = executable
                p.arguments = arguments
                if let environment { p.environment = environment }
                if let directory { p.currentDirectoryURL = directory }
                let out = Pipe(), err = Pipe()
                p.standardOutput = out
                p.standardError = err
                do { try p.run() } catch {
                    c.resume(throwing: error)
                    return
                }
                let killed = Atomic(false)
                if let timeout {
                    let pid = p.processIdentifier
                    let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) * 1e-18
                    DispatchQueue.global().asyncAfter(deadline: .now() + seconds) {
                        if kill(pid, 0) == 0, !killed.exchange(true, ordering: .relaxed) { kill(pid, SIGKILL) }
                    }
                }
                let stderr = Drained(err.fileHandleForReading)
                let stdout = out.fileHandleForReading.readDataToEndOfFile()
                p.waitUntilExit()
                // Whatever the timer does from here on, the child has ended on its own.
                let timedOut = killed.exchange(true, ordering: .relaxed)
                c.resume(
                    returning: Finished(
                        status: p.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                        stderr: String(decoding: stderr.wait(), as: UTF8.self), timedOut: timedOut,
                        signalled: p.terminationReason == .uncaughtSignal))
            }.start()
        }
    }

    /// A pipe read to its end on a thread of its own.
    final class Drained: Sendable {
        private let data = Mutex<Data?>(nil)
        private let done = DispatchSemaphore(value: 0)

        init(_ handle: FileHandle) {
            let box = UncheckedHandle(handle)
            Thread { [self] in
                let d = box.handle.readDataToEndOfFile()
                data.withLock { $0 = d }
                done.signal()
            }.start()
        }

        func wait() -> Data {
            done.wait()
            return data.withLock { $0 ?? Data() }
        }
    }

    /// FileHandle is not Sendable; this one is handed to exactly one thread and used only there.
    struct UncheckedHandle: @unchecked Sendable {
        let handle: FileHandle
        init(_ handle: FileHandle) { self.handle = handle }
    }
}

extension Process {
    /// Waits for the process to end without blocking a pool thread (see `Subprocess`).
    public func exited() async {
        while isRunning { try? await Task.sleep(for: .milliseconds(10)) }
    }
}
