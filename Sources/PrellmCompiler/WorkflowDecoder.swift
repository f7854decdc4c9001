import PrellmSchema
import PrellmSyntax

/// The WorkflowDecoder reads the top level of a workflow file into a `Workflow`: version,
/// inputs, models, budget, contracts, imports, steps, output and tests. It checks shape only;
/// names and types are the checker's job.
struct WorkflowDecoder {
    static let topLevelKeys = [
        "prellm", "name", "description", "inputs", "models", "budget", "contracts",
        "imports", "steps", "output", "tests",
    ]
    static let knownProviders = ConfigFile.builtinProviders

    var d: Decoder
    /// Resolves a `$ref` to a file, relative to the workflow: returns the schema or reports why not.
    let loadSchemaFile: (String, Span, inout DiagnosticBag) -> JSONValue?

    init(
        source: Source, providers: [String] = knownProviders, loadSchemaFile: @escaping (String, Span, inout DiagnosticBag) -> JSONValue?
    ) {
        self.d = Decoder(source: source, providers: providers)
        self.loadSchemaFile = loadSchemaFile
    }

    mutating func decode(_ root: YAMLNode) -> Workflow? {
        var w = Workflow(file: d.source.path)
        guard root.mapping != nil else {
            d.bag.add(.notWorkflow, root.span, "a workflow file must be a mapping with 'prellm: 1' at the top, found \(root.kindName)")
            return nil
        }
        guard let f = d.fields(root, "the workflow", allowed: Self.topLevelKeys) else { return nil }
        if let v = f["prellm"] {
            if case .int(let n) = v.resolved, v.scalar != nil {
                if n != 1 {
                    d.bag.add(.unsupportedVersion, v.span, "format version \(n) is not supported; this prellm reads version 1")
                }
            } else {
                d.bag.add(
                    .unsupportedVersion, v.span, "'prellm' must be the format version 1, found \(v.scalar.map { "'\($0.value)'" } ?? v.kindName)")
            }
        } else {
            d.bag.add(
                .notWorkflow, Span(root.span.start), "missing 'prellm: 1' at the top of the file",
                hint: "every workflow starts with the format version: prellm: 1")
        }
        if let v = f["name"] { w.name = d.string(v, "'name'") }
        if let v = f["description"] { w.description = d.string(v, "'description'") }
        if let v = f["inputs"] { w.inputs = decodeInputs(v) }
        if let v = f["models"] { w.models = decodeModels(v) }
        if let v = f["budget"] { w.budget = decodeBudget(v, "'budget'") }
        if let v = f["contracts"] { w.contracts = decodeContracts(v) }
        if let v = f["imports"] { w.imports = decodeImports(v) }
        if let v = f["steps"] {
            if let items = d.list(v, "'steps'") {
                if items.isEmpty { d.bag.add(.emptyList, v.span, "'steps' is empty; a workflow needs at least one step") }
                var steps = StepDecoder(d: d)
                w.steps = items.compactMap { steps.decode($0, nested: false) ?? StepDecoder.unreadable($0, source: d.source) }
                d = steps.d
            }
        } else if !f.suggested.contains("steps") {
            d.bag.add(.missingKey, Span(root.span.start), "the workflow needs 'steps'")
        }
        if let v = f["output"] { w.output = d.valueText(v, "'output'") }
        if let v = f["tests"] { w.tests = decodeTests(v) }
        return w
    }

    mutating func decodeInputs(_ node: YAMLNode) -> [Workflow.Input] {
        d.namedEntries(node, "'inputs' must map input names to schemas", rule: .identifier("input name")).map { name, value in
            var schemaNode = value
            // Shorthand: `query: string` means `query: {type: string}`.
            if let s = schemaNode.scalar, s.style == .plain, SchemaChecker.typeNames.contains(s.value) {
                schemaNode = YAMLNode(
                    content: .mapping([
                        .init(
                            key: YAMLNode(content: .scalar(.init(value: "type", style: .plain, tag: nil)), span: schemaNode.span), value: schemaNode)
                    ]), span: schemaNode.span)
            }
            let before = d.bag.items.count
            let schema = checkSchema(schemaNode)
            if let d0 = schemaNode["default"], d.bag.items.count == before, let problem = JSONSchema(schema).validate(SchemaChecker.json(d0)).first {
                d.bag.add(.typeMismatch, d0.span, "the default of input '\(name.value)' does not match its schema: \(problem.message)")
            }
            return Workflow.Input(
                name: name, schema: schema,
                type: ContractType.of(schema), hasDefault: schema["default"] != nil)
        }
    }

