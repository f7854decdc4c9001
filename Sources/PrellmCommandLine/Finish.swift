import Foundation
import PrellmCLI

/// Writes a command's output and exits with its code: how both front ends end a command.
public func finish(_ out: CommandOutput) -> Never {
    FileHandle.standardOutput.write(Data(out.stdout.utf8))
    FileHandle.standardError.write(Data(out.stderr.utf8))
    exit(out.exitCode)
}
