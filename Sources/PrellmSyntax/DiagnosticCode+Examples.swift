/// What each code means, with an example: the third column of docs/diagnostics.md, carried
/// into SARIF rules (`fullDescription`). DocumentationTests keeps the two identical.
extension DiagnosticCode {
    public var example: String { Self.examples[rawValue] ?? "" }

    /// Where a code is explained: its section of docs/diagnostics.md, as published (the
    /// anchors are the ones GitHub derives from the section headings).
    public var helpURI: String {
        let group = rawValue.dropFirst(2).prefix(1)
        return Self.docsURI + "#pl\(group)xx--" + (Self.sections[String(group)] ?? "")
    }
    public static let docsURI = "https://github.com/prellm/prellm/blob/main/docs/diagnostics.md"
    static let sections = [
        "0": "reading-the-file", "1": "shape-of-the-file", "2": "names-and-references", "3": "types",
        "4": "control-flow", "5": "models", "6": "contracts", "7": "imports",
    ]

    static let examples: [String: String] = [
        "PL001": "`steps:` followed by a badly indented `- id:`",
        "PL002": "`name:` given twice in one mapping",
        "PL003": "anchors and aliases that expand to more than a million nodes (an \"alias bomb\")",
        "PL004": "more than 128 levels of nested lists or mappings",
        "PL005": "a file over 8 MiB",
        "PL006": "a path that does not exist or is not UTF-8 text",
        "PL007": "no `prellm: 1` at the top",
        "PL008": "`!secret value`",
        "PL009": "a second `---` document in the file",
        "PL101": "`modle:` in a call step (did you mean `model`?)",
        "PL102": "`max_tokens: \"800\"` (a string where a number belongs)",
        "PL103": "a classify step without `labels`",
        "PL104": "`timeout: 5 minutes` (write `5m`)",
        "PL105": "`max_usd: ten dollars`",
        "PL106": "`temperature: 3` (0 to 2)",
        "PL107": "a step with no kind, or with both `call` and `transform`",
        "PL108": "`status: maybe` where `ok` or `failed` is expected; `retry:` or `cache:` on a step that calls no model",
        "PL109": "`extract` with both `pattern` and `model`",
        "PL110": "`steps: []`, or a classify step with one label",
        "PL111": "`{% if x %}` without `{% endif %}`",
        "PL112": "`if: a = b` (write `==`)",
        "PL113": "`pattern: \"(?<pod>\\S+\"` (missing parenthesis)",
        "PL114": "`prellm: 2`",
        "PL201": "`{{ fact.target }}` where the step is `facts`",
        "PL202": "`inputs.qeury`",
        "PL203": "`facts.tagret` where the contract has `target`",
        "PL204": "a step reading a step that runs after it, or on another branch",
        "PL205": "reading a step that has an `if:` guard, without `has()` or `| default()`",
        "PL206": "`{{ x | joinn }}`, `lenght(xs)`",
        "PL207": "`id: get-facts` (use `get_facts`)",
        "PL208": "two steps with `id: draft`",
        "PL209": "`id: inputs`",
        "PL210": "`into: Fact` where the contract is `Facts`",
        "PL211": "`model: smal`",
        "PL212": "an input that no template or expression reads",
        "PL213": "`output: polished` returns the word \"polished\"; write `output: \"{{ polished }}\"`",
        "PL301": "`facts.count > \"3\"`",
        "PL302": "`intent.label == \"deplyo\"` when the labels are deploy, rollback, status",
        "PL303": "`if: inputs.query` (a string, not a boolean)",
        "PL304": "`size(a, b)`, `truncate` without a length",
        "PL305":
            "`validate: {value: \"draft\", contract: Reply}` where Reply is an object; a constant passed to an imported workflow's input that its schema refuses",
        "PL401": "`then: answr`",
        "PL402": "a route without `- else:`, or a branch after it",
        "PL403": "a route or `next:` that jumps back to an earlier step",
        "PL404": "a step that every path jumps past",
        "PL405": "`on_fail: {retry: prep}` where `prep` calls no model",
        "PL406": "`on_fail` without `attempts`",
        "PL407": "a `map` over a list with no `maxItems` and no `max_items:`, in a workflow with `budget:`",
        "PL501": "`model: gpt-4o-mini` (write `openai/gpt-4o-mini`)",
        "PL502": "`antropic/claude-sonnet-4-5`",
        "PL503": "`policy: round-robin` (write `round_robin`); weights without `policy: weighted`",
        "PL504": "`openai/gpt-4o-mnii`",
        "PL505": "`budget: {max_usd: 1}` with `openai/gpt-7` (the runtime would refuse it); give the alias a `price` or set `allow_unpriced: true`",
        "PL506": "`gpt-4o: anthropic/claude-haiku-4-5`: a request for `gpt-4o` gets the alias, not openai/gpt-4o",
        "PL601": "`type: strng`, `minItems: -1`",
        "PL602": "`$ref: schemas/missing.json`",
        "PL603": "a `$ref` file that is not valid JSON or YAML",
        "PL604": "`requried: [...]`",
        "PL605":
            "`{anyOf: [{$ref: '#'}]}`: checking any value would recurse forever (a schema may refer to itself only below `properties`, `items` and other keywords that descend into the value)",
        "PL701": "`imports: {x: ./nope.yaml}`",
        "PL702": "a.yaml imports b.yaml, which imports a.yaml",
        "PL703": "a `use` step that does not give a required input",
        "PL704": "passing a string to an integer input",
        "PL705": "an imported workflow that does not compile",
        "PL706": "`use: {workflow: sumarise}`",
        "PL707": "a chain of more than 16 workflows, each importing the next",
    ]
}
