import PrellmCommandLine

/// `prellm-run FILE`: the same as `prellm run FILE` (the command lives in PrellmCommandLine, so
/// that `prellm` runs it too when invoked as a link named prellm-run).
@main
enum PrellmRun {
    static func main() async { await PrellmRunCommand.main() }
}
