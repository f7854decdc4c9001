import PrellmCompiler
import PrellmSyntax

/// Loading the config file that `call`, `run` and `serve` read (its `providers` section becomes
/// `ConfigFile.providerOverrides`).
enum ProviderSettings {
    /// Loads a config file; on any error, returns the rendered diagnostics instead.
    static func load(_ path: String) -> (ConfigFile?, String) {
        let result = WorkflowCompiler().compile(path: path)
        let rendered = DiagnosticRenderer.text(result.diagnostics, sources: result.sources)
        guard let config = result.config, !result.hasErrors else {
            return (nil, result.config == nil && !result.hasErrors ? "\(path) is not a config file (it has no 'providers:')\n" : rendered)
        }
        return (config, rendered)
    }
}
