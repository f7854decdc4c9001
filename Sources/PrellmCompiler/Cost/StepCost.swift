import PrellmProviderKit
import PrellmSchema

/// Figures are what some part of a run can use at most; nil is "no bound known".
struct Figures: Sendable {
    var calls: Int?
    var tokens: Int?
    var usd: Double?

    static let zero = Figures(calls: 0, tokens: 0, usd: 0)

    static func + (a: Figures, b: Figures) -> Figures {
        Figures(calls: add(a.calls, b.calls), tokens: add(a.tokens, b.tokens), usd: both(a.usd, b.usd, +))
    }

    static func * (a: Figures, k: Int?) -> Figures {
        Figures(calls: mul(a.calls, k), tokens: mul(a.tokens, k), usd: both(a.usd, k.map(Double.init), *))
    }

    /// The larger of each figure.
    func either(_ b: Figures) -> Figures {
        Figures(calls: both(calls, b.calls, Swift.max), tokens: both(tokens, b.tokens, Swift.max), usd: both(usd, b.usd, Swift.max))
    }
}

func both(_ a: Double?, _ b: Double?, _ f: (Double, Double) -> Double) -> Double? {
    guard let a, let b else { return nil }
    return f(a, b)
}

/// The model calls one execution of a step makes: its route, each logical call's prompt (a
/// structured step makes a second, carrying its first answer and the errors), and how many
/// attempts each logical call may take (every model of the route, each with its retries).
struct ModelUse {
    struct Call {
        /// The prompt's bytes: system prompt, messages, and the schema the answer is asked to satisfy.
        var bytes: Size
        var messages: Int
    }

    var route: ModelRoute
    var calls: [Call]
    var attemptsPerCall: Int

    /// The figures of `count` executions whose X-dependent prompts add up over elements whose
    /// contents add up to `content` (a map's items); one execution when count is 1.
    func figures(count: Int?, content: Int?, price: (String) -> ModelPrice?) -> (Figures, prompt: Int?) {
        var total = Figures.zero
        var largest: Int? = 0
        for call in calls {
            let bytes = call.bytes.summed(count: count, content: content).max
            let perCall = TokenEstimate.promptTokens(bytes: 0, messages: call.messages)  // the fixed part of one call's estimate
            let prompt = add(bytes.map { $0 / TokenEstimate.bytesPerToken }, mul(count, perCall))
            let output = mul(count, route.maxTokens)
            var usd: Double? = 0
            for model in route.models {
                guard let p = route.price(of: model, lookup: price), let input = prompt, let out = output else { usd = nil; break }
                usd = Swift.max(usd!, p.cost(of: Usage(inputTokens: input, outputTokens: out)))
            }
            total = total + Figures(calls: count, tokens: add(prompt, output), usd: usd)
            largest = both(largest, call.bytes.max.map { TokenEstimate.promptTokens(bytes: $0, messages: call.messages) }, Swift.max)
        }
        return (total * attemptsPerCall, largest)
    }
}

/// The cost of each step kind and what its output can be (docs/running.md, "The bound").
enum StepCost {
    struct Result {
        var figures: Figures
        var output: Extent
        var entry: CostBound.Step
    }

