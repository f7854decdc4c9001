import Foundation
import PrellmCompiler
import PrellmSchema
import PrellmSyntax
import Testing

/// Every bound on nesting holds exactly where it says: a file at the limit compiles, one level
/// past it is an error at the position where the limit is crossed — never a crash or a hang.
@Suite struct LimitTests {
    func compile(_ text: String) -> CompileResult {
        WorkflowCompiler().compile(source: Source(path: "/tmp/prellm-limits/w.yaml", text: text))
    }

    func errors(_ r: CompileResult) -> [String] {
        r.diagnostics.filter { $0.severity == .error }.map { "\($0.span.start.line):\($0.span.start.column) \($0.code) \($0.message)" }
    }

    /// An `if:` guard of `terms` comparisons joined by `&&`: 3 levels for the first, one more
    /// for each further term.
    func guardChain(_ terms: Int) -> String {
        let condition = Array(repeating: "inputs.q == 'a'", count: terms).joined(separator: " && ")
        return "prellm: 1\ninputs:\n  q: string\nsteps:\n  - id: a\n    if: \"\(condition)\"\n    transform: hi\noutput: done\n"
    }

    @Test func expressionHeight() {
        #expect(errors(compile(guardChain(ExprParser.maxHeight - 2))).isEmpty)
        let past = compile(guardChain(ExprParser.maxHeight - 1))
        // The term that crossed the limit is the last one: its column in the quoted guard.
        let column = 10 + (ExprParser.maxHeight - 2) * "inputs.q == 'a' && ".count
        #expect(
            errors(past) == [
                "6:\(column) PL112 the expression is more than 128 levels deep here (each operator of a chain adds one)"
            ])
        // Nothing else: the input is read by the text that failed, so no "never read" warning.
        #expect(past.diagnostics.count == 1)
    }

    @Test func aChainOfThousandsOfTermsIsAnErrorNotACrash() {
        let r = compile(guardChain(5_570))
        #expect(r.diagnostics.map(\.code) == [.expressionSyntax])
    }

    /// Every shape of flat chain that builds a deep tree, as the text of a workflow whose tree is
    /// `height` levels deep: operators in `if:` and in templates, `.field` and `['key']` chains.
    static func chains(height: Int) -> [String: String] {
        let head = "prellm: 1\ninputs:\n  a: boolean\n  s: string\n  o: object\nsteps:\n  - id: x\n"
        // `inputs.a` is two levels; each further operand of a chain adds one, as does each `.q`.
        func chain(_ op: String, _ operand: String) -> String {
            Array(repeating: operand, count: height - 1).joined(separator: " \(op) ")
        }
        let path = String(repeating: ".q", count: height - 2)
        let keys = String(repeating: "['q']", count: height - 2)
        return [
            "&& in if": head + "    if: \"\(chain("&&", "inputs.a"))\"\n    transform: hi\noutput: \"{{ x | default('') }}\"\n",
            "|| in if": head + "    if: \"\(chain("||", "inputs.a"))\"\n    transform: hi\noutput: \"{{ x | default('') }}\"\n",
            "&& in a template": head + "    transform: \"{{ \(chain("&&", "inputs.a")) }}\"\n",
            "+ in a template": head + "    transform: \"{{ \(chain("+", "inputs.s")) }}\"\n",
            ".field chain": head + "    transform: \"{{ inputs.o\(path) | default('') }}\"\n",
            "['key'] chain": head + "    transform: \"{{ inputs.o\(keys) | default('') }}\"\n",
        ]
    }

    /// Compiles each text on a thread with a 512 KB stack (a secondary thread's size on
    /// macOS, and far less than a test thread's here): at the limit, the type checker of a
    /// debug build recursed through 12 KB of stack per level, 1.5 MB in all.
    func compileOnASmallStack(_ texts: [String: String]) async -> [String: [String]] {
        // The test waits without holding one of the few threads other tests run on.
        await withCheckedContinuation { done in
            let thread = Thread {
                var results: [String: [String]] = [:]
                for (name, text) in texts { results[name] = errors(compile(text)) }
                done.resume(returning: results)
            }
            thread.stackSize = 512 * 1024
            thread.start()
        }
    }

    @Test func everyChainShapeCompilesAtTheLimitOnASmallStack() async {
        let results = await compileOnASmallStack(Self.chains(height: ExprParser.maxHeight))
        #expect(results.count == 6)
        for (shape, errors) in results { #expect(errors.isEmpty, "\(shape): \(errors)") }
    }

    @Test func everyChainShapeIsAnErrorOnePastTheLimit() {
        for (shape, text) in Self.chains(height: ExprParser.maxHeight + 1) {
            let r = compile(text)
            #expect(
                r.diagnostics.map(\.code) == [.expressionSyntax]
                    && r.diagnostics.first?.message.hasPrefix("the expression is more than 128 levels deep") == true,
                "\(shape): \(errors(r))")
        }
    }

    /// Parentheses nest the parser's own recursion, bounded apart from the tree's height; at
    /// the limit a debug build's parser takes about 1 MB of stack (15 KB per level).
    @Test func parenthesesNesting() {
        func nested(_ depth: Int) -> String {
            let e = String(repeating: "(", count: depth) + "inputs.s" + String(repeating: ")", count: depth)
            return "prellm: 1\ninputs:\n  s: string\nsteps:\n  - id: x\n    transform: \"{{ \(e) }}\"\n"
        }
        // The whole expression is the first level, so 63 parentheses are the most; past them the
        // error is at what the 64th opens (column 20 is the first parenthesis).
        #expect(errors(compile(nested(63))).isEmpty)
        #expect(errors(compile(nested(64))) == ["6:\(20 + 64) PL112 expression nested more than 64 levels deep"])
    }

    func nestedIfs(_ depth: Int) -> String {
        let blocks = String(repeating: "{% if true %}", count: depth) + "x" + String(repeating: "{% endif %}", count: depth)
        return "prellm: 1\nsteps:\n  - id: a\n    transform: \"\(blocks)\"\n"
    }

    @Test func templateBlockDepth() {
        #expect(errors(compile(nestedIfs(64))).isEmpty)
        let column = 17 + 64 * "{% if true %}".count
        #expect(errors(compile(nestedIfs(65))) == ["4:\(column) PL111 blocks nested more than 64 levels deep"])
    }

    /// The root mapping, `inputs`, `q` and the default's list are four levels; each `[` adds one.
    func nestedDefault(_ levels: Int) -> String {
        let value = String(repeating: "[", count: levels - 4) + String(repeating: "]", count: levels - 4)
        return "prellm: 1\ninputs:\n  q: {type: array, default: [\(value)]}\nsteps:\n  - id: a\n    transform: \"{{ inputs.q }}\"\n"
    }

    @Test func yamlNestingDepth() {
        #expect(errors(compile(nestedDefault(128))).isEmpty)
        let column = 29 + 125
        #expect(errors(compile(nestedDefault(129))) == ["3:\(column) PL004 nesting is deeper than 128 levels"])
    }

    @Test func jsonNestingDepth() throws {
        let ok = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        #expect(try JSONParser.parse(ok).arrayValue?.count == 1)
        let past = String(repeating: "[", count: 513) + String(repeating: "]", count: 513)
        #expect(throws: JSONParser.ParseError.self) { try JSONParser.parse(past) }
        do { _ = try JSONParser.parse(past) } catch {
            #expect(error.message == "nesting deeper than 512 levels")
            #expect(error.line == 1 && error.column == 513)
        }
    }

    /// A chain of `length` workflows: w0 imports w1, which imports w2, …
    func importChain(_ length: Int) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("prellm-chain-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for i in 0..<length {
            let body =
                i == length - 1
                ? "prellm: 1\nsteps:\n  - id: a\n    transform: leaf\n"
                : "prellm: 1\nimports:\n  next: w\(i + 1).yaml\nsteps:\n  - id: a\n    use: {workflow: next}\n"
            try body.write(to: dir.appendingPathComponent("w\(i).yaml"), atomically: true, encoding: .utf8)
        }
        return dir.appendingPathComponent("w0.yaml").path
    }

    @Test func importChainDepth() throws {
        let ok = try importChain(WorkflowCompiler.maxImportDepth)
        defer { try? FileManager.default.removeItem(atPath: (ok as NSString).deletingLastPathComponent) }
        #expect(errors(WorkflowCompiler().compile(path: ok)).isEmpty)

        let past = try importChain(WorkflowCompiler.maxImportDepth + 1)
        defer { try? FileManager.default.removeItem(atPath: (past as NSString).deletingLastPathComponent) }
        let r = WorkflowCompiler().compile(path: past)
        #expect(errors(r) == ["3:9 PL705 imported workflow 'w1.yaml' has 1 error"])
        let hint = try #require(r.diagnostics.first?.hint)
        #expect(hint.hasSuffix("w15.yaml:3:9: this import makes a chain of 17 workflows; the limit is 16"), "\(hint)")
    }

    /// Every duration field and `prellm keys --overlap` share one parser: the longest duration
    /// it takes is a century, and anything longer (up to infinity) is refused, not trapped on.
    @Test func durationBound() {
        #expect(DurationSyntax.parse("36500d") == .seconds(36_500 * 86_400))
        #expect(DurationSyntax.parse("36500d1ms") == nil)
        #expect(DurationSyntax.parse("10000000000000000s") == nil)
        #expect(DurationSyntax.parse(String(repeating: "9", count: 400) + "s") == nil)
        let r = compile("prellm: 1\nsteps:\n  - id: a\n    transform: hi\n    timeout: 36500d1ms\n")
        #expect(errors(r) == ["5:14 PL104 'timeout' must be at most 36500d (100 years), found '36500d1ms'"])
    }

    @Test func aReferenceCycleThatReadsNothingIsAnError() {
        let r = compile(
            "prellm: 1\ninputs:\n  q: {anyOf: [{$ref: '#'}, {$ref: '#'}], default: 1}\nsteps:\n  - id: a\n    transform: \"{{ inputs.q }}\"\n")
        #expect(
            errors(r) == ["3:22 PL605 $ref '#' leads back to itself without reading into the value, so checking would never end"])
    }

    @Test func aReferenceCycleThroughPropertiesIsFine() {
        let tree = "{type: object, properties: {kids: {type: array, items: {$ref: '#'}}}, default: {kids: [{kids: []}]}}"
        #expect(errors(compile("prellm: 1\ninputs:\n  q: \(tree)\nsteps:\n  - id: a\n    transform: \"{{ inputs.q }}\"\n")).isEmpty)
    }

    /// No cycle, but each level doubles the work: checking the default stops at the step limit
    /// with a message that says so (about a second), rather than taking 2^24 evaluations.
    /// On a thread of its own: a debug build takes most of a minute to reach the step limit,
    /// and a cooperative-pool thread held that long starves the suites waiting on sockets.
    @Test func checkingADefaultIsBoundedInTime() async {
        var lines = ["prellm: 1", "inputs:", "  q:", "    default: 1", "    $ref: '#/$defs/d0'", "    $defs:"]
        for i in 0..<24 { lines.append("      d\(i): {anyOf: [{$ref: '#/$defs/d\(i + 1)'}, {$ref: '#/$defs/d\(i + 1)'}]}") }
        lines += ["      d24: {type: string}", "steps:", "  - id: a", "    transform: \"{{ inputs.q }}\""]
        let text = lines.joined(separator: "\n") + "\n"
        let found = await withCheckedContinuation { done in
            Thread { done.resume(returning: errors(compile(text))) }.start()
        }
        #expect(
            found == [
                "4:14 PL301 the default of input 'q' does not match its schema: the schema takes too long to check (more than 1000000 subschema evaluations)"
            ])
    }
}