    mutating func checkSchema(_ node: YAMLNode) -> JSONValue {
        var files: [(String, Span)] = []
        var schema = SchemaChecker.check(node, into: &d.bag) { files.append(($0, $1)) }
        for (path, span) in files {
            if let loaded = loadSchemaFile(path, span, &d.bag), case .object(var o) = schema, o["$ref"]?.stringValue == path {
                // A contract that is only a reference takes the referenced schema's place.
                if o.count == 1 { schema = loaded } else { o["$ref"] = nil; o["allOf"] = .array([loaded]); schema = .object(o) }
            }
        }
        return schema
    }

    mutating func decodeContracts(_ node: YAMLNode) -> [Workflow.Contract] {
        d.namedEntries(node, "'contracts' must map contract names to schemas").map { name, value in
            let schema = checkSchema(value)
            return Workflow.Contract(name: name, schema: schema, type: ContractType.of(schema), file: value["$ref"]?.scalar?.value)
        }
    }

    mutating func decodeImports(_ node: YAMLNode) -> [Workflow.Import] {
        d.namedEntries(
            node, "'imports' must map names to workflow files", hint: "imports:\n  triage: ./triage.yaml",
            rule: .identifier("import name")
        ).compactMap { alias, value in
            d.string(value, "an import path").map { Workflow.Import(alias: alias, path: $0, pathSpan: value.span) }
        }
    }

    mutating func decodeBudget(_ node: YAMLNode, _ what: String) -> Workflow.Budget? {
        guard let f = d.fields(node, what, allowed: WorkflowKeys.budget) else { return nil }
        var b = Workflow.Budget()
        if let v = f["max_usd"] { b.maxUSD = d.money(v, "'max_usd'") }
        if let v = f["max_tokens"] { b.maxTokens = d.int(v, "'max_tokens'", min: 1) }
        if let v = f["timeout"] { b.timeout = d.duration(v, "'timeout'") }
        if let v = f["allow_unpriced"] { b.allowUnpriced = d.bool(v, "'allow_unpriced'") ?? false }
        return b
    }

    mutating func decodeModels(_ node: YAMLNode) -> [Workflow.ModelAlias] {
        d.namedEntries(
            node, "'models' must map aliases to models", hint: "models:\n  small: ollama/qwen2.5:3b",
            rule: .modelName("model alias")
        ).compactMap { decodeModel($0, $1) }
    }

    static let modelKeys = ["use", "policy", "temperature", "max_tokens", "top_p", "stop", "timeout", "circuit_breaker", "price"]

