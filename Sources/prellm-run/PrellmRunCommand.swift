import ArgumentParser
import Foundation
import PrellmCLI
import PrellmCommandLine

/// `prellm-run FILE`: the same as `prellm run FILE`.
@main
struct PrellmRun: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prellm-run", abstract: "Run a prellm workflow.",
        discussion: "Exit codes: 0 done, 1 the workflow failed, 2 usage or compile error, 130 interrupted.",
        version: PrellmVersion.full)

    @OptionGroup var options: RunArguments

    func run() async throws {
        let out = await options.execute()
        FileHandle.standardOutput.write(Data(out.stdout.utf8))
        FileHandle.standardError.write(Data(out.stderr.utf8))
        Foundation.exit(out.exitCode)
    }
}
