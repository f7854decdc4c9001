import Foundation
import PrellmCompiler
import PrellmMemory
import PrellmProviderKit
import PrellmRuntime
import PrellmSchema
import PrellmSyntax
import Synchronization
import Testing

/// The cost bound is an upper bound on every path: hundreds of generated workflows (maps,
/// imports, routes, validate re-asks, recalls and remembers, retries, fallbacks, guards, jumps, budgets) run against a
/// provider whose failures and answers are drawn at random. For every run, what it spent — calls,
/// tokens and dollars — is at most its dry-run bound, a run never goes past its budget, and the
/// runtime never has to refuse a call its program did not foresee.
///
/// The provider keeps to the assumptions the bound states (TokenEstimate): it counts a prompt as
/// at most the estimate, answers in at most `max_tokens` tokens of at most 6 bytes each.
@Suite struct BoundPropertyTests {
    /// 300 by default (about two seconds); PRELLM_BOUND_WORKFLOWS=20000 searches harder.
    static let workflows = ProcessInfo.processInfo.environment["PRELLM_BOUND_WORKFLOWS"].flatMap { Int($0) } ?? 300

    @Test func realSpendNeverExceedsTheBound() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("prellm-bound-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Generator.library.write(to: dir.appendingPathComponent("lib.yaml"), atomically: true, encoding: .utf8)
        var checked = 0, failedRuns = 0, budgeted = 0
        for seed in 1...UInt64(Self.workflows) {
            let random = Seeded(seed)
            var generator = Generator(random: random)
            let yaml = generator.workflow()
            let result = WorkflowCompiler().compile(source: Source(path: dir.appendingPathComponent("w\(seed).yaml").path, text: yaml))
            let errors = result.diagnostics.filter { $0.severity == .error }
            guard let program = result.graph, errors.isEmpty else {
                Issue.record("seed \(seed) does not compile:\n\(DiagnosticRenderer.text(result.diagnostics, sources: result.sources))\n\(yaml)")
                continue
            }
            for run in 0..<2 {
                // The second run's provider is hostile: frequent failures, invalid answers, and
                // every answer at its limits, so that runs come close to their bounds.
                let provider = RandomProvider(random: Seeded(seed &* 31 &+ UInt64(run)), hostile: run == 1)
                let models = RandomModels(provider: provider, prices: Generator.prices)
                var context = RunContext(models: models, clock: ManualClock(), random: { random.unit() })
                context.cache = nil
                if program.usesContexts {
                    context.memory = try await Self.team(at: dir.appendingPathComponent("w\(seed)-\(run).sqlite").path, random: random)
                }
                let inputs = generator.inputs()
                let plan = DryRunPlan(program, inputs: inputs, models: models).bound
                let r = await Interpreter(program).run(inputs: inputs, context: context)
                let what = "seed \(seed) run \(run): \(String(describing: r.error))\n\(yaml)"
                #expect(r.error?.kind != .internalError, "\(what)")
                #expect(r.error?.kind != .invalidInput && r.error?.kind != .evaluation, "\(what)")
                let calls = try #require(plan.maxCalls, "seed \(seed): the plan has no bound on its calls")
                #expect(provider.count <= calls, "\(what)\n\(provider.count) calls, bound \(calls)")
                let tokens = try #require(plan.maxTokens, "seed \(seed): the plan has no bound on its tokens")
                #expect(r.usage.totalTokens <= tokens, "\(what)\n\(r.usage.totalTokens) tokens, bound \(tokens)")
                let cost = try #require(r.costUSD), bound = try #require(plan.maxCostUSD)
                #expect(cost <= bound * (1 + 1e-9) + 1e-15, "\(what)\n$\(cost), bound $\(bound)")
                checkSteps(r, plan, what)
                if let limit = program.budget?.maxUSD {
                    budgeted += 1
                    #expect(cost <= limit + 1e-12, "\(what)\n$\(cost) spent under a budget of $\(limit)")
                }
                if r.error != nil { failedRuns += 1 }
                checked += 1
            }
        }
        #expect(checked == 2 * Self.workflows)
        // The generator must reach the interesting cases, not only clean successes.
        #expect(failedRuns > checked / 20 && failedRuns < checked * 9 / 10, "\(failedRuns) of \(checked) runs failed")
        #expect(budgeted > checked / 4)
    }

