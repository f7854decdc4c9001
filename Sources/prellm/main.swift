import ArgumentParser
import Foundation
import PrellmCLI
import PrellmCompiler
import PrellmSyntax

extension DiagnosticReport.Format: ExpressibleByArgument {}
extension StepGraph.Format: ExpressibleByArgument {}

/// Writes a command's output and exits with its code.
func finish(_ out: CommandOutput) -> Never {
    FileHandle.standardOutput.write(Data(out.stdout.utf8))
    FileHandle.standardError.write(Data(out.stderr.utf8))
    exit(out.exitCode)
}

struct Prellm: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prellm",
        abstract: "Compile, check and run LLM workflows written in YAML.",
        discussion: "Exit codes: 0 success, 1 errors found (lint) / invalid data (validate), 2 usage, I/O or compile error.",
        subcommands: [Lint.self, Graph.self, Validate.self, Run.self])
}

struct Lint: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check workflow files and report every problem with its position.",
        discussion: "Folders are searched recursively for *.yaml / *.yml files with a top-level 'prellm:' key.")

    @Argument(help: "Files or folders (default: the current folder).") var paths: [String] = []
    @Option(help: "Output format: text, json, github or sarif.") var format: DiagnosticReport.Format = .text
    @Flag(help: "Treat warnings as errors.") var warningsAsErrors = false
    @Option(help: "Files to compile at once (default: one per core).") var jobs: Int?

    func validate() throws {
        if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1") }
    }

    func run() throws {
        let color = format == .text && isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
        finish(LintCommand.run(.init(paths: paths, format: format, warningsAsErrors: warningsAsErrors, color: color, jobs: jobs)))
    }
}

struct Graph: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print a workflow's compiled step graph.")
    @Argument(help: "The workflow file.") var file: String
    @Option(help: "mermaid, dot or json.") var format: StepGraph.Format = .mermaid
    func run() throws { finish(GraphCommand.run(file: file, format: format)) }
}

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate JSON data against a JSON Schema 2020-12 contract.",
        discussion: "Exit codes: 0 all valid, 1 some invalid, 2 usage or I/O error.")
    @Option(help: "The schema (JSON, or YAML by extension).") var schema: String
    @Flag(help: "Validate each line of standard input; print one JSON result per line.") var jsonl = false
    @Argument(help: "JSON files to validate.") var files: [String] = []

    func run() throws {
        if jsonl {
            let lines = AnyIterator { readLine(strippingNewline: true) }
            finish(ValidateCommand.runLines(schema: schema, lines: lines) { print($0) })
        }
        finish(ValidateCommand.run(schema: schema, files: files))
    }
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run a workflow (same as prellm-run).")
    @Argument(help: "The workflow file.") var file: String
    @Option(name: .customLong("input"), help: "An input as name=value (repeatable).") var inputs: [String] = []
    @Option(name: .customLong("inputs"), help: "A JSON file of inputs.") var inputsFile: String?
    func run() throws { finish(RunCommand.run(.init(file: file, inputs: inputs, inputsFile: inputsFile))) }
}

Prellm.main()
