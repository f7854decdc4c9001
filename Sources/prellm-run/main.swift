import ArgumentParser
import Foundation
import PrellmCLI

/// `prellm-run FILE`: the same as `prellm run FILE`.
struct PrellmRun: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "prellm-run", abstract: "Run a prellm workflow.")
    @Argument(help: "The workflow file.") var file: String
    @Option(name: .customLong("input"), help: "An input as name=value (repeatable).") var inputs: [String] = []
    @Option(name: .customLong("inputs"), help: "A JSON file of inputs.") var inputsFile: String?

    func run() throws {
        let out = RunCommand.run(.init(file: file, inputs: inputs, inputsFile: inputsFile))
        FileHandle.standardOutput.write(Data(out.stdout.utf8))
        FileHandle.standardError.write(Data(out.stderr.utf8))
        Foundation.exit(out.exitCode)
    }
}

PrellmRun.main()
