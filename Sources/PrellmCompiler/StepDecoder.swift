import PrellmRegex
import PrellmSyntax

/// The StepDecoder reads one entry of `steps:`: its id, exactly one kind key with that kind's
/// fields, and the common options (`if`, `retry`, `timeout`, `budget`, `cache`, `next`).
struct StepDecoder {
    var d: Decoder

    static let optionKeys = Step.optionKeys
    static let kindKeys = Step.Kind.allCases.map(\.rawValue)
    /// Names a step id may not take: they mean something else in expressions and jumps.
    static let reserved: Set<String> = [
        "inputs", "end", "item", "index", "value", "true", "false", "null", "in",
        "has", "size", "contains", "startsWith", "endsWith", "matches", "int",
        "double", "string", "bool", "steps", "output", "models", "contracts",
    ]

    static func isIdentifier(_ s: String) -> Bool {
        guard let f = s.utf8.first, (f | 0x20) >= 97 && (f | 0x20) <= 122 || f == 95 else { return false }
        return s.utf8.allSatisfy { ($0 | 0x20) >= 97 && ($0 | 0x20) <= 122 || $0 == 95 || ($0 >= 48 && $0 <= 57) }
    }

    /// A stand-in for a top-level step that did not decode, when it has a usable id.
    static func unreadable(_ node: YAMLNode, source: Source) -> Step? {
        guard let idNode = node["id"], let id = idNode.scalar?.value, isIdentifier(id), !reserved.contains(id) else { return nil }
        let empty = EmbeddedText(node: YAMLNode(content: .scalar(.init(value: "", style: .plain, tag: nil)), span: node.span), source: source)
        var step = Step(
            id: .init(value: id, span: idNode.span), kind: .transform, kindSpan: node.span, body: .transform(template: empty),
            options: Step.Options(), span: node.span)
        step.unreadable = true
        return step
    }

    /// Decodes a step; `nested` is true for the sub-step of a `map`, which has no id.
    mutating func decode(_ node: YAMLNode, nested: Bool, parentID: Workflow.Name? = nil) -> Step? {
        guard let pairs = node.mapping else {
            d.bag.add(.wrongType, node.span, "a step must be a mapping with an 'id' and a kind, found \(node.kindName)")
            return nil
        }
        let allowed = (nested ? [] : ["id"]) + Self.kindKeys + Self.optionKeys
        let kinds = pairs.filter { Self.kindKeys.contains($0.key.scalar?.value ?? "") }
        let what = nested ? "the step of a map" : "a step"
        let refused: [String: (message: String, hint: String)] =
            nested
            ? [
                "id": (
                    "the step of a map has no id",
                    "it runs once per item and is named by the map: the map's id holds the list of its results"
                )
            ] : [:]
        guard let f = d.fields(node, what, allowed: allowed, refused: refused) else { return nil }

        var id = parentID ?? Workflow.Name(value: "", span: node.span)
        if !nested {
            if let v = f["id"], let name = d.name(v, "a step id") {
                id = name
                if !Self.isIdentifier(name.value) {
                    d.bag.add(
                        .invalidStepID, v.span, "step id '\(name.value)' is not an identifier",
                        hint: "use letters, digits and underscores, starting with a letter: '\(Self.suggestIdentifier(name.value))'")
                } else if Self.reserved.contains(name.value) {
                    d.bag.add(
                        .reservedStepID, v.span, "'\(name.value)' is a reserved word and cannot be a step id",
                        hint: "pick another name, e.g. '\(name.value)_step'")
                }
            } else if f["id"] == nil {
                d.bag.add(.missingKey, Span(node.span.start), "a step needs an 'id'")
            }
        }
        guard let kindPair = kinds.first else {
            if !f.suggested.isDisjoint(with: Self.kindKeys) { return nil }  // a misspelt kind, reported as such
            d.bag.add(
                .stepKind, id.value.isEmpty ? Span(node.span.start) : id.span,
                "\(id.value.isEmpty ? what : "step '\(id.value)'") has no kind",
                hint: "add one of \(Self.kindKeys.joined(separator: ", "))")
            return nil
        }
        for extra in kinds.dropFirst() where extra.key.scalar?.value != kindPair.key.scalar?.value {
            d.bag.add(
                .stepKind, extra.key.span, "a step has exactly one kind; this one is already '\(kindPair.key.scalar!.value)'",
                hint: "split it into two steps")
        }
        let kind = Step.Kind(rawValue: kindPair.key.scalar!.value)!
        let body = decodeBody(kind, kindPair.value, id: id, keySpan: kindPair.key.span, nested: nested)
        var options = Step.Options()
        decodeOptions(f, into: &options)
        if nested, options.next != nil {
            d.bag.add(.badValue, f.keySpan("next")!, "the step of a map cannot jump; 'next' is not allowed here")
        }
        guard let body else { return nil }
        checkCallOptions(body, f)
        return Step(id: id, kind: kind, kindSpan: kindPair.key.span, body: body, options: options, span: node.span)
    }

