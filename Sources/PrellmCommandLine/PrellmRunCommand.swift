import ArgumentParser
import Foundation
import PrellmCLI

/// `prellm-run FILE`: the same as `prellm run FILE`. Its own executable in a build, and in the
/// release archive and the image a link to `prellm`, which runs it when invoked by that name.
public struct PrellmRunCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "prellm-run", abstract: "Run a prellm workflow.",
        discussion: "Exit codes: 0 done, 1 the workflow failed, 2 usage or compile error, 130 interrupted.",
        version: PrellmVersion.full)

    @OptionGroup var options: RunArguments

    public init() {}

    /// Whether this process was started by the name `prellm-run` (a link to `prellm`, say).
    public static var invoked: Bool {
        URL(fileURLWithPath: CommandLine.arguments.first ?? "").lastPathComponent == configuration.commandName
    }

    public func run() async throws { finish(await options.execute()) }
}
