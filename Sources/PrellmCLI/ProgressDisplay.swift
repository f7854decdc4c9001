import Foundation
import PrellmRuntime
import Synchronization

/// ProgressDisplay shows a run's steps on stderr. On a terminal, the running step's line has a
/// spinner that turns while it waits and is replaced by the step's final line; elsewhere
/// (pipes, CI logs) every state change is one plain line.
final class ProgressDisplay: Sendable {
    struct State {
        var running: StepProgress?
        var frame = 0
        var paused = false
        /// The streamed answer's last line has no newline yet: a progress line written now
        /// would run on from it where stdout and stderr share a terminal.
        var openLine = false
    }

    static let frames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"]
    let interactive: Bool
    let write: @Sendable (String) -> Void
    private let state = Mutex(State())
    private let ticker = Mutex<Task<Void, Never>?>(nil)

    init(interactive: Bool, write: @escaping @Sendable (String) -> Void) {
        self.interactive = interactive
        self.write = write
        if interactive {
            let task = Task { [weak self] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(100))
                    self?.tick()
                }
            }
            ticker.withLock { $0 = task }
        }
    }

    deinit { ticker.withLock { $0?.cancel() } }

    func stop() {
        ticker.withLock { $0?.cancel() }
        clearLine()
    }

    /// Called when the answer starts streaming to stdout: the spinner line gives way.
    func pause() {
        let wasRunning = state.withLock { s -> Bool in
            defer { s.paused = true }
            return !s.paused && s.running != nil
        }
        if interactive, wasRunning { write("\r\u{1B}[K") }
    }

    /// Called with each piece of streamed answer text.
    func streamed(_ text: String) {
        guard let last = text.last else { return }
        state.withLock { $0.openLine = last != "\n" }
    }

    func update(_ p: StepProgress) {
        guard interactive else {
            let open = state.withLock { s -> Bool in
                defer { s.openLine = false }
                return s.openLine
            }
            return write((open ? "\n" : "") + RunCommand.line(p))
        }
        let paused = state.withLock { s -> Bool in
            s.running = p.state == .running ? p : nil
            return s.paused
        }
        if paused { return }
        if p.state == .running {
            write("\r\u{1B}[K" + Self.frames[0] + " " + RunCommand.line(p).dropFirst(2).trimmingCharacters(in: .newlines))
        } else {
            write("\r\u{1B}[K" + RunCommand.line(p))
        }
    }

    private func tick() {
        let line = state.withLock { s -> String? in
            guard let p = s.running, !s.paused else { return nil }
            s.frame += 1
            return Self.frames[s.frame % Self.frames.count] + " " + RunCommand.line(p).dropFirst(2).trimmingCharacters(in: .newlines)
        }
        if let line { write("\r\u{1B}[K" + line) }
    }

    private func clearLine() {
        let running = state.withLock { $0.running != nil && !$0.paused }
        if interactive, running { write("\r\u{1B}[K") }
    }
}
