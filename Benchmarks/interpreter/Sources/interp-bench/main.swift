import Foundation
import PrellmCompiler
import PrellmProviderKit
import PrellmRuntime
import PrellmSchema
import PrellmSyntax

// The interpreter's own overhead: a workflow of STEPS model calls, each prompt a template that
// reads the previous step's answer, against a provider that answers instantly in-process.
// Everything measured is prellm's: planning lookups, template rendering, routing, the budget
// ledger, records, the cache lookup (off here, as in the peer), and building results.
//
//   interp-bench [--steps 10] [--runs 2000] [--concurrent 1000]

var steps = 10, runs = 2000, concurrent = 1000
var it = CommandLine.arguments.dropFirst().makeIterator()
while let a = it.next() {
    switch a {
    case "--steps": steps = Int(it.next() ?? "") ?? steps
    case "--runs": runs = Int(it.next() ?? "") ?? runs
    case "--concurrent": concurrent = Int(it.next() ?? "") ?? concurrent
    default: FileHandle.standardError.write(Data("unknown argument \(a)\n".utf8)); exit(2)
    }
}

struct InstantProvider: ChatProvider {
    let name = "instant"
    func complete(_ request: ChatRequest) async throws(ProviderError) -> ChatResponse {
        ChatResponse(model: request.model, text: "ok", finishReason: .stop, usage: Usage(inputTokens: 12, outputTokens: 1))
    }
    func stream(_ request: ChatRequest) -> AsyncThrowingStream<ChatDelta, any Error> {
        AsyncThrowingStream { c in
            c.yield(.text("ok")); c.yield(.finish(.stop)); c.finish()
        }
    }
}

struct InstantModels: ModelAccess {
    let provider = InstantProvider()
    func provider(for model: String) throws(ProviderError) -> (provider: any ChatProvider, model: String) { (provider, "m") }
    func price(for model: String) -> ModelPrice? { ModelPrice(input: 0.15, output: 0.6) }
    func capabilities(for model: String) -> ModelCapabilities? { ModelCapabilities() }
}

var yaml = "prellm: 1\ninputs:\n  query: string\nsteps:\n"
for i in 0..<steps {
    let prev = i == 0 ? "inputs.query" : "s\(i - 1)"
    yaml += "  - id: s\(i)\n    call: {model: openai/gpt-4o-mini, prompt: \"Step \(i). Previous: {{ \(prev) }}\"}\n"
}
yaml += "output: \"{{ s\(steps - 1) }}\"\n"
let compiled = WorkflowCompiler().compile(source: Source(path: "bench.yaml", text: yaml))
precondition(!compiled.hasErrors, "\(compiled.diagnostics)")
let interpreter = try Interpreter(compiled)
var context = RunContext(models: InstantModels())
context.cache = nil

func rssKB() -> Int {
    guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in s.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
    }
    return 0
}

// Warm up, then sequential runs, off the main actor (top-level code runs on it, and a hop
// per run would be the harness's cost, not the interpreter's).
let ctx = context
let runCount = runs
let elapsed = await Task.detached {
    for _ in 0..<50 { _ = await interpreter.run(inputs: ["query": "hello"], context: ctx) }
    let start = ContinuousClock.now
    for _ in 0..<runCount {
        let r = await interpreter.run(inputs: ["query": "hello"], context: ctx)
        precondition(r.succeeded && r.output == "ok")
    }
    return ContinuousClock.now - start
}.value
let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
let perStep = seconds / Double(runs * steps) * 1e6

// Memory per concurrent run: RSS while `concurrent` runs are in flight at once.
let before = rssKB()
let peak = await withTaskGroup(of: Int.self) { group in
    for _ in 0..<concurrent {
        group.addTask {
            _ = await interpreter.run(inputs: ["query": "hello"], context: context); return rssKB()
        }
    }
    var m = 0
    for await v in group { m = max(m, v) }
    return m
}
print(
    String(
        format: "prellm: steps=%d runs=%d us_per_step=%.2f runs_per_s=%.0f concurrent=%d kb_per_concurrent_run=%.1f",
        steps, runs, perStep, Double(runs) / seconds, concurrent, Double(max(0, peak - before)) / Double(concurrent)))
