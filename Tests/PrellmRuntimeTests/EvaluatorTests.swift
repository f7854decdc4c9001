import PrellmCompiler
@testable import PrellmRuntime
import PrellmSchema
import PrellmSyntax
import Testing

/// The evaluator and the renderer run checked trees: each case is a template compiled in a
/// workflow whose earlier steps have the types the expressions read, then evaluated over
/// outputs given by hand.
@Suite struct EvaluatorTests {
    static let prefix = """
        prellm: 1
        inputs:
          query: string
          n: integer
        contracts:
          Facts:
            type: object
            properties:
              target: {type: string}
              missing: {type: array, items: {type: string}}
              count: {type: integer}
              nothing: {type: string}
        steps:
          - id: intent
            classify: {model: openai/m, text: x, labels: [deploy, other]}
          - id: facts
            extract: {model: openai/m, text: x, into: Facts}
          - id: answer
            call: {model: openai/m, prompt: x}
          - id: skipped
            if: inputs.n > 100
            transform: never
          - id: probe
            transform: |-

        """

    let scope = Evaluator.Scope(
        inputs: ["Deploy {{ inputs.secret }} to prod", .number(3)],
        names: ["query", "n"],
        steps: [
            .object(["label": "deploy", "confidence": .number(0.9)]),
            .object(["target": "api", "missing": .array(["region", "version"]), "count": .number(4)]),
            "Done.", nil, nil,
        ])

    /// The probe step's template, `text` at the probe's point of the workflow.
    func compile(_ text: String) throws -> CompiledTemplate {
        let yaml = Self.prefix + text.split(separator: "\n", omittingEmptySubsequences: false).map { "        " + $0 }.joined(separator: "\n") + "\n"
        let result = WorkflowCompiler().compile(source: Source(path: "/tmp/evaluator-test.yaml", text: yaml))
        let errors = result.diagnostics.filter { $0.severity == .error }
        guard errors.isEmpty, let program = result.graph, case .transform(let t) = program.steps[4].payload else {
            throw RunError(.invalidInput, DiagnosticRenderer.text(result.diagnostics, sources: result.sources))
        }
        return t.template
    }

    func eval(_ text: String) throws -> JSONValue { try TemplateRenderer().value(try compile("{{ \(text) }}"), scope) }
    func render(_ text: String) throws -> String { try TemplateRenderer().render(try compile(text), scope) }

    @Test(arguments: [
        ("intent.label == \"deploy\" && facts.count > 3", JSONValue.bool(true)),
        ("facts.missing[0]", "region"),
        ("facts.missing[-1]", "version"),
        ("size(facts.missing) + inputs.n", .number(5)),
        ("\"region\" in facts.missing", .bool(true)),
        ("facts.nothing == null", .bool(true)),
        ("has(facts.nothing)", .bool(false)),
        ("has(skipped)", .bool(false)),
        ("intent.confidence > 0.5 ? 'sure' : 'unsure'", "sure"),
        ("answer.startsWith('Do') && answer.matches('^D[a-z]+\\\\.$')", .bool(true)),
        ("7 / 2", .number(3.5)),
        ("7 % 4", .number(3)),
        ("int('42') + 1", .number(43)),
        ("string(facts.count) + '!'", "4!"),
    ])
    func expressions(_ text: String, _ expected: JSONValue) throws {
        #expect(try eval(text) == expected)
    }

    @Test func runtimeErrorsAreErrors() {
        #expect(throws: Evaluator.EvaluationError.self) { try eval("facts.missing[5]") }
        #expect(throws: Evaluator.EvaluationError.self) { try eval("1 / 0") }
        #expect(throws: Evaluator.EvaluationError.self) { try eval("int(facts.target)") }
    }

