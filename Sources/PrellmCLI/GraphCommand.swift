import PrellmCompiler
import PrellmSyntax

/// `prellm graph FILE --format mermaid|dot|json`: print the compiled program — the same
/// StepGraph the interpreter runs and the dry run prices.
public enum GraphCommand {
    public static func run(file: String, format: StepGraph.Format) -> CommandOutput {
        var out = CommandOutput()
        let result = WorkflowCompiler().compile(path: file)
        if result.diagnostics.contains(where: { $0.code == .unreadable }) {
            out.stderr = result.diagnostics.map(\.message).joined(separator: "\n") + "\n"
            out.exitCode = CommandOutput.Exit.usage
            return out
        }
        guard let graph = result.graph else {
            out.stderr = DiagnosticRenderer.text(result.diagnostics, sources: result.sources)
            out.exitCode = CommandOutput.Exit.usage
            return out
        }
        if !result.diagnostics.isEmpty {
            out.stderr = DiagnosticRenderer.text(result.diagnostics, sources: result.sources)
        }
        out.stdout = graph.render(format)
        return out
    }
}