    /// `retry` and `cache` govern a step's own model calls; on a step that makes none they would
    /// be silently ignored, so they are errors that say where they belong.
    mutating func checkCallOptions(_ body: Step.Body, _ f: Decoder.Fields) {
        let hint: String
        var why = "and this step makes none itself"
        switch body {
        case .classify, .extractModel, .call: return
        case .recall, .remember:
            why = "and this step's one embeddings request is neither retried nor cached"
            hint = "remove it: a failed request fails the step"
        case .map: hint = "put it on the map's step, whose calls it would govern"
        case .use: hint = "set it on the imported workflow's steps"
        case .extractPattern, .route, .validate, .transform: hint = "remove it"
        }
        for key in ["retry", "cache"] {
            if let span = f.keySpan(key) {
                d.bag.add(.badValue, span, "'\(key)' governs model calls, \(why)", hint: hint)
            }
        }
    }

    static func suggestIdentifier(_ s: String) -> String {
        var out = String(
            s.unicodeScalars.map { c -> Character in
                (c.properties.isAlphabetic && c.isASCII) || ("0"..."9").contains(c) ? Character(c) : "_"
            })
        if let f = out.first, f.isNumber { out = "s_" + out }
        return out.isEmpty ? "step" : out
    }

    mutating func decodeOptions(_ f: Decoder.Fields, into o: inout Step.Options) {
        if let v = f["if"] { o.condition = d.text(v, "'if'") }
        if let v = f["timeout"] { o.timeout = d.duration(v, "'timeout'") }
        if let v = f["description"] { o.description = d.string(v, "'description'") }
        if let v = f["next"] { o.next = d.name(v, "'next'") }
        if let v = f["retry"] {
            if v.scalar != nil {
                if let n = d.int(v, "'retry'", min: 0, max: 20) {
                    o.retry = .init(attempts: n, backoff: .seconds(1), maxBackoff: .seconds(30), on: nil)
                }
            } else if let g = d.fields(v, "'retry'", allowed: WorkflowKeys.retry, required: ["attempts"]) {
                let attempts = g["attempts"].flatMap { d.int($0, "'attempts'", min: 0, max: 20) }
                let backoff = g["backoff"].flatMap { d.duration($0, "'backoff'") } ?? .seconds(1)
                let maxBackoff = g["max_backoff"].flatMap { d.duration($0, "'max_backoff'") } ?? .seconds(30)
                var on: [String]?
                if let list = g["on"].flatMap({ d.list($0, "'on'") }) {
                    on = list.compactMap { item in
                        guard let kind = d.string(item, "an error kind") else { return nil }
                        guard Step.retryableKinds.contains(kind) else {
                            d.bag.add(
                                .badValue, item.span, "unknown error kind '\(kind)'",
                                hint: Spelling.hint(kind, in: Step.retryableKinds) ?? "kinds are \(Step.retryableKinds.joined(separator: ", "))")
                            return nil
                        }
                        return kind
                    }
                }
                if let attempts { o.retry = .init(attempts: attempts, backoff: backoff, maxBackoff: maxBackoff, on: on) }
            }
        }
        if let v = f["budget"] {
            var w = WorkflowDecoder(source: d.source, providers: d.providers) { _, _, _ in nil }
            w.d = d
            o.budget = w.decodeBudget(v, "a step's 'budget'")
            d = w.d
        }
        if let v = f["cache"] {
            if v.scalar != nil {
                if let b = d.bool(v, "'cache'") { o.cache = .init(enabled: b, ttl: nil) }
            } else if let g = d.fields(v, "'cache'", allowed: WorkflowKeys.cache, required: ["ttl"]) {
                o.cache = .init(enabled: true, ttl: g["ttl"].flatMap { d.duration($0, "'ttl'") })
            }
        }
    }