    /// One execution of `step` (for a map, all its items), and the step's output.
    /// `reasked`: the step is an `on_fail` target, so its later calls carry a re-ask turn.
    static func of(_ step: CompiledStep, _ s: ExtentScope, _ context: CostContext, reasked: Bool) -> Result {
        var entry = CostBound.Step(id: step.id, kind: step.kind.rawValue, models: step.route?.models ?? [], steps: [])
        func finish(_ f: Figures, _ output: Extent, prompt: Int? = nil, uses: ModelUse? = nil) -> Result {
            entry.maxCalls = f.calls
            entry.maxTokens = f.tokens
            entry.maxCostUSD = f.usd
            entry.promptTokens = prompt
            entry.outputTokens = uses?.route.maxTokens
            return Result(figures: f, output: output, entry: entry)
        }
        switch step.payload {
        case .classify(let p):
            let use = modelUse(
                step, p.route, system: instructions(p.instructions, p.directive, s), prompt: ExtentAnalysis.textSize(p.text, s),
                contract: p.contract, reasked: reasked)
            let (f, prompt) = use.figures(count: 1, content: nil, price: context.price)
            return finish(f, .of(schema: p.contract.schema), prompt: prompt, uses: use)
        case .extract(let p):
            let use = modelUse(
                step, p.route, system: instructions(p.instructions, p.directive.value, s), prompt: ExtentAnalysis.textSize(p.text, s),
                contract: p.contract, reasked: reasked)
            let (f, prompt) = use.figures(count: 1, content: nil, price: context.price)
            return finish(f, answer(p.route, p.contract), prompt: prompt, uses: use)
        case .call(let p):
            let use = modelUse(
                step, p.route, system: callSystem(p, s), prompt: ExtentAnalysis.textSize(p.prompt, s), contract: p.output,
                reasked: reasked)
            let (f, prompt) = use.figures(count: 1, content: nil, price: context.price)
            let output = p.output.map { answer(p.route, $0) } ?? .string(TokenEstimate.answerBytes(maxTokens: p.route.maxTokens))
            return finish(f, output, prompt: prompt, uses: use)
        case .pattern(let p):
            return finish(.zero, matches(of: ExtentAnalysis.textSize(p.text, s).max, groups: p.groups, pattern: p.regex.pattern))
        case .route(let p):
            let schema: JSONValue = .object([
                "type": "object", "additionalProperties": false,
                "properties": .object(["target": .object(["enum": .array(p.targetNames.map(JSONValue.string))])]),
            ])
            return finish(.zero, .of(schema: schema))
        case .validate(let p):
            var value = ExtentAnalysis.value(p.value, s)
            if let contract = p.contract, !contract.wantsText {
                // A text value is parsed toward the contract: its JSON is at most the text's, grown.
                value = value.either(parsed(contract, fromText: value.text.max))
            }
            return finish(.zero, value)
        case .transform(let p):
            return finish(.zero, .text(ExtentAnalysis.textSize(p.template, s)))
        case .map(let p):
            return map(step, p, s, context, entry)
        case .use(let p):
            var inputs = p.program.inputs.map { input in input.defaultValue.map(Extent.known) ?? .of(schema: input.schema) }
            for (position, value, asText) in p.with {
                let v = ExtentAnalysis.value(value, s).concrete
                inputs[position] = asText ? ExtentAnalysis.text(v) : v
            }
            let inner = p.program.costBound(CostContext(inputs: inputs, price: context.price))
            entry.steps = inner.steps.map { $0.prefixed(step.id + ".") }
            entry.models = Array(Set(inner.steps.flatMap { $0.models })).sorted()
            return finish(Figures(calls: inner.maxCalls, tokens: inner.maxTokens, usd: inner.maxCostUSD), inner.output)
        case .recall(let p):
            entry.models = p.embed.map { [$0] } ?? []
            let f = embedding(bytes: ExtentAnalysis.textSize(p.query, s).max, inputs: 1, model: p.embed, context, &entry)
            return finish(f, .of(schema: p.schema), prompt: f.tokens)
        case .remember(let p):
            entry.models = p.embed.map { [$0] } ?? []
            let f = embedding(bytes: ExtentAnalysis.textSize(p.text, s).max, inputs: RememberStep.maxChunks, model: p.embed, context, &entry)
            let output: JSONValue = .object([
                "type": "object", "additionalProperties": false,
                "properties": .object([
                    "context": .object(["type": "string", "maxLength": .number(Double(RememberStep.maxContextName))]),
                    "added": .object(["type": "integer"]),
                ]),
            ])
            return finish(f, .of(schema: output), prompt: f.tokens)
        }
    }

