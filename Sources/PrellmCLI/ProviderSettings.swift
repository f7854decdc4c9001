import PrellmCompiler
import PrellmProviders
import PrellmSyntax

/// Turning a config file's `providers` section into provider overrides.
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

    static func overrides(_ config: ConfigFile?) -> [String: ProviderDirectory.Override] {
        var out: [String: ProviderDirectory.Override] = [:]
        for p in config?.providers ?? [] {
            var timeouts: ProviderTimeouts?
            if p.connectTimeout != nil || p.firstTokenTimeout != nil || p.idleTimeout != nil || p.totalTimeout != nil {
                var t = ProviderTimeouts()
                if let v = p.connectTimeout { t.connect = v }
                if let v = p.firstTokenTimeout { t.firstToken = v }
                if let v = p.idleTimeout { t.idle = v }
                if let v = p.totalTimeout { t.total = v }
                timeouts = t
            }
            out[p.name.value] = ProviderDirectory.Override(
                baseURL: p.baseURL, apiKeyVariable: p.apiKeyEnv, apiKeyFile: p.apiKeyFile, headers: p.headers,
                timeouts: timeouts, origin: "providers.\(p.name.value) in \(config!.file)")
        }
        return out
    }
}
