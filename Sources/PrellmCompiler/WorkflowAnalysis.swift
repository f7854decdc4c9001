import PrellmSyntax

/// What the checker learned of a workflow, kept for tools that ask about a position rather than
/// run the program (the language server): each step's output type, where each step is read,
/// and what has certainly run at each point. It is kept even when the file has errors, so an
/// editor can still complete and hover in a half-written file.
public struct WorkflowAnalysis: Sendable {
    /// The output type of each step, in `Workflow.steps` order.
    public var stepTypes: [ValueType]
    /// Every read of a step in a template or an expression, in checking order.
    public var reads: [Read]
    /// The workflow's inputs as one object type (`inputs.…`).
    public var inputs: ValueType.ObjectType
    let facts: FlowFacts

    public struct Read: Sendable {
        /// The position of the step read, in `Workflow.steps`.
        public var step: Int
        /// The file the read is written in (a prompt file's own path for its reads).
        public var file: String
        let text: EmbeddedText
        let range: Range<Int>

        /// Where the read is written. Computed when asked: placing an offset of a quoted or
        /// folded scalar in its file costs a pass over the scalar, which a lint never needs.
        public var span: Span { text.span(range) }
    }

    /// The steps that have run on every path to a point, without a guard: what a template there
    /// can read without `has()` or `default`. `step` nil is the end (`output:`, tests).
    public func certainlyRun(before step: Int?) -> [Int] {
        let point = step ?? facts.end
        return (0..<min(point, facts.end)).filter { facts.mustHaveRun($0, before: point) }
    }
}