    /// The one embeddings request of a recall or remember step: its inputs' bytes (at most
    /// `bytes`, split into at most `inputs` texts) as tokens, priced at the `embed:` model. The
    /// model a context was built with is only known at run time when the step does not name
    /// it: the cost is then unknown (a USD budget still caps it, as the ledger holds every call
    /// to the budget, and refuses an unpriced one unless it allows them).
    static func embedding(bytes: Int?, inputs: Int, model: String?, _ context: CostContext, _ entry: inout CostBound.Step) -> Figures {
        let tokens = bytes.map { TokenEstimate.promptTokens(bytes: $0, messages: 0) + inputs - 1 }
        var usd: Double?
        if let model, let price = context.price(model), let tokens { usd = price.cost(of: Usage(inputTokens: tokens, outputTokens: 0)) }
        if model == nil {
            entry.note = "one embeddings request with the context's model, priced once it is known: name it with embed: for a bound in dollars"
        } else if bytes == nil {
            entry.note = "nothing bounds the text it embeds: its tokens and cost have no bound"
        }
        return Figures(calls: 1, tokens: tokens, usd: usd)
    }

    /// A map: its sub-step once per item, the item being X (so prompts that read it add up over
    /// the items' total rather than the largest item times their number).
    static func map(_ step: CompiledStep, _ p: MapStep, _ s: ExtentScope, _ context: CostContext, _ entry: CostBound.Step) -> Result {
        var entry = entry
        let list = ExtentAnalysis.value(p.over, s)
        let count = [p.maxItems, list.declaredItems].compactMap { $0 }.min()
        var inner = s
        inner.locals = [list.element.concrete, .number]
        inner.summed = 0
        let sub = of(p.step, inner, context, reasked: false)
        var figures = Figures.zero
        var prompt: Int?
        if let route = p.step.route, let use = modelUse(of: p.step, route, inner) {
            (figures, prompt) = use.figures(count: count, content: list.content.max, price: context.price)
        } else if sub.figures.calls != 0 {
            figures = sub.figures * count  // an imported workflow per item
        }
        if count == nil, figures.calls != 0 { figures = Figures(calls: nil, tokens: nil, usd: nil) }
        entry.maxItems = count
        entry.models = sub.entry.models
        var item = sub.entry
        item.id = step.id + "[]"
        item.promptTokens = prompt ?? sub.entry.promptTokens
        entry.steps = [item]
        if count == nil, figures.calls == nil {
            entry.note = "a map over a list with no bound on its items: add max_items to the map, or maxItems to the list's schema"
        }
        entry.maxCalls = figures.calls
        entry.maxTokens = figures.tokens
        entry.maxCostUSD = figures.usd
        let element = sub.output.concrete
        let content = sub.output.content.summed(count: count, content: list.content.max)
        let json = add(sub.output.json.summed(count: count, content: list.content.max).max, add(count, 2))
        let output = Extent(
            content: content, json: json.map(Size.exactly) ?? .unbounded, overhead: nil,
            shape: .list(element: element, items: count))
        return Result(figures: figures, output: output, entry: entry)
    }

    /// The model use of a map's sub-step, measured with its item as X.
    static func modelUse(of step: CompiledStep, _ route: ModelRoute, _ s: ExtentScope) -> ModelUse? {
        switch step.payload {
        case .classify(let p):
            modelUse(
                step, route, system: instructions(p.instructions, p.directive, s), prompt: ExtentAnalysis.textSize(p.text, s),
                contract: p.contract, reasked: false)
        case .extract(let p):
            modelUse(
                step, route, system: instructions(p.instructions, p.directive.value, s), prompt: ExtentAnalysis.textSize(p.text, s),
                contract: p.contract, reasked: false)
        case .call(let p):
            modelUse(step, route, system: callSystem(p, s), prompt: ExtentAnalysis.textSize(p.prompt, s), contract: p.output, reasked: false)
        case .pattern, .route, .validate, .transform, .map, .use, .recall, .remember: nil
        }
    }

    static func callSystem(_ p: CallStep, _ s: ExtentScope) -> Size? {
        var system = p.system.map { ExtentAnalysis.textSize($0, s) }
        if let directive = p.directive?.value {
            system = (system.map { $0 + .exactly(PromptText.separator.utf8.count) } ?? .zero) + .exactly(directive.utf8.count)
        }
        return system
    }

    /// A structured step's system prompt: its instructions, then its directive.
    static func instructions(_ t: CompiledTemplate?, _ directive: String, _ s: ExtentScope) -> Size {
        (t.map { ExtentAnalysis.textSize($0, s) + .exactly(PromptText.separator.utf8.count) } ?? .zero) + .exactly(directive.utf8.count)
    }

