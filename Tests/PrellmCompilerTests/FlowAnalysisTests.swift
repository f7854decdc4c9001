import PrellmSyntax
import ProviderStandIn
import Testing

@testable import PrellmCompiler

/// FlowAnalysis keeps, for every point of the step graph, what has run on every path and on
/// some path to it. It must keep that in space linear in the step count, and answer exactly
/// as the plain definition (sets intersected and joined over predecessors) does.
@Suite struct FlowAnalysisTests {
    func flow(_ text: String) throws -> FlowAnalysis {
        let result = WorkflowCompiler().compile(source: Source(path: "/tmp/prellm-flow/w.yaml", text: text))
        let workflow = try #require(result.workflow, "\(result.diagnostics)")
        var bag = DiagnosticBag(file: workflow.file)
        let index = Dictionary(workflow.steps.enumerated().map { ($1.id.value, $0) }, uniquingKeysWith: { a, _ in a })
        return FlowAnalysis(steps: workflow.steps, index: index, bag: &bag)
    }

    /// Each step reads the one before it.
    func chain(_ n: Int) -> String {
        var lines = ["prellm: 1", "inputs:", "  q: string", "steps:", "  - id: s0", "    transform: \"{{ inputs.q }}\""]
        for i in 1..<n { lines += ["  - id: s\(i)", "    transform: \"{{ s\(i - 1) }}\""] }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A set per point keeps n²/2 numbers for n chained steps each way (10,000 steps took
    /// 1.6 GB in `prellm lint`); the dominator tree and ranges keep O(n log n).
    @Test func whatItKeepsGrowsLinearlyWithTheSteps() throws {
        let n = 2_000
        let f = try flow(chain(n))
        #expect(f.facts.storedFacts < 20 * n, "\(f.facts.storedFacts) numbers kept for \(n) steps")
        #expect(f.facts.mustHaveRun(0, before: n - 1) && f.facts.mayHaveRun(n - 2, before: n))
        #expect(!f.facts.mayHaveRun(n - 1, before: n - 1))
    }

    /// The plain definition, on the analysis's own edges: `must` is intersected and `may`
    /// joined over the reached predecessors, in list order; unreached steps see every step
    /// before them.
    static func reference(_ f: FlowAnalysis) -> (must: [Set<Int>], may: [Set<Int>]) {
        let n = f.steps.count
        var must = [Set<Int>](repeating: [], count: n + 1)
        var may = [Set<Int>](repeating: [], count: n + 1)
        var reached = [Bool](repeating: false, count: n + 1)
        reached[0] = true
        for i in 0..<n where reached[i] {
            let mustOut = f.steps[i].options.condition != nil ? must[i] : must[i].union([i])
            let mayOut = may[i].union([i])
            for e in f.edges where e.from == i && e.kind != .retry {
                if reached[e.to] {
                    must[e.to].formIntersection(mustOut)
                    may[e.to].formUnion(mayOut)
                } else {
                    (reached[e.to], must[e.to], may[e.to]) = (true, mustOut, mayOut)
                }
            }
        }
        for i in 0..<n where !reached[i] { (must[i], may[i]) = (Set(0..<i), Set(0..<i)) }
        return (must, may)
    }

    /// A random workflow of forward jumps: guarded steps, `next:` past later steps, routes
    /// with branches and an `else`, and steps that nothing reaches.
    static func randomWorkflow(_ rng: inout some RandomNumberGenerator) -> String {
        let n = Int.random(in: 1...14, using: &rng)
        var lines = ["prellm: 1", "inputs:", "  a: boolean", "steps:"]
        func later(_ i: Int) -> String {
            let t = Int.random(in: (i + 1)...n, using: &rng)
            return t == n ? "end" : "s\(t)"
        }
        for i in 0..<n {
            lines.append("  - id: s\(i)")
            if Int.random(in: 0..<3, using: &rng) == 0 { lines.append("    if: inputs.a") }
            if i + 1 < n, Int.random(in: 0..<3, using: &rng) == 0 {
                lines.append("    route:")
                for _ in 0..<Int.random(in: 1...3, using: &rng) { lines += ["      - if: inputs.a", "        then: \(later(i))"] }
                lines.append("      - else: \(later(i))")
            } else {
                lines.append("    transform: x")
                if i + 1 < n, Int.random(in: 0..<3, using: &rng) == 0 { lines.append("    next: \(later(i))") }
            }
        }
        return lines.joined(separator: "\n") + "\noutput: done\n"
    }

    @Test func answersAsThePlainDefinitionDoes() throws {
        var rng = SplitMix64(seed: 20_261_202)
        // The workflows must include the cases that differ: a step that may have been skipped
        // (in `may`, not `must`) and a step that nothing reaches.
        var sawSkipped = false
        var sawUnreached = false
        for _ in 0..<400 {
            let text = Self.randomWorkflow(&rng)
            let f = try flow(text)
            let (must, may) = Self.reference(f)
            sawSkipped = sawSkipped || zip(must, may).contains { $0 != $1 }
            sawUnreached = sawUnreached || f.reached.contains(false)
            for t in 0...f.steps.count {
                for k in 0..<f.steps.count {
                    #expect(f.facts.mustHaveRun(k, before: t) == must[t].contains(k), "must \(k) before \(t) in\n\(text)")
                    #expect(f.facts.mayHaveRun(k, before: t) == may[t].contains(k), "may \(k) before \(t) in\n\(text)")
                }
            }
        }
        #expect(sawSkipped && sawUnreached)
    }
}
