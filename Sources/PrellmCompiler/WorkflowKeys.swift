/// The keys each part of a workflow file accepts, as the decoders check them: editors complete
/// from the same lists, so a key they offer is never one the compiler refuses.
public enum WorkflowKeys {
    public static var topLevel: [String] { WorkflowDecoder.topLevelKeys }
    public static var model: [String] { WorkflowDecoder.modelKeys }
    public static let budget = ["max_usd", "max_tokens", "timeout", "allow_unpriced"]
    public static let retry = ["attempts", "backoff", "max_backoff", "on"]
    public static let onFail = ["retry", "attempts"]
    public static let cache = ["ttl"]
    /// A step's own keys: its id, one kind, and the options.
    public static var step: [String] { ["id"] + Step.Kind.allCases.map(\.rawValue) + Step.optionKeys }
}