    /// The calls of one model step: the first logical call, and for a structured step the
    /// second, which carries the first answer and its problems; each may also carry a validate
    /// step's re-ask turn (the previous answer and the errors).
    static func modelUse(
        _ step: CompiledStep, _ route: ModelRoute, system: Size?, prompt: Size, contract: CompiledContract?,
        reasked: Bool
    ) -> ModelUse {
        let answer = Size.exactly(TokenEstimate.answerBytes(maxTokens: route.maxTokens))
        let reask = answer + .exactly(PromptText.maxReaskBytes)
        var bytes = (system ?? .zero) + prompt
        var messages = 1 + (system == nil ? 0 : 1)
        if let contract { bytes = bytes + .exactly(contract.name.utf8.count + contract.schemaText.utf8.count) }
        if reasked {
            bytes = bytes + reask
            messages += 2
        }
        var calls = [ModelUse.Call(bytes: bytes, messages: messages)]
        if contract != nil {
            // Each further attempt carries every earlier answer and its problems.
            for _ in 1..<PromptText.structuredAttempts {
                bytes = bytes + reask
                messages += 2
                calls.append(.init(bytes: bytes, messages: messages))
            }
        }
        let retries = step.retry?.attempts ?? Step.RetryPolicy.defaultAttempts
        return ModelUse(route: route, calls: calls, attemptsPerCall: route.choices.count * (1 + retries))
    }

    /// A structured answer: what its contract allows, and at most the answer's bytes, grown by
    /// re-encoding (schema-aligned parsing may add quotes, or wrap a value in a list).
    static func answer(_ route: ModelRoute, _ contract: CompiledContract) -> Extent {
        parsed(contract, fromText: TokenEstimate.answerBytes(maxTokens: route.maxTokens))
    }

    static func parsed(_ contract: CompiledContract, fromText bytes: Int?) -> Extent {
        let schema = Extent.of(schema: contract.schema)
        guard let bytes, let limit = add(mul(bytes, Extent.growth), 64) else { return schema }
        return schema.limited(toJSON: limit)
    }

    /// The output of a pattern extract over a text of at most `t` bytes: matches are disjoint
    /// substrings, so their contents add up to at most the text's, and so do a group's — unless
    /// the pattern can capture outside its match (a lookaround, `\K`), when each of a group's
    /// captures may be the whole text; there are at most t + 1 matches.
    static func matches(of t: Int?, groups: [String], pattern: String) -> Extent {
        guard let t else { return .unknown }
        let count = add(t, 1)
        let escapes = ["(?=", "(?!", "(?<=", "(?<!", "\\K", "(*"].contains { pattern.contains($0) }
        let group = escapes ? mul(count, t) : t
        let content = add(t, mul(groups.count, group))
        let perMatch = 2 + 12 + groups.reduce(0) { $0 + $1.utf8.count + 6 } + 1
        let piece = Extent.string(t)
        var fields = ["match": piece]
        for g in groups { fields[g] = piece }
        let elementContent = mul(1 + groups.count, t)
        let element = Extent(
            content: elementContent.map(Size.exactly) ?? .unbounded,
            json: add(mul(Extent.growth, elementContent), perMatch).map(Size.exactly) ?? .unbounded,
            overhead: perMatch, shape: .object(fields: fields, other: nil))
        let listJSON = add(add(mul(count, perMatch), mul(Extent.growth, content)), 2)
        let list = Extent(
            content: content.map(Size.exactly) ?? .unbounded, json: listJSON.map(Size.exactly) ?? .unbounded, overhead: nil,
            shape: .list(element: element, items: count))
        return Extent(
            content: add(content, 24).map(Size.exactly) ?? .unbounded, json: add(listJSON, 40).map(Size.exactly) ?? .unbounded,
            overhead: nil, shape: .object(fields: ["matches": list, "count": .number], other: nil))
    }
}

extension Extent {
    /// The most elements its shape says a list has (a schema's maxItems, a known value, a
    /// literal), not counting what its size alone would allow.
    var declaredItems: Int? {
        if case .list(_, let n) = shape { return n }
        return nil
    }
}