    /// The context the generated recall and remember steps reach: chunks of any length up to a
    /// few hundred characters, with random vectors.
    static func team(at path: String, random: Seeded) async throws -> any ContextStore {
        let store = try SQLiteContextStore(path: path)
        let words = ["deploy", "never", "on", "fridays", "use", "argo", "tests", "first", "ünïcode", "🚀"]
        let chunks = (1...20).map { i in
            Chunk(text: (0..<random.int(1...60)).map { _ in random.pick(words) }.joined(separator: " "), source: "team.md", lines: i...i)
        }
        let vectors = chunks.map { _ in (0..<8).map { _ in random.unit() * 2 - 1 } }
        try await store.add(chunks, vectors: vectors, to: "team", model: Generator.embedding)
        return store
    }

    /// Each step's own figures hold too: its calls (a map's items and an import's steps count as
    /// the step's), tokens and cost, added over all its executions, are at most its bound.
    func checkSteps(_ r: RunResult, _ plan: CostBound, _ what: String) {
        var calls: [String: Int] = [:], tokens: [String: Int] = [:], cost: [String: Double] = [:]
        for record in r.steps where record.modelUsed != nil {
            let top = String(record.id.prefix { $0 != "[" && $0 != "." })
            calls[top, default: 0] += record.attempts
            tokens[top, default: 0] += record.usage?.totalTokens ?? 0
            cost[top, default: 0] += record.costUSD ?? 0
        }
        for step in plan.steps {
            if let bound = step.maxCalls {
                #expect(calls[step.id, default: 0] <= bound, "\(what)\nstep \(step.id): \(calls[step.id, default: 0]) calls, bound \(bound)")
            }
            if let bound = step.maxTokens {
                #expect(tokens[step.id, default: 0] <= bound, "\(what)\nstep \(step.id): \(tokens[step.id, default: 0]) tokens, bound \(bound)")
            }
            if let bound = step.maxCostUSD {
                #expect(
                    cost[step.id, default: 0] <= bound * (1 + 1e-9) + 1e-15,
                    "\(what)\nstep \(step.id): $\(cost[step.id, default: 0]), bound $\(bound)")
            }
        }
    }

    /// A workflow drawn at random from the step kinds and options the bound must cover.
    struct Generator {
        let random: Seeded
        var lines: [String] = []
        var steps: [(id: String, kind: String, guarded: Bool)] = []
        /// Steps every later step may read: those before the first jump (a route, a `next:`).
        var readable: [Int] = []
        var jumped = false
        var queryLength = 50

        static let models = ["openai/a", "openai/b", "anthropic/c", "gemini/d", "mistral/e"]
        static let prices: [String: ModelPrice] = [
            "openai/a": ModelPrice(input: 0.15, output: 0.6), "openai/b": ModelPrice(input: 2.5, output: 10),
            "anthropic/c": ModelPrice(input: 1, output: 5), "gemini/d": ModelPrice(input: 0.1, output: 0.4),
            "mistral/e": ModelPrice(input: 0.5, output: 1.5), embedding: ModelPrice(input: 0.02, output: 0),
        ]
        static let embedding = "openai/emb"
        static let library = """
            prellm: 1
            name: lib
            inputs:
              text: {type: string}
              n: {type: integer, minimum: 1}
            models:
              m: {use: [openai/a, gemini/d], max_tokens: 60, price: {input: 0.2, output: 0.8}}
            contracts:
              Short:
                type: object
                required: [summary]
                properties:
                  summary: {type: string, minLength: 3}
            steps:
              - id: kind
                classify: {model: m, text: "{{ inputs.text }}", labels: [x, y]}
              - id: short
                call: {model: m, prompt: "In {{ inputs.n }} words ({{ kind.label }}): {{ inputs.text }}", output: Short}
                retry: 1
            output: "{{ short.summary }}"

            """

        init(random: Seeded) { self.random = random }

        mutating func inputs() -> [String: JSONValue] {
            let words = ["deploy", "the", "api", "to", "prod", "today", "with", "no", "downtime"]
            var q = ""
            while q.utf8.count < random.int(1...queryLength) { q += (q.isEmpty ? "" : " ") + random.pick(words) }
            let items = (0..<random.int(0...4)).map { _ in JSONValue.string(random.pick(words) + " " + random.pick(words)) }
            return ["query": .string(String(q.prefix(queryLength))), "items": .array(items)]
        }

        mutating func workflow() -> String {
            queryLength = random.int(5...200)
            lines = [
                "prellm: 1", "inputs:", "  query: {type: string, maxLength: \(queryLength)}",
                "  items: {type: array, maxItems: 4, items: {type: string, maxLength: 30}}",
            ]
            let budgeted = random.chance(0.5)
            if budgeted { lines.append("budget: {max_usd: \(Double(random.int(1...400)) / 100_000)}") }
            lines += ["imports:", "  lib: lib.yaml", "models:"]
            for m in 0..<3 { lines.append("  m\(m): " + model(priced: budgeted || random.chance(0.5))) }
            lines += [
                "contracts:",
                "  Answer:", "    type: object", "    required: [summary]", "    properties:",
                "      summary: {type: string, minLength: 5}", "      score: {type: number, minimum: 0, maximum: 1}",
                "  Plan:", "    type: object", "    required: [tasks]", "    properties:",
                "      tasks: {type: array, maxItems: 3, items: {type: string}}",
                "steps:",
            ]
            let count = random.int(2...8)
            for i in 0..<count { step(i, of: count) }
            // Without an output the last step must run on every path.
            if let last = steps.last, last.guarded || random.chance(0.7) {
                lines.append("output: \"{{ \(last.id) | default('') }}\"")
            }
            return lines.joined(separator: "\n") + "\n"
        }

        func model(priced: Bool) -> String {
            let n = random.chance(0.5) ? 1 : random.int(2...3)
            var choices: [String] = []
            while choices.count < n {
                let m = random.pick(Self.models)
                if !choices.contains(m) { choices.append(m) }
            }
            let policies = ["fallback", "round_robin", "weighted", "cheapest"]
            let policy = n > 1 ? random.pick(policies) : "single"
            let use =
                policy == "weighted"
                ? "[" + choices.map { "{model: \($0), weight: \(random.int(1...9))}" }.joined(separator: ", ") + "]"
                : n == 1 ? choices[0] : "[" + choices.joined(separator: ", ") + "]"
            var parts = ["use: \(use)", "max_tokens: \(random.int(20...1000))"]
            if n > 1 { parts.append("policy: \(policy)") }
            if priced { parts.append("price: {input: \(Double(random.int(1...300)) / 100), output: \(Double(random.int(1...900)) / 100)}") }
            return "{" + parts.joined(separator: ", ") + "}"
        }

        /// A read of an earlier step that every path to here has (or a fallback when it may not).
        func someRead() -> String {
            guard let k = readable.last.map({ _ in random.pick(readable) }) else { return "{{ inputs.query }}" }
            return "{{ \(steps[k].id) | default('') }}"
        }

        mutating func step(_ i: Int, of count: Int) {
            let id = "s\(i)"
            let m = "m\(random.int(0...2))"
            var body: [String] = []
            var kind = random.pick([
                "classify", "extract", "call", "call_output", "transform", "map", "use", "route", "validate", "validate", "recall", "remember",
            ])
            // Strict reads (no fallback) need a step that ran on every path: readable and unguarded.
            let sure = readable.filter { !steps[$0].guarded }
            let structured = sure.filter { ["extract_answer", "call_output"].contains(steps[$0].kind) }
            let texts = sure.filter { steps[$0].kind == "call" }
            if kind == "validate", structured.isEmpty, texts.isEmpty { kind = random.chance(0.5) ? "call_output" : "call" }
            let classifies = sure.filter { steps[$0].kind == "classify" }
            if kind == "route", classifies.isEmpty || i + 2 >= count { kind = "classify" }
            switch kind {
            case "classify":
                body = ["    classify: {model: \(m), text: \"\(someRead()) {{ inputs.query }}\", labels: [a, b, c]}"]
            case "extract":
                if random.chance(0.5) {
                    kind = "extract_answer"
                    body = ["    extract: {model: \(m), text: \"\(someRead())\", into: Answer}"]
                } else {
                    kind = "extract_plan"
                    body = ["    extract: {model: \(m), text: \"{{ inputs.query }}\", into: Plan}"]
                }
            case "call":
                body =
                    random.chance(0.5)
                    ? ["    call: {model: \(m), prompt: \"Do {{ inputs.query }} given \(someRead())\"}"]
                    : ["    call: {model: \(m), prompt: \"{% for x in inputs.items %}({{ x }}: {{ inputs.query | upper }}){% endfor %}\"}"]
            case "call_output":
                body = ["    call: {model: \(m), prompt: \"\(someRead())\", output: Answer}"]
            case "transform":
                body = ["    transform: \"{% for x in inputs.items %}[{{ x }}]{% endfor %} \(someRead())\""]
            case "recall":
                body = [
                    "    recall: {context: team, query: \"\(someRead()) {{ inputs.query }}\", embed: \(Self.embedding), top_k: \(random.int(1...6)), min_score: -1}"
                ]
            case "remember":
                body = ["    remember: {context: team, text: \"\(someRead())\", embed: \(Self.embedding)}"]
            case "map":
                let plans = sure.filter { steps[$0].kind == "extract_plan" }
                let over = plans.isEmpty || random.chance(0.5) ? "{{ inputs.items }}" : "{{ \(steps[random.pick(plans)].id).tasks }}"
                body = ["    map:", "      over: \"\(over)\"", "      concurrency: \(random.int(1...4))", "      step:"]
                body +=
                    random.chance(0.5)
                    ? ["        call: {model: \(m), prompt: \"{{ item }} of {{ inputs.query }}\"}"]
                    : ["        use: {workflow: lib, with: {text: \"{{ item }}\", n: 2}}"]
            case "use":
                body = ["    use:", "      workflow: lib", "      with: {text: \"\(someRead())\", n: \(random.int(1...9))}"]
            case "route":
                let c = steps[random.pick(classifies)].id
                let a = "s\(random.int(i + 1...count - 1))", b = "s\(random.int(i + 1...count - 1))"
                body = ["    route:", "      - if: \(c).label == \"a\"", "        then: \(a)", "      - else: \(b)"]
            case "validate":
                // Assertions that answers often fail, so that re-ask loops run.
                let attempts = random.int(1...3)
                if !structured.isEmpty, texts.isEmpty || random.chance(0.5) {
                    let k = steps[random.pick(structured)].id
                    body = [
                        "    validate: {value: \"{{ \(k) }}\", contract: Answer, assert: [\"size(value.summary) > 25\"], on_fail: {retry: \(k), attempts: \(attempts)}}"
                    ]
                } else {
                    let k = steps[random.pick(texts)].id
                    body = ["    validate: {value: \"{{ \(k) }}\", assert: [\"size(value) < 40\"], on_fail: {retry: \(k), attempts: \(attempts)}}"]
                }
            default: break
            }
            lines.append("  - id: \(id)")
            // A guard may skip it; not a route's or a validate step's (whose value must have run).
            let guarded = kind != "validate" && kind != "route" && random.chance(0.2)
            if guarded { lines.append("    if: size(inputs.items) > 1") }
            lines += body
            if ["classify", "extract_answer", "extract_plan", "call", "call_output"].contains(kind), random.chance(0.8) {
                lines.append("    retry: \(random.chance(0.6) ? 0 : random.int(1...3))")
            }
            var jumps = kind == "route"
            if kind != "route", kind != "validate", i + 2 < count, random.chance(0.15) {
                lines.append("    next: s\(random.int(i + 2...count - 1))")
                jumps = true
            }
            steps.append((id, kind, guarded))
            // Past the first jump a step may run on some paths only: later steps read only what
            // came before it, which every path to them has passed.
            if jumps { jumped = true } else if !jumped, kind != "validate" { readable.append(i) }
        }
    }

    /// A provider whose every answer is drawn: transient and permanent failures, valid and
    /// invalid structured answers, text of any length up to max_tokens.
    final class RandomProvider: ChatProvider, EmbeddingProvider {
        let name = "random"
        let random: Seeded
        let hostile: Bool
        private let calls = Mutex(0)
        init(random: Seeded, hostile: Bool) {
            self.random = random
            self.hostile = hostile
        }
        var count: Int { calls.withLock { $0 } }

        func complete(_ request: ChatRequest) async throws(ProviderError) -> ChatResponse {
            calls.withLock { $0 += 1 }
            let draw = random.unit()
            if draw < (hostile ? 0.3 : 0.12) {
                throw ProviderError(provider: name, kind: random.chance(0.5) ? .rateLimit : .server, message: "try again")
            }
            if draw < (hostile ? 0.35 : 0.16) { throw ProviderError(provider: name, kind: .badRequest, status: 400, message: "no") }
            let maxTokens = request.maxTokens ?? 0
            let longest = maxTokens * TokenEstimate.bytesPerAnswerToken
            var text: String
            switch request.responseFormat {
            case .jsonSchema(_, let schema):
                let r = random.unit()
                if r < (hostile ? 0.5 : 0.7) {
                    text = SchemaInstance(random: random).value(schema).jsonText
                } else if r < (hostile ? 0.6 : 0.85) {
                    text = #"{"summary": 3, "label": 7}"#
                } else {
                    text = hostile ? String(repeating: "no json ", count: longest / 8) : "I would rather not."
                }
            case .json, .text:
                text =
                    hostile
                    ? String(repeating: "deploy! ", count: longest / 8)
                    : (0..<random.int(0...80)).map { _ in random.pick(["go", "deploy", "ok", "the", "service", "now"]) }.joined(separator: " ")
            }
            var finish = FinishReason.stop
            let most = maxTokens * TokenEstimate.bytesPerAnswerToken
            if text.utf8.count > most {
                text = String(decoding: Array(text.utf8.prefix(most)), as: UTF8.self)
                finish = .length
            }
            let least = (text.utf8.count + TokenEstimate.bytesPerAnswerToken - 1) / TokenEstimate.bytesPerAnswerToken
            let output = hostile ? maxTokens : random.int(min(least, maxTokens)...maxTokens)
            let input = hostile ? TokenEstimate.promptTokens(request) : random.int(0...TokenEstimate.promptTokens(request))
            return ChatResponse(model: request.model, text: text, finishReason: finish, usage: Usage(inputTokens: input, outputTokens: output))
        }

        func stream(_ request: ChatRequest) -> AsyncThrowingStream<ChatDelta, any Error> { AsyncThrowingStream { $0.finish() } }

        /// Vectors of the context's length; a count of tokens up to the estimate (at it, when hostile).
        func embed(_ request: EmbeddingRequest) async throws(ProviderError) -> EmbeddingResponse {
            calls.withLock { $0 += 1 }
            if random.unit() < (hostile ? 0.2 : 0.05) { throw ProviderError(provider: name, kind: .server, message: "try again") }
            let estimate = request.inputs.reduce(0) { $0 + TokenEstimate.promptTokens(bytes: $1.utf8.count, messages: 0) }
            let vectors = request.inputs.map { _ in (0..<8).map { _ in random.unit() * 2 - 1 } }
            return EmbeddingResponse(vectors: vectors, usage: Usage(inputTokens: hostile ? estimate : random.int(0...estimate), outputTokens: 0))
        }
    }

    struct RandomModels: ModelAccess {
        let provider: RandomProvider
        let prices: [String: ModelPrice]
        func provider(for model: String) throws(ProviderError) -> (provider: any ChatProvider, model: String) { (provider, model) }
        func price(for model: String) -> ModelPrice? { prices[model] }
        func capabilities(for model: String) -> ModelCapabilities? { ModelCapabilities(jsonMode: true, structuredOutput: true) }
    }
}
