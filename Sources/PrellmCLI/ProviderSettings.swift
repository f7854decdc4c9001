import PrellmCompiler
import PrellmSyntax

/// Loading the config file that `call`, `run` and `serve` read (its `providers` section becomes
/// `ConfigFile.providerOverrides`).
enum ProviderSettings {
    /// Loads a config file; on any error, returns the rendered diagnostics instead.
    static func load(_ path: String) -> (ConfigFile?, String) { load(WorkflowCompiler().compile(path: path), named: path) }

    /// A config given as text (the empty one, or the one serve's flags stand for).
    static func load(source: Source) -> (ConfigFile?, String) { load(WorkflowCompiler().compile(source: source), named: source.path) }

    static func load(_ result: CompileResult, named path: String) -> (ConfigFile?, String) {
        let rendered = DiagnosticRenderer.text(result.diagnostics, sources: result.sources)
        guard let config = result.config, !result.hasErrors else {
            return (nil, result.config == nil && !result.hasErrors ? "\(path) is not a config file (it has no 'providers:')\n" : rendered)
        }
        return (config, rendered)
    }
}
