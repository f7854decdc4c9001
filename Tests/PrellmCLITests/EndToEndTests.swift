import Foundation
import PrellmSchema
import ProviderStandIn
import Testing

/// `prellm-run` as a process, on the shipped workflows and a few test ones, against the
/// loopback stand-in playing every provider (configured only through the environment).
@Suite struct EndToEndTests {
    static let root = LintCommandTests.root
    static let e2e = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("testdata/e2e")

    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    func prellmRun(_ args: [String], _ env: [String: String]) async throws -> Run {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("prellm-run")
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "no prellm-run beside the test bundle")
        let r = try await Subprocess.run(binary, args, environment: env, directory: Self.root)
        return Run(status: r.status, stdout: r.stdout, stderr: r.stderr)
    }

    @Test func twoModelStructureRun() async throws {
        let standIn = try ScriptedStandIn([
            "qwen2.5:3b": [
                Reply.ollama(#"{"intent": "deploy", "target": "the api service", "constraints": ["zero downtime"], "missing": ["environment"]}"#)
            ],
            "gpt-4o-mini": [Reply.openAI("Roll it out with a blue-green deploy.")],
        ])
        let r = try await prellmRun(["stdlib/strategies/structure.yaml", "--input", "query=Deploy app to prod", "--json"], standIn.environment)
        #expect(r.status == 0, "\(r.stderr)")
        let result = try JSONParser.parse(r.stdout)
        #expect(result["output"] == "Roll it out with a blue-green deploy.")
        #expect(result["steps"]?.arrayValue?.compactMap { $0["model_used"]?.stringValue } == ["ollama/qwen2.5:3b", "openai/gpt-4o-mini"])
        #expect(result["usage"]?["total_tokens"] == .number(50))
        let prompt = try #require(standIn.requests.last?.bodyText)
        #expect(prompt.contains("Target: the api service"))
        #expect(prompt.contains("- zero downtime"))
        #expect(prompt.contains("- environment"))
    }

    @Test func classifyThenRoute() async throws {
        let standIn = try ScriptedStandIn([
            "qwen2.5:3b": [Reply.ollama(#"{"label": "bug", "confidence": 0.93}"#)]
        ])
        let r = try await prellmRun(
            ["workflows/support-triage.yaml", "--input", "message=The export button crashes", "--input", "customer_tier=enterprise"],
            standIn.environment)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.hasPrefix("Thanks for the report. We have logged it with priority:"))
        #expect(r.stderr.contains("✓ router"))
        #expect(standIn.requests.count == 1)  // the bug branch calls no large model
    }

    @Test func validateReasksAndSucceedsTheSecondTime() async throws {
        let standIn = try ScriptedStandIn([
            "qwen2.5:3b": [Reply.ollama(#"{"label": "cancel", "confidence": 0.97}"#)],
            "gpt-4o-mini": [
                Reply.openAI(#"{"subject": "Your cancellation", "body": "We are sorry to see you go; your plan ends today.", "escalate": false}"#),
                Reply.openAI(#"{"subject": "Your cancellation", "body": "We are sorry to see you go; a colleague will confirm.", "escalate": true}"#),
            ],
        ])
        let trace = FileManager.default.temporaryDirectory.appendingPathComponent("prellm-trace-\(UUID().uuidString).jsonl")
        defer { try? FileManager.default.removeItem(at: trace) }
        let r = try await prellmRun(
            ["workflows/support-triage.yaml", "--input", "message=Cancel my plan", "--trace", trace.path], standIn.environment)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == "We are sorry to see you go; a colleague will confirm.\n")
        let reask = try #require(standIn.requests.last?.bodyText)
        #expect(reask.contains("did not pass validation"))
        #expect(reask.contains("assertion failed: intent.label != \\\"cancel\\\" || value.escalate"))
        let lines = try String(contentsOf: trace, encoding: .utf8).split(separator: "\n").map { try JSONParser.parse(String($0)) }
        #expect(lines.contains { $0["kind"] == "validate" && $0["status"] == "invalid" })
        #expect(lines.allSatisfy { !$0.jsonText.contains("sk-standin") })
    }

    @Test func fallbackAfterA500() async throws {
        let standIn = try ScriptedStandIn([
            "gpt-4o-mini": [Reply.status(500, #"{"error":{"message":"The server had an error","type":"server_error"}}"#)],
            "claude-haiku-4-5": [Reply.anthropic("From Claude.")],
        ])
        let r = try await prellmRun([Self.e2e.appendingPathComponent("fallback.yaml").path, "--input", "query=hi", "--json"], standIn.environment)
        #expect(r.status == 0, "\(r.stderr)")
        let result = try JSONParser.parse(r.stdout)
        #expect(result["output"] == "From Claude.")
        #expect(result["steps"]?[0]?["model_used"] == "anthropic/claude-haiku-4-5")
        // Streamed to the terminal too (without --json the final step streams).
        let streamed = try await prellmRun([Self.e2e.appendingPathComponent("fallback.yaml").path, "--input", "query=again"], standIn.environment)
        #expect(streamed.status == 0, "\(streamed.stderr)")
        #expect(streamed.stdout == "From Claude.\n")
    }

    @Test func retryAfterA429HonoursRetryAfter() async throws {
        let standIn = try ScriptedStandIn([
            "gpt-4o-mini": [
                Reply.status(429, #"{"error":{"message":"Rate limit reached","code":"rate_limit_exceeded"}}"#, headers: [("Retry-After", "1")]),
                Reply.openAI("Second attempt."),
            ]
        ])
        let start = Date()
        let r = try await prellmRun([Self.e2e.appendingPathComponent("retry.yaml").path, "--input", "query=hi", "--json"], standIn.environment)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(Date().timeIntervalSince(start) >= 1.0)
        let result = try JSONParser.parse(r.stdout)
        #expect(result["output"] == "Second attempt.")
        #expect(result["steps"]?[0]?["attempts"] == .number(2))
        #expect(standIn.requests.count == 2)
    }

    @Test func budgetRefusal() async throws {
        let standIn = try ScriptedStandIn(["gpt-4o": [Reply.openAI("never")]])
        let r = try await prellmRun([Self.e2e.appendingPathComponent("budget.yaml").path, "--input", "query=hi"], standIn.environment)
        #expect(r.status == 1)
        #expect(r.stderr.contains("the USD budget ($0.001) would be exceeded"))
        #expect(standIn.requests.isEmpty)
    }

    @Test func cacheHit() async throws {
        let standIn = try ScriptedStandIn(["gpt-4o-mini": [Reply.openAI("A word.")]])
        let r = try await prellmRun([Self.e2e.appendingPathComponent("cache.yaml").path, "--input", "query=cache", "--json"], standIn.environment)
        #expect(r.status == 0, "\(r.stderr)")
        let result = try JSONParser.parse(r.stdout)
        #expect(result["output"] == "A word. | A word.")
        #expect(result["steps"]?[1]?["status"] == "cached")
        #expect(standIn.requests.count == 1)
        let noCache = try await prellmRun(
            [Self.e2e.appendingPathComponent("cache.yaml").path, "--input", "query=cache", "--no-cache"], standIn.environment)
        #expect(noCache.status == 0)
        #expect(standIn.requests.count == 3)
    }

    @Test func aCutStreamFailsTheRun() async throws {
        let standIn = try ScriptedStandIn(["gpt-4o-mini": [Reply.openAICut("Partial ans")]])
        let r = try await prellmRun([Self.e2e.appendingPathComponent("cut.yaml").path, "--input", "query=hi"], standIn.environment)
        #expect(r.status == 1)
        #expect(r.stderr.contains("cut_stream"))
    }

    @Test func dryRunSendsNothing() async throws {
        let standIn = try ScriptedStandIn([:])
        let r = try await prellmRun(
            [
                "workflows/leasing-calculation.yaml", "--input", "request=Leasing for a 120000 PLN car over 36 months",
                "--input", "wibor_3m=5.85", "--dry-run",
            ], standIn.environment)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("1. terms (extract) → ollama/qwen2.5:3b"))
        #expect(r.stdout.contains("upper bound: "))
        #expect(standIn.requests.isEmpty)
        // The same plan as one JSON object, for tools and CI.
        let json = try await prellmRun(
            [
                "workflows/leasing-calculation.yaml", "--input", "request=Leasing for a 120000 PLN car over 36 months",
                "--input", "wibor_3m=5.85", "--dry-run", "--json",
            ], standIn.environment)
        #expect(json.status == 0, "\(json.stderr)")
        let plan = try JSONParser.parse(json.stdout)
        #expect(plan["steps"]?.arrayValue?.map { $0["id"]?.stringValue ?? "" } == ["terms", "quote", "checked"])
        let quote = try #require(plan["steps"]?[1])
        // quote: one model × 3 attempts × 2 (its own re-ask) × 4 (once, and 3 validate re-asks).
        #expect(quote["max_calls"] == .number(24))
        #expect(quote["models"] == .array(["anthropic/claude-sonnet-4-5"]))
        #expect(quote["max_cost_usd"]?.numberValue ?? 0 > 0)
        #expect(plan["max_calls"] == .number(6 + 24))
        #expect(plan["max_tokens"]?.numberValue != nil)
        #expect(standIn.requests.isEmpty)
    }

    @Test func usageErrorsExit2() async throws {
        let r = try await prellmRun(["workflows/support-triage.yaml", "--input", "mesage=hi"], ["PATH": "/usr/bin:/bin"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("unknown input 'mesage' (did you mean 'message'?)"))
        let broken = try await prellmRun(
            [LintCommandTests.diagnostics.appendingPathComponent("ref-unknown-step.yaml").path], ["PATH": "/usr/bin:/bin"])
        #expect(broken.status == 2)
        #expect(broken.stderr.contains("error[PL201]"))
    }
}

@Suite struct OneShotTests {
    @Test func theOneShotFormRunsAStrategy() async throws {
        let standIn = try ScriptedStandIn([
            "qwen2.5:3b": [Reply.ollama(#"{"label": "code", "confidence": 0.9}"#)],
            "gpt-4o": [Reply.openAI("Here is the code.")],
        ])
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("prellm")
        let r = try await Subprocess.run(
            binary, ["Write a sort function", "--small", "ollama/qwen2.5:3b", "--large", "openai/gpt-4o", "--strategy", "classify"],
            environment: standIn.environment)
        #expect(r.status == 0)
        #expect(r.stdout == "Here is the code.\n")
        #expect(standIn.requests.last?.bodyText.contains("You are a senior engineer.") == true)
    }
}

/// The README's first command ends in scripts/demo: it must run a real workflow when a
/// provider is reachable, and fall back to the plan when none is.
@Suite struct DemoScriptTests {
    func demo(_ env: [String: String]) async throws -> (Int32, String, String) {
        let r = try await Subprocess.run(
            URL(fileURLWithPath: "/bin/bash"), [LintCommandTests.root.appendingPathComponent("scripts/demo").path, "Deploy app to prod"],
            environment: env)
        return (r.status, r.stdout, r.stderr)
    }

    @Test func runsWithAKeyAndShowsThePlanWithout() async throws {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("prellm")
        try #require(
            binary.path == LintCommandTests.root.appendingPathComponent(".build/debug/prellm").resolvingSymlinksInPath().path
                || FileManager.default.fileExists(atPath: LintCommandTests.root.appendingPathComponent(".build/debug/prellm").path))
        let standIn = try ScriptedStandIn([
            "gpt-4o-mini": [
                Reply.openAI(#"{"intent": "deploy", "target": "app", "constraints": [], "missing": []}"#),
                Reply.openAI("Deploy with a canary."),
            ]
        ])
        let env = [
            "OPENAI_API_KEY": "sk-demo", "OPENAI_BASE_URL": standIn.baseURL + "/v1", "OLLAMA_HOST": "127.0.0.1:9",
            "PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory(),
        ]
        let (status, out, err) = try await demo(env)
        #expect(status == 0, "\(err)")
        #expect(out == "Deploy with a canary.\n")
        #expect(err.contains("small model: openai/gpt-4o-mini · large model: openai/gpt-4o-mini"))
        let (planStatus, plan, advice) = try await demo(["OLLAMA_HOST": "127.0.0.1:9", "PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory()])
        #expect(planStatus == 0)
        #expect(plan.contains("upper bound:"))
        #expect(advice.contains("set one of OPENAI_API_KEY"))
    }
}

@Suite struct InterruptTests {
    @Test func ctrlCCancelsTheRequestKeepsTheTraceAndExits130() async throws {
        let standIn = try ScriptedStandIn(["gpt-4o-mini": [Reply.openAIDrip("tick", count: 200, pauseMs: 50)]])
        let trace = FileManager.default.temporaryDirectory.appendingPathComponent("prellm-int-\(UUID().uuidString).jsonl")
        defer { try? FileManager.default.removeItem(at: trace) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("prellm-run")
        p.arguments = [EndToEndTests.e2e.appendingPathComponent("cut.yaml").path, "--input", "query=count", "--trace", trace.path]
        p.environment = standIn.environment
        let out = Pipe()
        p.standardOutput = out
        p.standardError = Pipe()
        try p.run()
        // Wait until the answer is streaming, then interrupt.
        var seen = Data()
        while !String(decoding: seen, as: UTF8.self).contains("tick 2") {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            seen += chunk
        }
        kill(p.processIdentifier, SIGINT)
        await p.exited()
        #expect(p.terminationStatus == 130)
        let lines = try String(contentsOf: trace, encoding: .utf8).split(separator: "\n")
        #expect(lines.count >= 1)
        #expect(lines.last?.contains("\"status\":\"cancelled\"") == true)
        #expect(standIn.requests.count == 1)
    }
}
