/// What a command printed and how it exited. Commands build one instead of writing to the
/// process's streams, so tests call them directly, without spawning a process.
public struct CommandOutput: Sendable {
    public var stdout = ""
    public var stderr = ""
    public var exitCode: Int32 = 0

    public init() {}

    /// Exit codes shared by every prellm command (documented in the README).
    public enum Exit {
        public static let ok: Int32 = 0
        /// Lint found errors, validation found invalid data, or a workflow failed.
        public static let failure: Int32 = 1
        /// Bad arguments, a missing file, or a workflow that does not compile.
        public static let usage: Int32 = 2
    }
}
