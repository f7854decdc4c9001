import Dispatch
import Foundation
import Synchronization

/// A LogWriter writes log lines to a file descriptor from a thread of its own, so that a slow
/// reader of the gateway's stderr (a full pipe, a stalled log shipper) never blocks a request:
/// `write` only appends to a buffer. The buffer is bounded; lines past it are dropped and
/// counted, and the count is written as a line of its own once the reader catches up.
public final class LogWriter: Sendable {
    private struct State {
        var pending: [UInt8] = []
        var dropped = 0
        /// The thread is writing a batch (so the buffer is empty but not yet on the descriptor).
        var writing = false
        /// The thread found nothing to write and waits to be woken.
        var idle = true
    }

    private let state = Mutex(State())
    private let wake = DispatchSemaphore(value: 0)
    private let fd: Int32
    /// The most bytes kept for the reader.
    let limit: Int

    public init(fd: Int32 = 2, limit: Int = 8 << 20) {
        self.fd = fd
        self.limit = limit
        let thread = Thread { [self] in self.run() }
        thread.name = "prellm-log"
        thread.start()
    }

    /// Queues `line` (a newline is added); never blocks on the descriptor.
    public func write(_ line: String) {
        let signal = state.withLock { s in
            guard s.pending.count + line.utf8.count < limit else {
                s.dropped += 1
                return false
            }
            s.pending.append(contentsOf: line.utf8)
            s.pending.append(0x0A)
            // Only a waiting thread is woken: one busy writing comes back for the line itself.
            defer { s.idle = false }
            return s.idle
        }
        if signal { wake.signal() }
    }

    /// Waits until every queued line is written, or `timeout` passes (a reader that never
    /// reads must not keep the process from exiting).
    public func flush(timeout: Duration = .seconds(2)) {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if state.withLock({ $0.pending.isEmpty && !$0.writing && $0.dropped == 0 }) { return }
            wake.signal()
            Thread.sleep(forTimeInterval: 0.005)
        }
    }

    private func run() {
        while true {
            wake.wait()
            while let batch = take() {
                writeAll(batch)
                // Lines gather for a moment, so that a busy gateway costs a write every few
                // milliseconds rather than a wake-up and a write per request.
                usleep(2000)
            }
        }
    }

    /// The queued bytes, after a line counting what was dropped; nil when nothing waits.
    private func take() -> [UInt8]? {
        state.withLock { s in
            var batch: [UInt8] = []
            if s.dropped > 0 {
                batch = Array(
                    #"{"level":"warn","message":"\#(s.dropped) log lines were dropped: the log's reader did not keep up"}"#.utf8)
                batch.append(0x0A)
                s.dropped = 0
            }
            batch += s.pending
            s.pending = []
            s.writing = !batch.isEmpty
            if batch.isEmpty { s.idle = true }
            return batch.isEmpty ? nil : batch
        }
    }

    private func writeAll(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = Foundation.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    if errno == EAGAIN {  // a non-blocking descriptor that is full
                        usleep(1000)
                        continue
                    }
                    break  // a closed descriptor: nothing more can be said there
                }
                offset += n
            }
        }
        state.withLock { $0.writing = false }
    }
}
