import PrellmRegex
import PrellmSchema

// The payload of each step kind. A kind is: its payload here, its check (WorkflowChecker+Steps),
// its execution (PrellmRuntime's Interpreter+Steps) and its cost (Cost/StepCost).

/// `classify`: one structured call whose answer is `{label, confidence}`.
public struct ClassifyStep: Sendable {
    public var route: ModelRoute
    public var text: CompiledTemplate
    public var instructions: CompiledTemplate?
    public var labels: [String]
    /// The contract and the directive, built when the step first runs or is priced.
    let made: Once<(CompiledContract, String)>

    init(route: ModelRoute, text: CompiledTemplate, instructions: CompiledTemplate?, labels: [String], type: ValueType) {
        self.route = route
        self.text = text
        self.instructions = instructions
        self.labels = labels
        made = Once {
            (CompiledContract(name: "Classification", schema: ClassifyStep.schema(labels), type: type), PromptText.classify(labels: labels))
        }
    }

    /// `{label: enum of the labels, confidence: 0…1}`: what the answer must satisfy.
    public var contract: CompiledContract { made.value.0 }
    /// The directive after the instructions in the system prompt (PromptText.classify).
    public var directive: String { made.value.1 }

    /// The schema a classify answer must satisfy: one of the labels, and a confidence from 0 to 1.
    static func schema(_ labels: [String]) -> JSONValue {
        .object([
            "type": "object", "required": .array(["label", "confidence"]), "additionalProperties": false,
            "properties": .object([
                "label": .object(["enum": .array(labels.map(JSONValue.string))]),
                "confidence": .object(["type": "number", "minimum": .number(0), "maximum": .number(1)]),
            ]),
        ])
    }
}

/// The directive of a structured step that quotes its contract's schema, built on first use.
public final class Directive: Sendable {
    private let text: Once<String>
    init(_ make: @escaping @Sendable () -> String) { text = Once(make) }
    public var value: String { text.value }
}

/// `extract` with `model` and `into`: one structured call whose answer satisfies the contract.
public struct ExtractStep: Sendable {
    public var route: ModelRoute
    public var text: CompiledTemplate
    public var instructions: CompiledTemplate?
    public var contract: CompiledContract
    /// PromptText.extract of the contract's schema.
    public var directive: Directive
}

/// `extract` with `pattern`: a regex over the text, no model.
public struct PatternStep: Sendable {
    /// Compiled (and JIT-compiled) once, with the program.
    public var regex: PCRERegex
    public var text: CompiledTemplate
    public var groups: [String]
}

/// `route`: the first branch whose condition is true, else `otherwise`.
public struct RouteStep: Sendable {
    public struct Branch: Sendable {
        public var condition: Condition
        public var target: Target
    }
    public var branches: [Branch]
    public var otherwise: Target
    /// The target step names in order, the values of the output's `target`.
    public var targetNames: [String]
}

/// `call`: one call; with `output`, a structured call whose answer satisfies the contract.
public struct CallStep: Sendable {
    public var route: ModelRoute
    public var system: CompiledTemplate?
    public var prompt: CompiledTemplate
    public var output: CompiledContract?
    /// With `output`: the directive after the system prompt (PromptText.callOutput).
    public var directive: Directive?
}

/// `validate`: a value against a contract, then assertions; on failure, a re-ask of an earlier step.
public struct ValidateStep: Sendable {
    public struct OnFail: Sendable {
        /// The step re-asked, by position: an earlier step that calls a model.
        public var retry: Int
        public var attempts: Int
    }
    public var value: CompiledTemplate
    public var contract: CompiledContract?
    /// Each assertion sees the value as local slot 0.
    public var asserts: [Condition]
    public var onFail: OnFail?
}

/// `transform`: a template, rendered.
public struct TransformStep: Sendable {
    public var template: CompiledTemplate
}