    mutating func decodeBody(_ kind: Step.Kind, _ node: YAMLNode, id: Workflow.Name, keySpan: Span, nested: Bool) -> Step.Body? {
        let what = (kind == .extract ? "an " : "a ") + kind.rawValue + " step"
        switch kind {
        case .classify:
            guard
                let f = d.fields(
                    node, what, allowed: Step.Kind.classify.fieldKeys, required: ["model", "text", "labels"], anchor: keySpan)
            else { return nil }
            var labels: [Workflow.Name] = []
            if let v = f["labels"], let items = d.list(v, "'labels'") {
                labels = items.compactMap { d.name($0, "a label") }
                if labels.count < 2 {
                    d.bag.add(.emptyList, v.span, "a classify step needs at least two labels, found \(labels.count)")
                }
                var seen: [String: Span] = [:]
                for l in labels {
                    if let first = seen[l.value] {
                        d.bag.add(
                            .badValue, l.span, "label '\(l.value)' is listed twice",
                            related: [.init(file: d.source.path, span: first, message: "first listed here")])
                    } else {
                        seen[l.value] = l.span
                    }
                }
            }
            return .classify(
                model: f["model"].flatMap { d.name($0, "'model'") }, text: f["text"].flatMap { d.text($0, "'text'") },
                labels: labels, instructions: f["instructions"].flatMap { d.text($0, "'instructions'") })
        case .extract:
            guard let f = d.fields(node, what, allowed: Step.Kind.extract.fieldKeys, anchor: keySpan) else { return nil }
            if let p = f["pattern"] {
                for k in ["model", "into", "instructions"] where f.has(k) {
                    d.bag.add(
                        .conflictingKeys, f.keySpan(k)!, "an extract step with 'pattern' runs no model; '\(k)' does not apply",
                        hint: "use either pattern (a regex) or model + into (a contract)")
                }
                if !f.has("text") { d.bag.add(.missingKey, keySpan, "\(what) needs 'text'") }
                guard let pattern = d.text(p, "'pattern'") else { return nil }
                var regex: PCRERegex?
                do {
                    let re = try PCRERegex(pattern.value)
                    regex = re
                    if re.groupNames.isEmpty {
                        d.bag.add(
                            .badRegex, p.span, "the pattern has no named groups, so it extracts no fields",
                            hint: "name what you want: (?<pod>\\S+) OOMKilled")
                    }
                } catch {
                    d.bag.add(
                        .badRegex, pattern.span(error.offset..<min(error.offset + 1, pattern.value.utf8.count)),
                        "invalid regular expression: \(error.message)")
                }
                return .extractPattern(pattern: pattern, text: f["text"].flatMap { d.text($0, "'text'") }, regex: regex)
            }
            for k in ["model", "text", "into"] where !f.has(k) {
                d.bag.add(.missingKey, keySpan, "\(what) needs '\(k)'", hint: k == "into" ? "name the contract to extract into" : nil)
            }
            return .extractModel(
                model: f["model"].flatMap { d.name($0, "'model'") }, text: f["text"].flatMap { d.text($0, "'text'") },
                into: f["into"].flatMap { d.name($0, "'into'") }, instructions: f["instructions"].flatMap { d.text($0, "'instructions'") })
        case .route:
            if nested { d.bag.add(.badValue, keySpan, "the step of a map cannot be a route") }
            guard let items = d.list(node, "'route'") else { return nil }
            var branches: [Step.RouteBranch] = []
            var otherwise: Workflow.Name?
            var elseSpan: Span?
            for item in items {
                guard let g = d.fields(item, "a route branch", allowed: Step.Kind.route.fieldKeys) else { continue }
                if let e = g["else"] {
                    if g.has("if") || g.has("then") {
                        d.bag.add(.routeElse, item.span, "an 'else' branch stands alone; it has no 'if' or 'then'")
                    }
                    if let first = elseSpan {
                        d.bag.add(
                            .routeElse, e.span, "a route has one 'else'",
                            related: [.init(file: d.source.path, span: first, message: "first 'else' here")])
                    } else {
                        otherwise = d.name(e, "'else'")
                        elseSpan = e.span
                    }
                    continue
                }
                if let first = elseSpan {
                    d.bag.add(
                        .routeElse, item.span, "this branch comes after 'else' and can never be taken",
                        hint: "move 'else' to the end", related: [.init(file: d.source.path, span: first, message: "'else' is here")])
                }
                if !g.has("if") { d.bag.add(.missingKey, Span(item.span.start), "a route branch needs 'if' (or is the 'else')") }
                if !g.has("then") { d.bag.add(.missingKey, Span(item.span.start), "a route branch needs 'then'") }
                if let c = g["if"].flatMap({ d.text($0, "'if'") }), let t = g["then"].flatMap({ d.name($0, "'then'") }) {
                    branches.append(.init(condition: c, target: t))
                }
            }
            if elseSpan == nil {
                d.bag.add(
                    .routeElse, keySpan, "route '\(id.value)' has no 'else' branch",
                    hint: "add '- else: <step id>' as the last branch, so every input goes somewhere")
            }
            if branches.isEmpty && !items.isEmpty && elseSpan != nil {
                d.bag.add(.emptyList, node.span, "route '\(id.value)' has only an 'else'", severity: .warning)
            }
            return .route(branches: branches, otherwise: otherwise)
        case .call:
            guard let f = d.fields(node, what, allowed: Step.Kind.call.fieldKeys, required: ["model"], anchor: keySpan)
            else { return nil }
            var prompt = f["prompt"].flatMap { d.text($0, "'prompt'") }
            if let pf = f["prompt_file"] {
                if f.has("prompt") {
                    d.bag.add(.conflictingKeys, f.keySpan("prompt_file")!, "give either 'prompt' or 'prompt_file', not both")
                } else if let path = d.string(pf, "'prompt_file'") {
                    prompt = loadPromptFile(path, pf.span)
                }
            } else if !f.has("prompt") {
                d.bag.add(.missingKey, keySpan, "\(what) needs 'prompt' (or 'prompt_file')")
            }
            return .call(
                model: f["model"].flatMap { d.name($0, "'model'") }, system: f["system"].flatMap { d.text($0, "'system'") },
                prompt: prompt, output: f["output"].flatMap { d.name($0, "'output'") })
        case .validate:
            if nested { d.bag.add(.badValue, keySpan, "the step of a map cannot be a validate step") }
            guard let f = d.fields(node, what, allowed: Step.Kind.validate.fieldKeys, required: ["value"], anchor: keySpan) else {
                return nil
            }
            if !f.has("contract") && !f.has("assert") {
                d.bag.add(.missingKey, keySpan, "\(what) needs a 'contract', 'assert' expressions, or both")
            }
            var asserts: [EmbeddedText] = []
            if let a = f["assert"] {
                if a.scalar != nil {
                    asserts = d.text(a, "'assert'").map { [$0] } ?? []
                } else {
                    asserts = d.list(a, "'assert'")?.compactMap { d.text($0, "an assertion") } ?? []
                }
            }
            var onFail: Step.OnFail?
            if let o = f["on_fail"], let g = d.fields(o, "'on_fail'", allowed: WorkflowKeys.onFail, required: ["retry"]) {
                onFail = .init(
                    retry: g["retry"].flatMap { d.name($0, "'retry'") },
                    attempts: g["attempts"].flatMap { d.int($0, "'attempts'", min: 1, max: 10) }, span: o.span)
                if !g.has("attempts") {
                    d.bag.add(
                        .unboundedRetry, f.keySpan("on_fail")!, "'on_fail' needs 'attempts' to bound the retry loop",
                        hint: "attempts: 2 re-asks at most twice")
                }
            }
            return .validate(
                value: f["value"].flatMap { d.valueText($0, "'value'") }, contract: f["contract"].flatMap { d.name($0, "'contract'") },
                asserts: asserts, onFail: onFail)
        case .transform:
            guard let t = d.text(node, "'transform' (a template)") else { return nil }
            return .transform(template: t)
        case .map:
            if nested { d.bag.add(.badValue, keySpan, "a map cannot contain another map directly; use an imported workflow") }
            guard
                let f = d.fields(
                    node, what, allowed: Step.Kind.map.fieldKeys, required: ["over", "step"], anchor: keySpan)
            else { return nil }
            var variable = Workflow.Name(value: "item", span: keySpan)
            if let v = f["as"], let n = d.name(v, "'as'") {
                variable = n
                if !Self.isIdentifier(n.value) { d.bag.add(.invalidStepID, v.span, "'\(n.value)' is not an identifier") }
            }
            let concurrency = f["concurrency"].flatMap { d.int($0, "'concurrency'", min: 1, max: 256) } ?? 4
            // The most items the map runs over: what lets its cost be bounded when the list's schema does not.
            let maxItems = f["max_items"].flatMap { d.int($0, "'max_items'", min: 1, max: 100_000) }
            let sub = f["step"].flatMap { decode($0, nested: true, parentID: id) }
            return .map(
                over: f["over"].flatMap { d.text($0, "'over'") }, variable: variable, concurrency: concurrency,
                maxItems: maxItems, step: sub)
        case .use:
            guard let f = d.fields(node, what, allowed: Step.Kind.use.fieldKeys, required: ["workflow"], anchor: keySpan) else { return nil }
            var with: [(Workflow.Name, EmbeddedText)] = []
            if let w = f["with"] {
                if let pairs = w.mapping {
                    for p in pairs {
                        guard let k = p.key.scalar?.value, let v = d.valueText(p.value, "the value of '\(k)'") else { continue }
                        with.append((.init(value: k, span: p.key.span), v))
                    }
                } else {
                    d.bag.add(.wrongType, w.span, "'with' must map the imported workflow's inputs to values, found \(w.kindName)")
                }
            }
            return .use(workflow: f["workflow"].flatMap { d.name($0, "'workflow'") }, with: with)
        case .recall:
            guard let f = d.fields(node, what, allowed: Step.Kind.recall.fieldKeys, required: ["context", "query"], anchor: keySpan) else {
                return nil
            }
            return .recall(
                Step.Recall(
                    context: f["context"].flatMap { d.text($0, "'context'") }, query: f["query"].flatMap { d.text($0, "'query'") },
                    embed: f["embed"].flatMap { embedModel($0) },
                    topK: f["top_k"].flatMap { d.int($0, "'top_k'", min: 1, max: RecallStep.maxTopK) } ?? 5,
                    minScore: f["min_score"].flatMap { d.number($0, "'min_score'", min: -1, max: 1) } ?? 0))
        case .remember:
            guard let f = d.fields(node, what, allowed: Step.Kind.remember.fieldKeys, required: ["context", "text"], anchor: keySpan) else {
                return nil
            }
            return .remember(
                Step.Remember(
                    context: f["context"].flatMap { d.text($0, "'context'") }, text: f["text"].flatMap { d.text($0, "'text'") },
                    source: f["source"].flatMap { d.text($0, "'source'") }, embed: f["embed"].flatMap { embedModel($0) }))
        }
    }

    /// `embed:` names an embedding model as `provider/model` (aliases under `models:` are chat routes).
    mutating func embedModel(_ node: YAMLNode) -> Workflow.Name? {
        guard let name = d.name(node, "'embed'") else { return nil }
        guard name.value.contains("/") else {
            d.bag.add(
                .badValue, node.span, "'embed' names an embedding model as provider/model, found '\(name.value)'",
                hint: "e.g. embed: openai/text-embedding-3-small")
            return nil
        }
        return name
    }

    /// Reads a prompt file relative to the workflow; diagnostics inside it point into that file.
    mutating func loadPromptFile(_ path: String, _ span: Span) -> EmbeddedText? {
        let resolved = FilePaths.resolve(path, relativeTo: d.source.path)
        guard let text = FilePaths.read(resolved) else {
            d.bag.add(
                .importNotFound, span, "prompt file '\(path)' not found",
                hint: "paths are relative to the workflow file (looked at \(FilePaths.display(resolved)))")
            return nil
        }
        return EmbeddedText(wholeFile: Source(path: FilePaths.display(resolved), text: text))
    }
}