    mutating func decodeModel(_ alias: Workflow.Name, _ node: YAMLNode) -> Workflow.ModelAlias? {
        if node.scalar != nil {
            guard let choice = modelChoice(node) else { return nil }
            return .init(name: alias, choices: [choice], policy: .single, parameters: .init())
        }
        guard let f = d.fields(node, "model '\(alias.value)'", allowed: Self.modelKeys, required: ["use"], anchor: alias.span) else { return nil }
        var choices: [Workflow.ModelChoice] = []
        if let use = f["use"] {
            if use.scalar != nil {
                choices = modelChoice(use).map { [$0] } ?? []
            } else if let items = d.list(use, "'use'") {
                if items.isEmpty { d.bag.add(.emptyList, use.span, "'use' lists no models") }
                for item in items {
                    if item.mapping != nil {
                        guard let g = d.fields(item, "a model choice", allowed: ["model", "weight"], required: ["model"]),
                            let m = g["model"], var choice = modelChoice(m)
                        else { continue }
                        if let w = g["weight"] { choice.weight = d.number(w, "'weight'", min: 0) }
                        choices.append(choice)
                    } else if let choice = modelChoice(item) {
                        choices.append(choice)
                    }
                }
            }
        }
        var policy: Workflow.RoutingPolicy = choices.count > 1 ? .fallback : .single
        if let p = f["policy"], let name = d.string(p, "'policy'") {
            let names = Workflow.RoutingPolicy.allCases.filter { $0 != .single }.map(\.rawValue)
            if let parsed = Workflow.RoutingPolicy(rawValue: name), parsed != .single {
                policy = parsed
                if choices.count < 2 {
                    d.bag.add(.badPolicy, p.span, "policy '\(name)' needs a list of at least two models in 'use'")
                }
            } else {
                d.bag.add(
                    .badPolicy, p.span, "unknown routing policy '\(name)'",
                    hint: Spelling.hint(name, in: names) ?? "policies are \(names.joined(separator: ", "))")
            }
        }
        let weighted = choices.filter { $0.weight != nil }
        if policy == .weighted {
            for c in choices where c.weight == nil {
                d.bag.add(
                    .badPolicy, c.span, "every model of a weighted policy needs a 'weight'",
                    hint: "use: [{model: \(c.id), weight: 80}, …]")
            }
            if !weighted.isEmpty, weighted.allSatisfy({ $0.weight == 0 }) {
                d.bag.add(.badPolicy, f.keySpan("policy") ?? alias.span, "the weights of '\(alias.value)' are all zero")
            }
        } else if let c = weighted.first {
            d.bag.add(.badPolicy, c.span, "'weight' only applies with policy: weighted")
        }
        var params = Workflow.ModelParameters()
        if let v = f["temperature"] { params.temperature = d.number(v, "'temperature'", min: 0, max: 2) }
        if let v = f["max_tokens"] { params.maxTokens = d.int(v, "'max_tokens'", min: 1, max: 10_000_000) }
        if let v = f["top_p"] { params.topP = d.number(v, "'top_p'", min: 0, max: 1) }
        if let v = f["stop"] {
            if v.scalar != nil {
                params.stop = d.string(v, "'stop'").map { [$0] }
            } else {
                params.stop = d.list(v, "'stop'")?.compactMap { d.string($0, "a stop sequence") }
            }
        }
        if let v = f["timeout"] { params.timeout = d.duration(v, "'timeout'") }
        if let v = f["circuit_breaker"],
            let g = d.fields(v, "'circuit_breaker'", allowed: ["failures", "cooldown"], required: ["failures", "cooldown"])
        {
            if let failures = g["failures"].flatMap({ d.int($0, "'failures'", min: 1, max: 1000) }),
                let cooldown = g["cooldown"].flatMap({ d.duration($0, "'cooldown'") })
            {
                params.circuitBreaker = .init(failures: failures, cooldown: cooldown)
            }
        }
        if let v = f["price"], let g = d.fields(v, "'price'", allowed: ["input", "output"], required: ["input", "output"]) {
            params.inputPricePerMTok = g["input"].flatMap { d.money($0, "'input' ($ per million tokens)") }
            params.outputPricePerMTok = g["output"].flatMap { d.money($0, "'output' ($ per million tokens)") }
        }
        return .init(name: alias, choices: choices, policy: policy, parameters: params)
    }

    /// `provider/model`, e.g. `openai/gpt-4o-mini`, `openrouter/meta-llama/llama-3.1-8b-instruct`.
    mutating func modelChoice(_ node: YAMLNode) -> Workflow.ModelChoice? {
        guard let text = d.string(node, "a model") else { return nil }
        return Self.parseModel(text, node.span, providers: d.providers, into: &d.bag)
    }

