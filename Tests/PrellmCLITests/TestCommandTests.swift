import Foundation
import PrellmCLI
import PrellmCompiler
import PrellmSchema
import PrellmTesting
import ProviderStandIn
import Testing

/// `prellm test`: the shipped tests as a process, answers recorded then replayed against the
/// loopback stand-in, the mismatch diff, the model matrix, every expectation passing and
/// failing, the JUnit report against a JUnit XML schema, and the exit codes.
@Suite struct TestCommandTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// A fresh folder holding `files`.
    func folder(_ files: [String: String]) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("prellm-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for (name, text) in files { try text.write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8) }
        return dir
    }

    func run(
        _ paths: [String], format: TestReport.Format = .json, source: AnswerSource = .replay, models: [String] = [],
        environment: [String: String] = [:]
    ) async -> CommandOutput {
        var options = TestOptions(paths: paths)
        options.format = format
        options.source = source
        options.models = models
        return await TestCommand.run(options, environment: environment)
    }

    /// The tests of everything shipped pass, run as CI runs them: the command, as a process.
    @Test func theShippedTestsPass() async throws {
        let binary = try CommandLineSafetyTests.binary("prellm")
        let started = ContinuousClock.now
        let r = try await Subprocess.run(
            binary, ["test", "workflows", "stdlib", "docs/examples"], directory: Self.root, timeout: .seconds(60))
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        let last = r.stdout.split(separator: "\n").last.map(String.init) ?? ""
        #expect(last.hasSuffix("passed, 0 failed"), "\(last)")
        #expect((Int(last.prefix { $0.isNumber }) ?? 0) >= 15)
        #expect(ContinuousClock.now - started < .seconds(30), "the mocked suite is quick (it takes about 0.1 s)")
    }

    static let recorded = """
        prellm: 1
        inputs: {q: {type: string}}
        models: {large: openai/gpt-4o-mini}
        steps:
          - id: answer
            call: {model: large, prompt: "Answer: {{ inputs.q }}"}
        output: "{{ answer }}"
        tests:
          - name: arithmetic
            inputs: {q: "2+2"}
            expect: {contains: "4"}
        """

    /// `--record` asks the stand-in and writes the cassette; replays send nothing; a changed
    /// prompt fails with the nearest recorded request and a diff.
    @Test func recordThenReplayThenAMismatch() async throws {
        let dir = try folder(["w.yaml": Self.recorded])
        let file = dir.appendingPathComponent("w.yaml").path
        let standIn = try ScriptedStandIn(["gpt-4o-mini": [Reply.openAI("It is 4.", promptTokens: 12, completionTokens: 4)]])
        let recording = await run([file], format: .text, source: .record, environment: standIn.environment)
        #expect(recording.exitCode == 0, "\(recording.stdout)\(recording.stderr)")
        #expect(recording.stderr.contains("recorded 1 answer in"))
        let cassette = try String(contentsOfFile: dir.appendingPathComponent("w.cassette.jsonl").path, encoding: .utf8)
        #expect(cassette.contains("Answer: 2+2") && cassette.contains("It is 4."))
        #expect(!cassette.contains("sk-standin") && !cassette.lowercased().contains("authorization"), "no key or header is kept")
        #expect(standIn.requests.count == 1)

        for _ in 0..<2 {
            let replay = await run([file], environment: standIn.environment)
            #expect(replay.exitCode == 0, "\(replay.stdout)")
            let json = try JSONParser.parse(replay.stdout)
            #expect(json["passed"] == .number(1))
            #expect(json["tests"]?[0]?["cost_usd"] == .number(0.0000042), "the recorded usage at the model's price")
        }
        #expect(standIn.requests.count == 1, "a replay sends no request")

        try Self.recorded.replacingOccurrences(of: "Answer: {{", with: "Reply briefly: {{").write(
            toFile: file, atomically: true, encoding: .utf8)
        let changed = await run([file], format: .text, environment: standIn.environment)
        #expect(changed.exitCode == 2, "a step with no answer is an error, not a failure")
        #expect(changed.stdout.contains("ERROR"))
        #expect(changed.stdout.contains("step 'answer'"))
        #expect(changed.stdout.contains("nearest recorded request"))
        #expect(changed.stdout.contains(#"-       "content": "Answer: 2+2","#), "\(changed.stdout)")
        #expect(changed.stdout.contains(#"+       "content": "Reply briefly: 2+2","#))
        #expect(standIn.requests.count == 1, "never a silent live call")
    }

    /// Re-recording replaces a cassette only when it is complete and every test passed.
    @Test func reRecordingKeepsWhatItDidNotReplace() async throws {
        let dir = try folder(["w.yaml": Self.recorded])
        let file = dir.appendingPathComponent("w.yaml").path
        let cassette = dir.appendingPathComponent("w.cassette.jsonl").path
        let standIn = try ScriptedStandIn(["gpt-4o-mini": [Reply.openAI("It is 4.")], "claude-haiku-4-5": [Reply.anthropic("4")]])
        _ = await run([file], source: .record, environment: standIn.environment)
        // Over another model: the default model's answer stays.
        _ = await run([file], source: .record, models: ["large=anthropic/claude-haiku-4-5"], environment: standIn.environment)
        var lines = try String(contentsOfFile: cassette, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2 && lines.contains { $0.contains("claude-haiku-4-5") } && lines.contains { $0.contains("gpt-4o-mini") })
        // A changed prompt, recorded completely and passing: the stale answers go.
        try Self.recorded.replacingOccurrences(of: "Answer: {{", with: "Reply briefly: {{").write(
            toFile: file, atomically: true, encoding: .utf8)
        let complete = await run([file], source: .record, environment: standIn.environment)
        #expect(complete.exitCode == 0)
        lines = try String(contentsOfFile: cassette, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 1 && lines[0].contains("Reply briefly: 2+2"), "\(lines)")
    }

    /// `--models` runs each test per model and prints the comparison.
    @Test func aMatrixOverModels() async throws {
        let dir = try folder(["w.yaml": Self.recorded])
        let standIn = try ScriptedStandIn([
            "gpt-4o-mini": [Reply.openAI("It is 4.")], "claude-haiku-4-5": [Reply.anthropic("Four.")],
        ])
        let out = await run(
            [dir.appendingPathComponent("w.yaml").path], format: .text, source: .live,
            models: ["large=openai/gpt-4o-mini,anthropic/claude-haiku-4-5"], environment: standIn.environment)
        #expect(out.exitCode == 1, "Claude's answer has no 4")
        let lines = out.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("MODEL") && $0.contains("PASSED") && $0.contains("MEAN COST") && $0.contains("P50 LATENCY") })
        #expect(lines.contains { $0.hasPrefix("large=openai/gpt-4o-mini") && $0.contains("1/1 (100%)") }, "\(out.stdout)")
        #expect(lines.contains { $0.hasPrefix("large=anthropic/claude-haiku-4-5") && $0.contains("0/1 (0%)") })
        #expect(standIn.requests.count == 2)
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("w.cassette.jsonl").path), "--live writes nothing")
    }

    static let expectations = """
        prellm: 1
        inputs: {q: {type: string}}
        models: {m: openai/gpt-4o-mini}
        contracts:
          Answer: {type: object, required: [n], properties: {n: {type: integer}}}
          Big: {type: object, required: [n], properties: {n: {type: integer, minimum: 10}}}
        steps:
          - id: pick
            classify: {model: m, text: "{{ inputs.q }}", labels: [a, b]}
          - id: never
            if: inputs.q == "never"
            transform: "skipped"
          - id: answer
            call: {model: m, prompt: "{{ inputs.q }}", output: Answer}
        output: "{{ answer }}"
        tests:
          - name: everything holds
            inputs: {q: "go"}
            mocks: {pick: {label: a}, answer: {n: 12}}
            expect:
              output: {n: 12}
              contains: '"n":12'
              matches: '^\\{"n":1[0-9]\\}$'
              steps: [pick, answer]
              assert: ['pick.label == "a"', "output.n > 10"]
              schema: Big
              max_cost_usd: 0
              max_tokens: 0
              max_latency: 10s
          - name: wrong output
            inputs: {q: "go"}
            mocks: {pick: {label: a}, answer: {n: 1}}
            expect: {output: {n: 2}}
          - name: wrong contains
            inputs: {q: "go"}
            mocks: {pick: {label: a}, answer: {n: 1}}
            expect: {contains: "zzz"}
          - name: wrong matches
            inputs: {q: "go"}
            mocks: {pick: {label: a}, answer: {n: 1}}
            expect: {matches: "^x"}
          - name: a step that did not run
            inputs: {q: "go"}
            mocks: {pick: {label: a}, answer: {n: 1}}
            expect: {steps: [never]}
          - name: a false assertion
            inputs: {q: "go"}
            mocks: {pick: {label: b}, answer: {n: 1}}
            expect: {assert: ['pick.label == "a"']}
          - name: the wrong contract
            inputs: {q: "go"}
            mocks: {pick: {label: a}, answer: {n: 1}}
            expect: {schema: Big}
          - name: expected to fail
            inputs: {q: "go"}
            mocks: {pick: {label: a}, answer: {n: 1}}
            expect: {status: failed}
        """

    /// Each expectation kind passes, and fails with what was expected beside what happened.
    @Test func everyExpectationPassesAndFails() async throws {
        let dir = try folder(["e.yaml": Self.expectations])
        let out = await run([dir.appendingPathComponent("e.yaml").path])
        #expect(out.exitCode == 1, "\(out.stdout)\(out.stderr)")
        let json = try JSONParser.parse(out.stdout)
        let tests = json["tests"]?.arrayValue ?? []
        func failures(_ name: String) -> [JSONValue] {
            tests.first { $0["name"] == .string(name) }?["failures"]?.arrayValue ?? []
        }
        #expect(tests.first?["status"] == "passed", "\(tests.first?.jsonText ?? "")")
        let expected: [(String, String, String, String)] = [
            ("wrong output", "output", #"{"n":2}"#, #"{"n":1}"#),
            ("wrong contains", "contains", #"the output contains "zzz""#, #""{\"n\":1}""#),
            ("wrong matches", "matches", "the output matches /^x/", #""{\"n\":1}""#),
            ("a step that did not run", "steps", "step 'never' runs", "it did not run"),
            ("a false assertion", "assert", #"pick.label == "a""#, "false"),
            ("the wrong contract", "schema", "the output meets Big", "/n: 1 is less than the minimum 10"),
            ("expected to fail", "status", "failed", #"ok, with output {"n":1}"#),
        ]
        for (name, what, want, got) in expected {
            let f = failures(name)
            #expect(f.count == 1, "\(name): \(f)")
            #expect(f.first?["what"] == .string(what), "\(name)")
            #expect(f.first?["expected"] == .string(want), "\(name): \(f.first?.jsonText ?? "")")
            #expect(f.first?["actual"]?.stringValue?.contains(got) == true, "\(name): \(f.first?.jsonText ?? "")")
        }
        #expect(json["passed"] == .number(1))
        #expect(json["failed"] == .number(7))
    }

    /// Cost, tokens, time and a judge, against the stand-in.
    @Test func budgetsAndTheJudge() async throws {
        let workflow = """
            prellm: 1
            inputs: {q: {type: string}}
            models: {m: openai/gpt-4o-mini, grader: openai/gpt-4.1-mini}
            steps:
              - id: answer
                call: {model: m, prompt: "{{ inputs.q }}"}
            output: "{{ answer }}"
            tests:
              - name: too dear, too long, too slow
                inputs: {q: "go"}
                expect: {max_cost_usd: 0.000001, max_tokens: 10, max_latency: 100ms}
              - name: the judge passes it
                inputs: {q: "go"}
                expect: {judge: {model: grader, rubric: "It answers."}}
              - name: the judge fails it
                inputs: {q: "again"}
                expect: {judge: {model: grader, rubric: "It is a haiku."}}
              - name: a mocked judge
                inputs: {q: "mocked"}
                mocks: {answer: "Mocked answer.", judge: {pass: false, reason: "Mocked verdict."}}
                expect: {judge: {model: grader, rubric: "It is a haiku."}}
            """
        let dir = try folder(["b.yaml": workflow])
        let slow: ScriptedStandIn.Responder = { request, w in
            w.pause(200)
            Reply.openAI("An answer.", promptTokens: 20, completionTokens: 10)(request, w)
        }
        let standIn = try ScriptedStandIn([
            "gpt-4o-mini": [slow, Reply.openAI("An answer."), Reply.openAI("Another.")],
            "gpt-4.1-mini": [
                Reply.openAI(#"{"pass": true, "reason": "It answers."}"#), Reply.openAI(#"{"pass": false, "reason": "It is prose."}"#),
            ],
        ])
        var options = TestOptions(paths: [dir.appendingPathComponent("b.yaml").path])
        options.format = .json
        options.source = .live
        options.jobs = 1
        let out = await TestCommand.run(options, environment: standIn.environment)
        let tests = try JSONParser.parse(out.stdout)["tests"]?.arrayValue ?? []
        let budget = tests.first { $0["name"] == "too dear, too long, too slow" }?["failures"]?.arrayValue ?? []
        #expect(budget.map { $0["what"]?.stringValue ?? "" } == ["max_cost_usd", "max_tokens", "max_latency"], "\(budget)")
        #expect(budget.first?["actual"] == "$0.000009")
        #expect(budget.dropFirst().first?["actual"] == "30 tokens")
        #expect(tests.first { $0["name"] == "the judge passes it" }?["status"] == "passed", "\(out.stdout)")
        let judged = tests.first { $0["name"] == "the judge fails it" }
        #expect(judged?["status"] == "failed")
        #expect(judged?["failures"]?[0]?["actual"] == "fails: It is prose.")
        #expect((judged?["cost_usd"]?.numberValue ?? 0) > 0, "the judge's call is counted")
        let mocked = tests.first { $0["name"] == "a mocked judge" }
        #expect(mocked?["failures"]?[0]?["actual"] == "fails: Mocked verdict.")
        #expect(mocked?["cost_usd"] == .number(0))
        #expect(standIn.requests.filter { $0.bodyText.contains("gpt-4.1-mini") }.count == 2, "the mocked judge asks no model")
    }

    /// The JUnit report validates against a JUnit XML schema: one testsuite per file, one
    /// testcase per test, failures with expected and actual.
    @Test func junitValidatesAgainstItsSchema() async throws {
        let dir = try folder(["e.yaml": Self.expectations, "broken.yaml": "prellm: 1\nsteps: []\noutput: \"{{ nope }}\"\n"])
        let out = await run([dir.path], format: .junit)
        #expect(out.exitCode == 2, "a workflow that does not compile is an error")
        let report = dir.appendingPathComponent("report.xml")
        try out.stdout.write(to: report, atomically: true, encoding: .utf8)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("testdata/validate_junit.py")
        let check = try await Subprocess.run(URL(fileURLWithPath: "/usr/bin/env"), ["python3", script.path, report.path], timeout: .seconds(60))
        #expect(check.status == 0 && check.stdout.contains("valid"), "\(check.stdout)\(check.stderr)\n\(out.stdout)")
        #expect(out.stdout.components(separatedBy: "<testsuite ").count - 1 == 2)
        #expect(out.stdout.components(separatedBy: "<testcase ").count - 1 == 9)
        #expect(out.stdout.contains(#"<failure message="output: expected {&quot;n&quot;:2}, actual {&quot;n&quot;:1}" type="output">"#))
        #expect(out.stdout.contains(#"<error message="compile: expected the workflow compiles"#))
        // And the check can fail: a report the schema refuses.
        try "<testsuites><testsuite><testcase/></testsuite></testsuites>".write(to: report, atomically: true, encoding: .utf8)
        let bad = try await Subprocess.run(URL(fileURLWithPath: "/usr/bin/env"), ["python3", script.path, report.path], timeout: .seconds(60))
        #expect(bad.status == 1)
    }

    @Test func exitCodesAndGitHubAnnotations() async throws {
        let dir = try folder(["e.yaml": Self.expectations, "w.yaml": Self.recorded])
        let failing = await run([dir.appendingPathComponent("e.yaml").path], format: .github)
        #expect(failing.exitCode == 1)
        #expect(
            failing.stdout.contains(
                "::error file=\(FilePaths.display(dir.appendingPathComponent("e.yaml").path)),line=30,col=11,title=prellm test%3A wrong output::output: expected"
            ),
            "\(failing.stdout)")
        #expect(failing.stdout.hasSuffix("1 passed, 7 failed\n"))
        let missing = await run([dir.appendingPathComponent("nope.yaml").path])
        #expect(missing.exitCode == 2)
        #expect(missing.stderr.contains("does not exist"))
        let unanswered = await run([dir.appendingPathComponent("w.yaml").path], format: .text)
        #expect(unanswered.exitCode == 2, "no mock and no cassette: an error naming the step")
        #expect(unanswered.stdout.contains("step 'answer'") && unanswered.stdout.contains("no cassette"))
        var filtered = TestOptions(paths: [dir.appendingPathComponent("e.yaml").path])
        filtered.filter = "everything"
        let one = await TestCommand.run(filtered, environment: [:])
        #expect(one.exitCode == 0)
        #expect(one.stdout.hasSuffix("1 passed, 0 failed, 7 skipped\n"), "\(one.stdout)")
    }

    /// Tests reach no context store: a recall step without a mock is an error naming the step
    /// and the fix, not "configure memory:".
    @Test func anUnmockedRecallNamesItsStep() async throws {
        let workflow = """
            prellm: 1
            name: recalls
            inputs:
              q: {type: string}
            steps:
              - id: memory
                recall: {context: notes, query: "{{ inputs.q }}"}
            output: "{{ memory.count }}"
            tests:
              - name: unmocked
                inputs: {q: "x"}
                expect: {output: 0}
              - name: mocked
                inputs: {q: "x"}
                mocks:
                  memory: {chunks: [], count: 0}
                expect: {output: 0}
            """
        let dir = try folder(["r.yaml": workflow])
        let out = await run([dir.appendingPathComponent("r.yaml").path], format: .text)
        #expect(out.exitCode == 2, "\(out.stdout)\(out.stderr)")
        #expect(out.stdout.contains("step 'memory' is not mocked"), "\(out.stdout)")
        #expect(!out.stdout.contains("configure memory"), "\(out.stdout)")
        #expect(out.stdout.contains("1 passed"), "\(out.stdout)")
    }
}
