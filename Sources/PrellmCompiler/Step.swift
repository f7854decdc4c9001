import PrellmRegex
import PrellmSyntax

/// A Step is one entry of `steps:` as written: its id, its kind with the kind's fields, and
/// the options every step may carry.
public struct Step: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        case classify, extract, route, call, validate, transform, map, use, recall, remember
    }

    public var id: Workflow.Name
    public var kind: Kind
    public var kindSpan: Span
    public var body: Body
    public var options: Options
    public var span: Span
    /// The step's fields did not decode (their errors are reported). It stays in the list, with
    /// no payload and any type, so that the rest of the file is still checked and references
    /// to it or jumps to it raise no further errors.
    public var unreadable = false

    public indirect enum Body: Sendable {
        case classify(model: Workflow.Name?, text: EmbeddedText?, labels: [Workflow.Name], instructions: EmbeddedText?)
        case extractModel(model: Workflow.Name?, text: EmbeddedText?, into: Workflow.Name?, instructions: EmbeddedText?)
        /// The regex is compiled once, by the decoder that checks it (nil when it does not compile).
        case extractPattern(pattern: EmbeddedText, text: EmbeddedText?, regex: PCRERegex?)
        case route(branches: [RouteBranch], otherwise: Workflow.Name?)
        case call(model: Workflow.Name?, system: EmbeddedText?, prompt: EmbeddedText?, output: Workflow.Name?)
        case validate(value: EmbeddedText?, contract: Workflow.Name?, asserts: [EmbeddedText], onFail: OnFail?)
        case transform(template: EmbeddedText)
        case map(over: EmbeddedText?, variable: Workflow.Name, concurrency: Int, maxItems: Int?, step: Step?)
        case use(workflow: Workflow.Name?, with: [(name: Workflow.Name, value: EmbeddedText)])
        case recall(Recall)
        case remember(Remember)
    }

    /// `recall:` as written: which context, what to look for, and how many chunks at most.
    public struct Recall: Sendable {
        public var context: EmbeddedText?
        public var query: EmbeddedText?
        /// The model the context was embedded with, when the workflow names it (`embed:`): the
        /// run checks the context agrees, and the cost bound prices the query's embedding.
        public var embed: Workflow.Name?
        public var topK: Int
        public var minScore: Double
    }

    /// `remember:` as written: which context, the text to add, and where it came from.
    public struct Remember: Sendable {
        public var context: EmbeddedText?
        public var text: EmbeddedText?
        /// What the added chunks record as their source; absent, the workflow, step and run.
        public var source: EmbeddedText?
        public var embed: Workflow.Name?
    }

    /// The keys every step may carry besides its kind.
    public static let optionKeys = ["if", "retry", "timeout", "budget", "cache", "next", "description"]

    public struct RouteBranch: Sendable {
        public var condition: EmbeddedText
        public var target: Workflow.Name
    }

    public struct OnFail: Sendable {
        public var retry: Workflow.Name?
        public var attempts: Int?
        public var span: Span
    }

    public struct Options: Sendable {
        public init() {}
        public var condition: EmbeddedText?
        public var retry: RetryPolicy?
        public var timeout: Duration?
        public var budget: Workflow.Budget?
        public var cache: CachePolicy?
        /// Where to go after this step: another step's id, or `end`.
        public var next: Workflow.Name?
        public var description: String?
    }

    public struct RetryPolicy: Sendable, Hashable {
        /// Retries of a call when a step says nothing (`retry:` absent).
        public static let defaultAttempts = 2
        public var attempts: Int
        public var backoff: Duration
        public var maxBackoff: Duration
        /// The error kinds worth retrying (`on:`); nil means the default transient ones.
        public var on: [String]?
    }

    /// The error kinds `retry: {on: […]}` may name.
    public static let retryableKinds = [
        "rate_limit", "server", "timeout", "connection", "cut_stream", "bad_request",
        "invalid_response", "content_filter", "context_too_long", "not_found", "auth",
    ]

    public struct CachePolicy: Sendable, Hashable {
        public var enabled: Bool
        public var ttl: Duration?
    }

    /// The model alias or `provider/model` this step calls, if any.
    public var model: Workflow.Name? {
        switch body {
        case .classify(let m, _, _, _), .extractModel(let m, _, _, _), .call(let m, _, _, _): m
        case .extractPattern, .route, .validate, .transform, .map, .use, .recall, .remember: nil
        }
    }
}

extension Step {
    /// The embedding model a recall or remember step names, if it names one.
    public var embed: Workflow.Name? {
        switch body {
        case .recall(let r): r.embed
        case .remember(let r): r.embed
        default: nil
        }
    }
}

extension Step.Kind {
    /// The keys under the kind's own key, as the decoder accepts them (a route's are those of
    /// each branch; a transform is a template, with none).
    public var fieldKeys: [String] {
        switch self {
        case .classify: ["model", "text", "labels", "instructions"]
        case .extract: ["model", "text", "into", "instructions", "pattern"]
        case .route: ["if", "then", "else"]
        case .call: ["model", "system", "prompt", "prompt_file", "output"]
        case .validate: ["value", "contract", "assert", "on_fail"]
        case .transform: []
        case .map: ["over", "as", "concurrency", "max_items", "step"]
        case .use: ["workflow", "with"]
        case .recall: ["context", "query", "embed", "top_k", "min_score"]
        case .remember: ["context", "text", "source", "embed"]
        }
    }
}
