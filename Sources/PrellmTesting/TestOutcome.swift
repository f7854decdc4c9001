import PrellmSyntax

/// What one test gave: passed, failed (with each expectation that did not hold, expected
/// beside actual), or an error (the test could not run as written: a step with no answer, a
/// workflow that does not compile).
public struct TestOutcome: Sendable {
    public enum Status: String, Sendable { case passed, failed, error }

    /// The name of the outcome that stands for a workflow that does not compile.
    public static let compile = "(compile)"

    public struct Failure: Sendable, Equatable {
        public var what: String
        public var expected: String
        public var actual: String

        public init(what: String, expected: String, actual: String) {
            self.what = what
            self.expected = expected
            self.actual = actual
        }
    }

    public var file: String
    public var test: String
    /// The test's position in its file, for annotations.
    public var span: Span
    /// The models put in place of an alias (`large=openai/gpt-4o`), nil for the workflow's own.
    public var variant: String?
    public var status: Status
    public var failures: [Failure]
    /// Nil when some call's price is unknown.
    public var costUSD: Double?
    public var tokens: Int
    public var latency: Duration

    public init(
        file: String, test: String, span: Span, variant: String?, status: Status, failures: [Failure], costUSD: Double?, tokens: Int,
        latency: Duration
    ) {
        self.file = file
        self.test = test
        self.span = span
        self.variant = variant
        self.status = status
        self.failures = failures
        self.costUSD = costUSD
        self.tokens = tokens
        self.latency = latency
    }
}