    /// `provider/model` where the provider is one of `providers`, or a diagnostic.
    static func parseModel(
        _ text: String, _ span: Span, providers: [String] = knownProviders, into bag: inout DiagnosticBag
    ) -> Workflow.ModelChoice? {
        guard let slash = text.firstIndex(of: "/") else {
            bag.add(
                .badModelString, span, "'\(text)' is not of the form provider/model",
                hint: "for example openai/gpt-4o-mini or ollama/qwen2.5:3b")
            return nil
        }
        let provider = String(text[..<slash])
        let model = String(text[text.index(after: slash)...])
        guard !provider.isEmpty, !model.isEmpty, !text.contains(where: \.isWhitespace),
            provider.utf8.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 || $0 == 95 })
        else {
            bag.add(
                .badModelString, span, "'\(text)' is not of the form provider/model",
                hint: "the provider is lower-case letters and digits; the model has no spaces")
            return nil
        }
        guard providers.contains(provider) else {
            bag.add(
                .unknownProvider, span, "unknown provider '\(provider)'",
                hint: Spelling.hint(provider, in: providers)
                    ?? "providers are \(providers.joined(separator: ", ")); a config file can name more (providers: {NAME: {format: openai, base_url: …}})"
            )
            return nil
        }
        return .init(provider: provider, model: model, weight: nil, span: span)
    }

    mutating func decodeTests(_ node: YAMLNode) -> [Workflow.TestCase] {
        guard let items = d.list(node, "'tests'") else { return [] }
        return items.compactMap { item -> Workflow.TestCase? in
            guard let f = d.fields(item, "a test", allowed: ["name", "inputs", "mocks", "expect"], required: ["name", "expect"]) else { return nil }
            let expect = f["expect"].map { decodeExpectation($0) } ?? Workflow.Expectation()
            guard let name = f["name"].flatMap({ d.name($0, "a test's 'name'") }) else { return nil }
            var inputs: [(Workflow.Name, JSONValue)] = []
            if let v = f["inputs"] {
                if let pairs = v.mapping {
                    inputs = pairs.map { (.init(value: $0.key.scalar?.value ?? "", span: $0.key.span), SchemaChecker.json($0.value)) }
                } else {
                    d.bag.add(.wrongType, v.span, "a test's 'inputs' must be a mapping, found \(v.kindName)")
                }
            }
            var mocks: [(step: Workflow.Name, value: JSONValue, span: Span)] = []
            if let v = f["mocks"] {
                if let pairs = v.mapping {
                    mocks = pairs.map { (.init(value: $0.key.scalar?.value ?? "", span: $0.key.span), SchemaChecker.json($0.value), $0.value.span) }
                } else {
                    d.bag.add(.wrongType, v.span, "a test's 'mocks' must map step ids to answers, found \(v.kindName)")
                }
            }
            return .init(name: name, inputs: inputs, mocks: mocks, expect: expect)
        }
    }

    mutating func decodeExpectation(_ node: YAMLNode) -> Workflow.Expectation {
        var e = Workflow.Expectation()
        guard
            let g = d.fields(
                node, "a test's 'expect'",
                allowed: [
                    "output", "contains", "matches", "status", "steps", "assert", "schema", "max_cost_usd", "max_tokens", "max_latency", "judge",
                ])
        else { return e }
        if let v = g["output"] { e.output = (SchemaChecker.json(v), v.span) }
        e.contains = g["contains"].flatMap { d.string($0, "'contains'") }
        if let m = g["matches"], let p = d.string(m, "'matches'") {
            SchemaChecker.checkPattern(p, m.span, into: &d.bag)
            e.matches = p
        }
        if let s = g["status"], let st = d.string(s, "'status'") {
            if ["ok", "failed"].contains(st) { e.status = st } else { d.bag.add(.badValue, s.span, "'status' must be ok or failed, found '\(st)'") }
        }
        if let v = g["steps"], let items = d.list(v, "'steps' (the steps that must have run)") {
            e.steps = items.compactMap { d.name($0, "a step id in 'steps'") }
        }
        if let a = g["assert"] {
            e.asserts =
                a.scalar != nil ? d.text(a, "'assert'").map { [$0] } ?? [] : d.list(a, "'assert'")?.compactMap { d.text($0, "an assertion") } ?? []
        }
        e.schema = g["schema"].flatMap { d.name($0, "'schema' (a contract)") }
        e.maxCostUSD = g["max_cost_usd"].flatMap { d.money($0, "'max_cost_usd'") }
        e.maxTokens = g["max_tokens"].flatMap { d.int($0, "'max_tokens'", min: 0) }
        e.maxLatency = g["max_latency"].flatMap { d.duration($0, "'max_latency'") }
        if let j = g["judge"], let f = d.fields(j, "a test's 'judge'", allowed: ["model", "rubric"], required: ["model", "rubric"]),
            let model = f["model"].flatMap({ d.name($0, "the judge's 'model'") }), let rubric = f["rubric"].flatMap({ d.string($0, "'rubric'") })
        {
            e.judge = (model, rubric)
        }
        return e
    }
}
