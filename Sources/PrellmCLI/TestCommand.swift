import Foundation
import Prellm
import PrellmCompiler
import PrellmProviders
import PrellmRuntime
import PrellmSyntax
import PrellmTesting

/// `prellm test [PATH…]`: runs the `tests:` of every workflow found, with their mocks, the
/// workflow's cassette for the other model calls (or the real providers with `--record` or
/// `--live`), optionally once per model of an alias (`--models`).
public struct TestOptions: Sendable {
    public var paths: [String]
    public var filter: String?
    public var format: TestReport.Format = .text
    public var source: AnswerSource = .replay
    /// `alias=provider/model,provider/model`: each test runs once per model for that alias.
    public var models: [String] = []
    public var jobs: Int?
    public var config: String?

    public init(paths: [String]) {
        self.paths = paths.isEmpty ? ["."] : paths
    }
}

public enum TestCommand {
    /// One test to run: the program (its alias replaced for a `--models` variant) and the test.
    struct Job: Sendable {
        var runner: TestRunner
        var test: CompiledTest
        var variant: String?
        var cassette: Cassette?
    }

    public static func run(_ options: TestOptions, environment: [String: String]) async -> CommandOutput {
        var out = CommandOutput()
        func usage(_ message: String) -> CommandOutput {
            out.stderr += "prellm test: \(message)\n"
            out.exitCode = CommandOutput.Exit.usage
            return out
        }
        let variants: [(alias: String, models: [String])]
        do { variants = try options.models.map(parseVariant) } catch { return usage(error.message) }
        var files: [String] = []
        for path in options.paths {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { return usage("'\(path)' does not exist") }
            files += isDir.boolValue ? WorkflowFiles.find(in: path) : [path]
        }
        var overrides: [String: ProviderDirectory.Override] = [:]
        if let path = options.config {
            let (config, rendered) = ProviderSettings.load(path)
            guard let config else { return usage("the config does not load:\n" + rendered) }
            overrides = config.providerOverrides
        }
        let directory = ProviderDirectory(environment: environment, overrides: overrides)

        // Compile every file; one that does not compile is an error of its own.
        var outcomes: [TestOutcome] = []
        var jobs: [Job] = []
        var cassettes: [Cassette] = []
        var skipped = 0
        let compiler = WorkflowCompiler()
        for file in files {
            let result = compiler.compile(path: file)
            let shown = FilePaths.display(file)
            if result.config != nil { continue }
            guard let program = result.graph, !result.hasErrors else {
                out.stderr += DiagnosticRenderer.text(result.diagnostics, sources: result.sources)
                let first = result.diagnostics.first { $0.severity == .error }
                outcomes.append(
                    TestOutcome(
                        file: shown, test: TestOutcome.compile, span: first?.span ?? .unknown, variant: nil, status: .error,
                        failures: [
                            .init(
                                what: "compile", expected: "the workflow compiles",
                                actual: result.diagnostics.filter { $0.severity == .error }.map { "\($0.span.start): \($0.message)" }.joined(
                                    separator: "; "))
                        ],
                        costUSD: nil, tokens: 0, latency: .zero))
                continue
            }
            let selected = program.tests.filter { options.filter.map($0.name.contains) ?? true }
            skipped += program.tests.count - selected.count
            guard !selected.isEmpty else { continue }
            let cassette: Cassette?
            do { cassette = try Cassette(path: Cassette.path(for: file)) } catch { return usage(error.message) }
            if let cassette { cassettes.append(cassette) }
            let versions: [(String?, StepGraph)]
            do { versions = try programs(program, variants) } catch { return usage("--models: \(error)") }
            for (name, variantProgram) in versions {
                let runner = TestRunner(program: variantProgram, file: shown)
                jobs += selected.map { Job(runner: runner, test: $0, variant: name, cassette: cassette) }
            }
        }
        let width = max(1, options.jobs ?? ProcessInfo.processInfo.activeProcessorCount * 2)
        outcomes += await runAll(jobs, width: width, source: options.source, directory: directory)
        if options.source == .record {
            for c in cassettes where c.changed {
                do { try c.save() } catch { out.stderr += "prellm test: \(error.message)\n" }
                out.stderr += "recorded \(c.count) answer\(c.count == 1 ? "" : "s") in \(FilePaths.display(c.path))\n"
            }
        }
        switch options.format {
        case .text: out.stdout = TestReport.text(outcomes, skipped: skipped) + (variants.isEmpty ? "" : "\n" + TestReport.matrix(outcomes))
        case .json: out.stdout = TestReport.json(outcomes, skipped: skipped).prettyJSONText + "\n"
        case .junit: out.stdout = TestReport.junit(outcomes)
        case .github: out.stdout = TestReport.github(outcomes, skipped: skipped)
        }
        let counts = TestReport.counts(outcomes, skipped: skipped)
        out.exitCode =
            counts.errors > 0 ? CommandOutput.Exit.usage : counts.failed > 0 ? CommandOutput.Exit.failure : CommandOutput.Exit.ok
        return out
    }

    struct UsageError: Error { var message: String }

    /// `large=openai/gpt-4o-mini,anthropic/claude-haiku-4-5`.
    static func parseVariant(_ s: String) throws(UsageError) -> (alias: String, models: [String]) {
        let parts = s.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[0].isEmpty else {
            throw UsageError(message: "--models takes ALIAS=provider/model[,provider/model…], found '\(s)'")
        }
        let models = parts[1].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard !models.isEmpty, models.allSatisfy({ $0.contains("/") }) else {
            throw UsageError(message: "--models \(parts[0])=…: each model is provider/model, found '\(parts[1])'")
        }
        return (parts[0], models)
    }

    /// The program once, or once per model of each `--models` alias it has.
    static func programs(_ program: StepGraph, _ variants: [(alias: String, models: [String])]) throws -> [(String?, StepGraph)] {
        let mine = variants.filter { v in program.routes.contains { $0.name == v.alias } }
        guard !mine.isEmpty else { return [(nil, program)] }
        var out: [(String?, StepGraph)] = []
        for v in mine {
            for m in v.models { out.append(("\(v.alias)=\(m)", try program.replacingModels([v.alias: m]))) }
        }
        return out
    }

    /// Runs the jobs, at most `width` at once; outcomes come back in job order.
    static func runAll(_ jobs: [Job], width: Int, source: AnswerSource, directory: ProviderDirectory) async -> [TestOutcome] {
        await withTaskGroup(of: (Int, TestOutcome).self) { group in
            var results = [TestOutcome?](repeating: nil, count: jobs.count)
            var next = 0
            func start(_ i: Int) {
                let job = jobs[i]
                group.addTask {
                    let context = RunContext(models: CatalogModelAccess(directory: directory, catalog: .builtin, program: job.runner.program))
                    return (i, await job.runner.run(job.test, variant: job.variant, context: context, source: source, cassette: job.cassette))
                }
            }
            while next < min(width, jobs.count) { start(next); next += 1 }
            for await (i, outcome) in group {
                results[i] = outcome
                if next < jobs.count { start(next); next += 1 }
            }
            return results.compactMap { $0 }
        }
    }
}