    @Test func templates() throws {
        #expect(
            try render("Target: {{ facts.target | upper }}; missing: {{ facts.missing | join(', ') }}") == "Target: API; missing: region, version")
        #expect(try render("{% for m in facts.missing %}- {{ m }}\n{% endfor %}") == "- region\n- version\n")
        #expect(
            try render("{% for m in facts.missing %}{% for c in facts.missing %}{{ m }}{{ c }};{% endfor %}{% endfor %}")
                == "regionregion;regionversion;versionregion;versionversion;")
        #expect(try render("{% if facts.missing %}ask{% else %}go{% endif %}") == "ask")
        #expect(try render("{{ facts }}") == #"{"count":4,"missing":["region","version"],"target":"api"}"#)
        #expect(try render("{{ skipped | default('none') }} {{ facts.count }} {{ intent.confidence }}") == "none 4 0.9")
        #expect(try render("{% raw %}{{ not evaluated }}{% endraw %}") == "{{ not evaluated }}")
        #expect(try render("{{ answer | truncate(2) }}|{{ facts.missing | length }}|{{ '  x ' | trim }}") == "Do…|2|x")
    }

    /// An input that looks like a template stays text: it is data, never evaluated again.
    @Test func substitutedValuesAreNeverEvaluated() throws {
        #expect(try render("Request: {{ inputs.query }}") == "Request: Deploy {{ inputs.secret }} to prod")
    }

    @Test func aReferenceKeepsItsType() throws {
        #expect(try TemplateRenderer().value(try compile("{{ facts.missing }}"), scope) == .array(["region", "version"]))
    }
}

@Suite struct SchemaAlignedParserTests {
    static let schema: JSONValue = try! JSONParser.parse(
        """
        {"type":"object","properties":{"count":{"type":"integer"},"tags":{"type":"array","items":{"type":"string"}},
         "level":{"enum":["low","high"]},"ok":{"type":"boolean"}}}
        """)

    @Test(arguments: [
        (#"{"count": 3}"#, [String]()),
        ("Sure! Here you go:\n```json\n{\"count\": 3}\n```\nAnything else?", ["extracted JSON from a fenced code block"]),
        (#"The answer is {"count": 3} as requested."#, ["extracted the first JSON value from the surrounding text"]),
        ("{count: 3,}", ["repaired JSON syntax: trailing commas, unquoted keys"]),
        ("{'count': 3 /* three */}", ["repaired JSON syntax: comments, single quotes"]),
        ("{\u{201C}count\u{201D}: 3}", ["repaired JSON syntax: smart quotes"]),
    ])
    func findsTheJSON(_ text: String, _ repairs: [String]) throws {
        let r = try #require(SchemaAlignedParser.parse(text))
        #expect(r.value == .object(["count": .number(3)]))
        #expect(r.repairs == repairs)
    }

    @Test func coercesTowardTheSchema() throws {
        let r = try #require(SchemaAlignedParser.parse(#"{"count": "42", "tags": "urgent", "level": "HIGH", "ok": "true"}"#, schema: Self.schema))
        #expect(r.value == .object(["count": .number(42), "tags": .array(["urgent"]), "level": "high", "ok": .bool(true)]))
        #expect(
            Set(r.repairs) == [
                "/count: converted the string \"42\" to a number", "/tags: wrapped a single value in a list",
                "/level: matched \"HIGH\" to enum value \"high\"", "/ok: converted the string \"true\" to a boolean",
            ])
    }

    @Test(arguments: [
        (#"Here's {"a": "}", "b": [1, {"c": 2}]} and {"d": 3}"#, #"{"a": "}", "b": [1, {"c": 2}]}"#),
        ("[ [1] [2", "[1]"),  // the first bracket never closes: the first one that does
        ("{ {\"a\": 1} [2]", #"{"a": 1}"#),
        ("} ] it's [3]", "[3]"),  // closers and quotes before the first bracket are prose
        (String(repeating: "[", count: 100_000), nil),
    ])
    func firstBalancedValue(_ text: String, _ expected: String?) {
        #expect(SchemaAlignedParser.firstBalanced(text) == expected)
    }

    @Test func givesUpOnProse() {
        #expect(SchemaAlignedParser.parse("I cannot help with that.") == nil)
        #expect(SchemaAlignedParser.parse("{\"unterminated\": ") == nil)
    }
}