/// `map`: the sub-step once per item of a list, at most `concurrency` at a time. Inside it the
/// item is local slot 0 and its position slot 1.
public struct MapStep: Sendable {
    public var over: CompiledTemplate
    public var variable: String
    public var concurrency: Int
    /// The most items the map may run over: its `max_items`, else what the list's schema says
    /// (`maxItems`); nil when nothing bounds it. A list past it is refused before any item runs.
    public var maxItems: Int?
    /// True when `maxItems` is the step's own `max_items` (a limit it enforces), not a schema's.
    public var maxItemsDeclared: Bool
    public var step: CompiledStep
}

/// `use`: another workflow's program, with inputs computed here.
public struct UseStep: Sendable {
    public var alias: String
    /// The imported workflow, compiled once with its imports.
    public var program: StepGraph
    /// Each `with:` value, by the position of the input it sets in `program.inputs`. `asText`
    /// when the input is a string and the value may not be: it is passed as its text, as the
    /// checker allows (anything prints).
    public var with: [(input: Int, value: CompiledTemplate, asText: Bool)]
}

/// `recall`: the chunks of a named context nearest in meaning to a query, by one embeddings
/// request for the query (with the context's own model) and a search of the context.
public struct RecallStep: Sendable {
    public static let maxTopK = 50
    /// The most of a chunk's text, and of its source, a recall gives, in Unicode scalars (as JSON
    /// Schema's maxLength counts them). The run cuts whatever a store holds beyond them, so the
    /// output — and the prompts that read it — has a bound the cost bound can rely on.
    public static let maxTextLength = 4000
    public static let maxSourceLength = 300

    public var context: CompiledTemplate
    public var query: CompiledTemplate
    /// The `provider/model` the workflow says the context is embedded with (`embed:`), if it says.
    public var embed: String?
    public var topK: Int
    public var minScore: Double

    /// `{chunks: [{text, source, score}], count}`.
    public static let type = ValueType.object(
        .init(
            fields: [
                (
                    "chunks",
                    .array(
                        .object(.init(fields: [("text", .string), ("source", .string), ("score", .number)], required: ["text", "source", "score"])))
                ),
                ("count", .int),
            ],
            required: ["chunks", "count"]))

    /// What the output can be: at most `topK` chunks, each cut to the lengths above.
    public var schema: JSONValue {
        let chunk: JSONValue = .object([
            "type": "object", "additionalProperties": false, "required": .array(["text", "source", "score"]),
            "properties": .object([
                "text": .object(["type": "string", "maxLength": .number(Double(Self.maxTextLength))]),
                "source": .object(["type": "string", "maxLength": .number(Double(Self.maxSourceLength))]),
                "score": .object(["type": "number", "minimum": .number(-1), "maximum": .number(1)]),
            ]),
        ])
        return .object([
            "type": "object", "additionalProperties": false, "required": .array(["chunks", "count"]),
            "properties": .object([
                "chunks": .object(["type": "array", "maxItems": .number(Double(topK)), "items": chunk]),
                "count": .object(["type": "integer", "minimum": .number(0), "maximum": .number(Double(topK))]),
            ]),
        ])
    }
}

/// `remember`: a text added to a named context — split into chunks, embedded in one request
/// with the context's model, each chunk recording where it came from.
public struct RememberStep: Sendable {
    /// The most chunks one remember adds (a text that splits into more is refused): its
    /// embeddings go in one request, whose cost the bound prices from the text's size.
    public static let maxChunks = 64
    /// The longest context name a run opens (names are ASCII: `prellm context add` takes
    /// letters, digits, `_`, `.` and `-`), which bounds the name in the output.
    public static let maxContextName = 128

    public var context: CompiledTemplate
    public var text: CompiledTemplate
    /// What the chunks record as their source; nil: `workflow NAME, step ID, run TRACE`.
    public var source: CompiledTemplate?
    public var embed: String?

    /// `{context, added}`: the context's name and how many chunks were added.
    public static let type = ValueType.object(.init(fields: [("context", .string), ("added", .int)], required: ["context", "added"]))
}
