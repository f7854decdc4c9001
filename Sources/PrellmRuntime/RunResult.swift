import PrellmProviderKit
import PrellmSchema

/// A RunResult is what a run produced: the output, each step's record, the usage and cost,
/// and, when it failed, why. `json` is the object `prellm-run --json` prints.
public struct RunResult: Sendable {
    public var output: JSONValue
    public var steps: [StepRecord]
    public var usage: Usage
    /// Nil when some call's price is unknown: an unknown cost is never reported as zero.
    public var costUSD: Double?
    public var traceID: String
    public var error: RunError?
    public var elapsed: Duration

    public var succeeded: Bool { error == nil }

    public var json: JSONValue {
        var o: [String: JSONValue] = [
            "status": .string(succeeded ? "ok" : "failed"),
            "output": output,
            "steps": .array(steps.map(\.json)),
            "usage": .object([
                "input_tokens": .number(Double(usage.inputTokens)), "output_tokens": .number(Double(usage.outputTokens)),
                "total_tokens": .number(Double(usage.totalTokens)),
            ]),
            "cost_usd": costUSD.map(JSONValue.number) ?? .null,
            "trace_id": .string(traceID),
            "latency_ms": .number(Double(elapsed.milliseconds)),
        ]
        if let error {
            o["error"] = .object([
                "kind": .string(error.kind.rawValue), "message": .string(error.message), "step": error.step.map(JSONValue.string) ?? .null,
            ])
        }
        return .object(o)
    }
}

/// One step's record.
public struct StepRecord: Sendable {
    public enum Status: String, Sendable { case ok, skipped, failed, cached }
    public var id: String
    public var kind: String
    public var status: Status
    public var modelUsed: String?
    public var usage: Usage?
    public var costUSD: Double?
    public var latency: Duration
    /// Calls sent for the step, and of them the retries and the fallbacks to another model.
    public var attempts: Int
    public var retries: Int
    public var fallbacks: Int
    /// What the step gave (a classification, the extracted object, the text), so a run shows
    /// how the small model decomposed the request; nil for a skipped or failed step.
    public var output: JSONValue?
    /// Why the step failed, for a failed step.
    public var error: RunError? {
        get { failure?.error }
        set { failure = newValue.map(Failure.init) }
    }
    /// Boxed: a record is copied through every step, and most have no error.
    private var failure: Failure?

    final class Failure: Sendable {
        let error: RunError
        init(_ error: RunError) { self.error = error }
    }

    public init(
        id: String, kind: String, status: Status, modelUsed: String? = nil, usage: Usage? = nil, costUSD: Double? = nil,
        latency: Duration, attempts: Int, retries: Int = 0, fallbacks: Int = 0
    ) {
        self.id = id
        self.kind = kind
        self.status = status
        self.modelUsed = modelUsed
        self.usage = usage
        self.costUSD = costUSD
        self.latency = latency
        self.attempts = attempts
        self.retries = retries
        self.fallbacks = fallbacks
    }

    public var json: JSONValue {
        .object([
            "id": .string(id), "kind": .string(kind), "status": .string(status.rawValue),
            "model_used": modelUsed.map(JSONValue.string) ?? .null,
            "tokens": usage.map { .object(["input": .number(Double($0.inputTokens)), "output": .number(Double($0.outputTokens))]) } ?? .null,
            // A failed step may have paid for calls it does not account here (the run's total has them).
            "cost_usd": costUSD.map(JSONValue.number) ?? (usage == nil && status != .failed ? .number(0) : .null),
            "latency_ms": .number(Double(latency.milliseconds)),
            "attempts": .number(Double(attempts)),
            "retries": .number(Double(retries)),
            "fallbacks": .number(Double(fallbacks)),
            "output": output ?? .null,
            "error": error.map { .object(["kind": .string($0.kind.rawValue), "message": .string($0.message)]) } ?? .null,
        ])
    }
}

/// Why a run failed.
public struct RunError: Error, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case validationFailed = "validation_failed", budgetExceeded = "budget_exceeded", modelsFailed = "models_failed"
        case truncated, evaluation, invalidInput = "invalid_input", cancelled, timeout
        /// A named context could not be used: missing, built with another model, its store unreachable.
        case memory
        /// The run was about to do something its program did not foresee (a call past the bound
        /// it was priced at, say): a bug in prellm, refused rather than run.
        case internalError = "internal"
    }
    public var kind: Kind
    public var message: String
    public var step: String?
    /// For `modelsFailed`: the kind of the last provider error of each model that was tried, so
    /// that a caller (the gateway) can answer a rate limit or a timeout as what it is.
    public var causes: [ProviderError.Kind]
    /// The longest wait a rate-limited upstream asked for, for a host to pass on (`Retry-After`).
    public var retryAfter: Duration?

    public init(_ kind: Kind, _ message: String, step: String? = nil, causes: [ProviderError.Kind] = []) {
        self.kind = kind
        self.message = message
        self.step = step
        self.causes = causes
    }

    public var description: String { (step.map { "step '\($0)': " } ?? "") + message }

    /// The same error, said of a step.
    func at(_ step: String) -> RunError {
        var e = self
        e.step = step
        return e
    }
}

extension Duration {
    public var milliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
}
