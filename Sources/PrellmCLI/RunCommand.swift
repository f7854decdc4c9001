import Dispatch
import Foundation
import Prellm
import PrellmCompiler
import PrellmProviderKit
import PrellmProviders
import PrellmRuntime
import PrellmSchema
import PrellmSyntax
import PrellmTelemetry

/// `prellm run FILE` / `prellm-run FILE`: compile, check the inputs, run, and report.
///
/// Exit codes: 0 done; 1 the workflow failed (validation exhausted, budget exceeded, every
/// model failed, …); 2 usage or compile error; 130 interrupted (the trace is still written).
public struct RunOptions: Sendable {
    public var file: String
    public var inputs: [String]
    public var inputsFile: String?
    public var json = false
    public var trace: String?
    public var dryRun = false
    public var noCache = false
    public var redactPrompts = false
    public var config: String?
    /// A SQLite file that keeps cached answers across runs (memory only when nil).
    public var cacheFile: String?
    /// Cancel the run on Ctrl-C (the command line sets this; tests do not).
    public var handleInterrupts = false
    /// Show a spinner on stderr (the command line sets this when stderr is a terminal).
    public var interactive = false

    public init(
        file: String, inputs: [String] = [], inputsFile: String? = nil, json: Bool = false, trace: String? = nil,
        dryRun: Bool = false, noCache: Bool = false, redactPrompts: Bool = false, config: String? = nil
    ) {
        self.file = file
        self.inputs = inputs
        self.inputsFile = inputsFile
        self.json = json
        self.trace = trace
        self.dryRun = dryRun
        self.noCache = noCache
        self.redactPrompts = redactPrompts
        self.config = config
    }
}

public enum RunCommand {
    public static let interrupted: Int32 = 130

    public static func run(
        _ options: RunOptions, environment: [String: String], write: @escaping @Sendable (String) -> Void,
        progress: @escaping @Sendable (String) -> Void
    ) async -> CommandOutput {
        // The config's own providers (`gpu-a: {format: openai, …}`) are names the workflow may
        // use; execute reports a config that does not load.
        let compiler = WorkflowCompiler()
        if let path = options.config, let config = ProviderSettings.load(path).0 { compiler.providers = config.providerNames }
        return await execute(
            compiler.compile(path: options.file), options, modelOverrides: [:], environment: environment, write: write,
            progress: progress)
    }

    /// Runs a compiled workflow (a file, or a built-in strategy for the one-shot form).
    static func execute(
        _ result: CompileResult, _ options: RunOptions, modelOverrides: [String: String], environment: [String: String],
        write: @escaping @Sendable (String) -> Void, progress: @escaping @Sendable (String) -> Void
    ) async -> CommandOutput {
        var out = CommandOutput()
        func usage(_ message: String) -> CommandOutput {
            out.stderr += "prellm run: \(message)\n"
            out.exitCode = CommandOutput.Exit.usage
            return out
        }
        if !result.diagnostics.isEmpty { out.stderr += DiagnosticRenderer.text(result.diagnostics, sources: result.sources) }
        guard let compiled = result.graph, !result.hasErrors else {
            if result.diagnostics.contains(where: { $0.code == .unreadable }) || result.workflow == nil && !result.hasErrors {
                return usage(result.config != nil ? "'\(options.file)' is a config file, not a workflow" : "cannot read '\(options.file)'")
            }
            out.exitCode = CommandOutput.Exit.usage
            return out
        }
        let program: StepGraph
        do { program = try compiled.replacingModels(modelOverrides) } catch { return usage("the model \(error.message)") }
        let interpreter = Interpreter(program)
        let given: [String: JSONValue]
        do { given = try parseInputs(options, program: program) } catch { return usage(error.message) }
        do { _ = try interpreter.prepareInputs(given) } catch { return usage(error.message) }

        var overrides: [String: ProviderDirectory.Override] = [:]
        var memory: ConfigFile.Memory?
        if let path = options.config {
            let (config, rendered) = ProviderSettings.load(path)
            guard let config else { out.stderr += rendered; out.exitCode = CommandOutput.Exit.usage; return out }
            overrides = config.providerOverrides
            memory = config.memory
        }
        let models = CatalogModelAccess(
            directory: ProviderDirectory(environment: environment, overrides: overrides),
            catalog: .builtin, program: program)
        if options.dryRun {
            let plan = DryRunPlan(program, inputs: given, models: models)
            out.stdout = options.json ? plan.json.prettyJSONText + "\n" : "plan for \(options.file) (no request is sent)\n\n" + plan.text
            return out
        }
        let problems = Preflight.problems(program, models: models)
        guard problems.isEmpty else {
            out.stderr += "prellm run: cannot start, nothing was sent:\n" + problems.map { "  - \($0)\n" }.joined()
            out.exitCode = CommandOutput.Exit.usage
            return out
        }
        var context = RunContext(models: models)
        if program.usesContexts {
            do { context.memory = try ContextStores.open(memory, environment: environment) } catch { return usage(error.message) }
        }
        if options.noCache {
            context.cache = nil
        } else if let file = options.cacheFile {
            do { context.cache = try ResponseCache(file: file) } catch { return usage(error.message) }
        }
        context.redactPrompts = options.redactPrompts
        var traceSink: FileTrace?
        if let path = options.trace {
            guard let sink = FileTrace(path: path) else { return usage("cannot write the trace to '\(path)'") }
            traceSink = sink
            context.events = sink
        }
        let telemetry = traced(&context, environment: environment, log: progress)
        let streamed = StreamState()
        let display = ProgressDisplay(interactive: options.interactive, write: progress)
        if !options.json {
            context.onText = { text in
                if !streamed.happened { display.pause() }
                streamed.mark()
                write(text)
                display.streamed(text)
            }
        }
        context.onProgress = { p in display.update(p) }

        let task = Task { await interpreter.run(inputs: given, context: context) }
        var signalSource: (any DispatchSourceSignal)?
        if options.handleInterrupts {
            signal(SIGINT, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: SIGINT)
            source.setEventHandler { task.cancel() }
            source.resume()
            signalSource = source
        }
        let run = await task.value
        display.stop()
        signalSource?.cancel()
        _ = traceSink
        // The spans go before the process does, but a collector that is down delays the exit
        // by two seconds at most.
        await telemetry?.exporter.shutdown(timeout: .seconds(2))

        if options.json {
            out.stdout = run.json.prettyJSONText + "\n"
        } else if run.succeeded {
            if streamed.happened {
                write("\n")
            } else {
                let text = run.output.stringValue ?? run.output.prettyJSONText
                write(text.hasSuffix("\n") ? text : text + "\n")
            }
        }
        out.stderr += summary(run)
        if let error = run.error {
            out.stderr += "prellm run: \(error)\n"
            out.exitCode = error.kind == .cancelled ? interrupted : CommandOutput.Exit.failure
        }
        return out
    }

