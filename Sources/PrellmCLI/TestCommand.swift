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

    /// What the files give before anything runs: the jobs, the outcomes of files that do not
    /// compile, the cassettes in play, and how many tests `--filter` left out.
    struct Plan {
        var jobs: [Job] = []
        var outcomes: [TestOutcome] = []
        var cassettes: [Cassette] = []
        var skipped = 0
        /// The compiler's diagnostics, rendered for stderr.
        var diagnostics = ""
    }

    /// A pipeline of named stages: read the arguments, find the files, plan the jobs, run them,
    /// keep what was recorded, report.
    public static func run(_ options: TestOptions, environment: [String: String]) async -> CommandOutput {
        var out = CommandOutput()
        do {
            let variants = try options.models.map(parseVariant)
            let directory = ProviderDirectory(environment: environment, overrides: try providerOverrides(options.config))
            var plan = try self.plan(try files(options.paths), options, variants)
            out.stderr += plan.diagnostics
            let width = max(1, options.jobs ?? ProcessInfo.processInfo.activeProcessorCount * 2)
            plan.outcomes += await runAll(plan.jobs, width: width, source: options.source, directory: directory)
            if options.source == .record {
                // Only a complete re-record that went well replaces a cassette: one filtered, over
                // other models, or with a test that did not pass (an outage?) adds to it.
                let complete = options.filter == nil && variants.isEmpty && plan.outcomes.allSatisfy { $0.status == .passed }
                out.stderr += save(plan.cassettes, prune: complete)
            }
            out.stdout = report(plan.outcomes, skipped: plan.skipped, format: options.format, matrix: !variants.isEmpty)
            let counts = TestReport.counts(plan.outcomes, skipped: plan.skipped)
            out.exitCode =
                counts.errors > 0 ? CommandOutput.Exit.usage : counts.failed > 0 ? CommandOutput.Exit.failure : CommandOutput.Exit.ok
        } catch {
            out.stderr += "prellm test: \(error.message)\n"
            out.exitCode = CommandOutput.Exit.usage
        }
        return out
    }

    /// The workflow files the paths name (folders searched as lint searches them).
    static func files(_ paths: [String]) throws(UsageError) -> [String] {
        var files: [String] = []
        for path in paths {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw UsageError(message: "'\(path)' does not exist") }
            files += isDir.boolValue ? WorkflowFiles.find(in: path) : [path]
        }
        return files
    }

    static func providerOverrides(_ config: String?) throws(UsageError) -> [String: ProviderDirectory.Override] {
        guard let config else { return [:] }
        let (loaded, rendered) = ProviderSettings.load(config)
        guard let loaded else { throw UsageError(message: "the config does not load:\n" + rendered) }
        return loaded.providerOverrides
    }

    /// Compiles every file; one that does not compile is an error outcome of its own, with
    /// its diagnostics.
    static func plan(_ files: [String], _ options: TestOptions, _ variants: [(alias: String, models: [String])]) throws(UsageError) -> Plan {
        var plan = Plan()
        let compiler = WorkflowCompiler()
        for file in files {
            let result = compiler.compile(path: file)
            if result.config != nil { continue }
            guard let program = result.graph, !result.hasErrors else {
                plan.diagnostics += DiagnosticRenderer.text(result.diagnostics, sources: result.sources)
                plan.outcomes.append(notCompiled(file, result))
                continue
            }
            let selected = program.tests.filter { options.filter.map($0.name.contains) ?? true }
            plan.skipped += program.tests.count - selected.count
            guard !selected.isEmpty else { continue }
            let cassette: Cassette
            do { cassette = try Cassette(path: Cassette.path(for: file)) } catch { throw UsageError(message: error.message) }
            plan.cassettes.append(cassette)
            for (name, version) in try programs(program, variants) {
                let runner = TestRunner(program: version, file: FilePaths.display(file))
                plan.jobs += selected.map { Job(runner: runner, test: $0, variant: name, cassette: cassette) }
            }
        }
        return plan
    }

    static func notCompiled(_ file: String, _ result: CompileResult) -> TestOutcome {
        let errors = result.diagnostics.filter { $0.severity == .error }
        return TestOutcome(
            file: FilePaths.display(file), test: TestOutcome.compile, span: errors.first?.span ?? .unknown, variant: nil, status: .error,
            failures: [
                .init(
                    what: "compile", expected: "the workflow compiles",
                    actual: errors.map { "\($0.span.start): \($0.message)" }.joined(separator: "; "))
            ],
            costUSD: nil, tokens: 0, latency: .zero)
    }

    /// Writes the cassettes that recorded something; says what was written.
    static func save(_ cassettes: [Cassette], prune: Bool) -> String {
        var note = ""
        for c in cassettes where c.changed {
            do {
                try c.save(prune: prune)
                note += "recorded \(c.count) answer\(c.count == 1 ? "" : "s") in \(FilePaths.display(c.path))\n"
            } catch {
                note += "prellm test: \(error.message)\n"
            }
        }
        return note
    }

    static func report(_ outcomes: [TestOutcome], skipped: Int, format: TestReport.Format, matrix: Bool) -> String {
        switch format {
        case .text: TestReport.text(outcomes, skipped: skipped) + (matrix ? "\n" + TestReport.matrix(outcomes) : "")
        case .json: TestReport.json(outcomes, skipped: skipped).prettyJSONText + "\n"
        case .junit: TestReport.junit(outcomes)
        case .github: TestReport.github(outcomes, skipped: skipped)
        }
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
    static func programs(_ program: StepGraph, _ variants: [(alias: String, models: [String])]) throws(UsageError) -> [(String?, StepGraph)] {
        let mine = variants.filter { v in program.routes.contains { $0.name == v.alias } }
        guard !mine.isEmpty else { return [(nil, program)] }
        var out: [(String?, StepGraph)] = []
        for v in mine {
            for m in v.models {
                do { out.append(("\(v.alias)=\(m)", try program.replacingModels([v.alias: m]))) } catch {
                    throw UsageError(message: "--models: \(error.message)")
                }
            }
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
