import ArgumentParser
import Foundation
import PrellmCLI

/// The options `prellm run` and `prellm-run` share.
public struct RunArguments: ParsableArguments {
    public init() {}

    @Argument(help: "The workflow file.") var file: String
    @Option(name: .customLong("input"), help: "An input as name=value (repeatable).") var inputs: [String] = []
    @Option(name: .customLong("inputs"), help: "A JSON file of inputs.") var inputsFile: String?
    @Flag(help: "Print one JSON object with the output, steps, usage, cost and trace id (with --dry-run: the plan).") var json = false
    @Option(help: "Write a JSONL trace (one line per step attempt) to this file.") var trace: String?
    @Flag(help: "Compile, render what can be rendered and print the plan with its bound on calls, tokens and cost; send nothing.") var dryRun = false
    @Flag(help: "Do not reuse cached answers.") var noCache = false
    @Option(help: "Keep cached answers in this SQLite file, across runs.") var cacheFile: String?
    @Flag(help: "Put prompt hashes, not prompts, in the trace.") var redactPrompts = false
    @Option(help: "A config file whose 'providers' section overrides the environment.") var config: String?

    public func execute() async -> CommandOutput {
        var o = RunOptions(
            file: file, inputs: inputs, inputsFile: inputsFile, json: json, trace: trace, dryRun: dryRun,
            noCache: noCache, redactPrompts: redactPrompts, config: config)
        o.cacheFile = cacheFile
        o.handleInterrupts = true
        o.interactive = isatty(STDERR_FILENO) == 1 && ProcessInfo.processInfo.environment["TERM"] != "dumb"
        return await RunCommand.run(
            o, environment: ProcessInfo.processInfo.environment,
            write: { FileHandle.standardOutput.write(Data($0.utf8)) },
            progress: { FileHandle.standardError.write(Data($0.utf8)) })
    }
}
