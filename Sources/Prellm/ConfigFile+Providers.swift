import PrellmCompiler
import PrellmProviders

extension ConfigFile {
    /// The `providers` section as overrides of what the environment says, one per provider name.
    /// The CLI and the gateway both read a config through this, so that a setting (a base URL, a key
    /// file, a timeout) means the same thing in `prellm call`, `prellm run` and `prellm serve`.
    public var providerOverrides: [String: ProviderDirectory.Override] {
        var out: [String: ProviderDirectory.Override] = [:]
        for p in providers {
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
                format: p.format.flatMap(ProviderConfiguration.WireFormat.init(rawValue:)), baseURL: p.baseURL, apiKeyVariable: p.apiKeyEnv,
                apiKeyFile: p.apiKeyFile, headers: p.headers,
                timeouts: timeouts, origin: "providers.\(p.name.value) in \(file)")
        }
        return out
    }
}