    /// Adds the OpenTelemetry tracer the environment asks for to the run's sinks; a
    /// `TRACEPARENT` variable (as a CI job or a parent process sets it) makes the run its child.
    static func traced(
        _ context: inout RunContext, environment: [String: String], log: @escaping @Sendable (String) -> Void
    )
        -> Telemetry?
    {
        guard let telemetry = Telemetry.fromEnvironment(environment, version: PrellmVersion.current, log: { log("prellm: \($0)\n") }) else {
            return nil
        }
        context.events = FanOut((context.events.map { [$0] } ?? []) + [telemetry.tracer])
        context.tracing = telemetry.tracer
        context.traceParent = environment["TRACEPARENT"].flatMap(TraceContext.init(traceparent:))
        return telemetry
    }

    final class StreamState: @unchecked Sendable {
        private let lock = NSLock()
        private var streamed = false
        func mark() { lock.lock(); streamed = true; lock.unlock() }
        var happened: Bool { lock.lock(); defer { lock.unlock() }; return streamed }
    }

    static func parseInputs(_ options: RunOptions, program: StepGraph) throws(RunError) -> [String: JSONValue] {
        var values: [String: JSONValue] = [:]
        if let path = options.inputsFile {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw RunError(.invalidInput, "cannot read inputs file '\(path)'")
            }
            do {
                guard case .object(let o) = try JSONParser.parse(text) else {
                    throw RunError(.invalidInput, "'\(path)' must hold a JSON object of input names to values")
                }
                values = o
            } catch let e as JSONParser.ParseError {
                throw RunError(.invalidInput, "\(path):\(e.line):\(e.column): \(e.message)")
            } catch { throw error as! RunError }
        }
        for pair in options.inputs {
            guard let eq = pair.firstIndex(of: "=") else { throw RunError(.invalidInput, "--input takes name=value, found '\(pair)'") }
            let name = String(pair[..<eq]), raw = String(pair[pair.index(after: eq)...])
            let declared = program.inputIndex[name].map { program.inputs[$0] }
            // A value is text unless the input is declared with another type; then it is JSON.
            if let declared, !declared.type.isStringLike, declared.type != .any, let parsed = try? JSONParser.parse(raw) {
                values[name] = parsed
            } else {
                values[name] = .string(raw)
            }
        }
        return values
    }

    static func line(_ p: StepProgress) -> String {
        let mark: String =
            switch p.state {
            case .running: "…"
            case .done: "✓"
            case .skipped: "–"
            case .failed: "✗"
            case .retrying: "↻"
            }
        var parts = ["\(mark) \(p.step)"]
        if let m = p.model { parts.append(m) }
        if p.state != .running, p.state != .skipped {
            if let u = p.usage { parts.append("\(u.totalTokens) tok") }
            if let c = p.costUSD { parts.append("$\(CallCommand.money(c))") }
            parts.append("\(p.elapsed.components.seconds * 1000 + p.elapsed.components.attoseconds / 1_000_000_000_000_000) ms")
        }
        if p.state == .skipped { parts.append("skipped") }
        if let d = p.detail { parts.append(d) }
        return parts.joined(separator: "  ") + "\n"
    }

    static func summary(_ r: RunResult) -> String {
        let ms = r.elapsed.components.seconds * 1000 + r.elapsed.components.attoseconds / 1_000_000_000_000_000
        var s = "\(r.succeeded ? "done" : "failed") in \(ms) ms · \(r.usage.totalTokens) tokens · "
        s += r.costUSD.map { "$\(CallCommand.money($0))" } ?? "cost unknown"
        let models = r.steps.compactMap { step in step.modelUsed.map { "\(step.id): \($0)\(step.status == .cached ? " (cached)" : "")" } }
        if !models.isEmpty { s += " · " + models.joined(separator: ", ") }
        return s + "\n"
    }
}
