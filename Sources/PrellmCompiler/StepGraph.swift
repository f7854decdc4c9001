import PrellmSyntax

/// A StepGraph is the compiled form of a workflow: its steps as typed nodes and the ways
/// control can pass between them. Every node keeps the span of the step it came from.
public struct StepGraph: Sendable {
    public struct Node: Sendable {
        public var id: String
        public var kind: Step.Kind
        public var type: ValueType
        /// The model alias or provider/model the step calls; nil for steps without a model.
        public var model: String?
        /// The resolved provider/model choices behind `model`.
        public var models: [String]
        /// The `if:` guard, when the step may be skipped.
        public var condition: String?
        public var span: Span
    }

    public struct Edge: Sendable, Hashable {
        public enum Kind: String, Sendable { case next, branch, otherwise = "else", skip, retry }
        public var from: String
        /// A step id, or `end`.
        public var to: String
        public var kind: Kind
        public var condition: String?
        /// For retry edges: the maximum number of re-asks.
        public var attempts: Int?
    }

    public var name: String?
    public var file: String
    public var nodes: [Node]
    public var edges: [Edge]
    public var inputs: [(name: String, type: ValueType, required: Bool)]
    public var outputType: ValueType
}
