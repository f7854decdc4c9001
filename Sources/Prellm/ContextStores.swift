import Foundation
import PrellmCompiler
import PrellmMemory

/// Where named contexts are kept: the store a config's `memory:` names (a ChromaDB server, or
/// a SQLite file), else `$PRELLM_HOME/contexts.sqlite` (`~/.prellm/contexts.sqlite`). The
/// `prellm context` commands, `prellm run`, the one-shot form and the gateway all open it here,
/// so a context added by one is the context the others recall from.
public enum ContextStores {
    public static func defaultPath(environment: [String: String]) -> String {
        let home = environment["PRELLM_HOME"] ?? ((environment["HOME"] ?? NSHomeDirectory()) + "/.prellm")
        return home + "/contexts.sqlite"
    }

    /// `path` (a `--store` flag) overrides the config; a SQLite file's folder is made if missing.
    public static func open(
        _ memory: ConfigFile.Memory?, path: String? = nil, environment: [String: String]
    ) throws(MemoryError)
        -> any ContextStore
    {
        if path == nil, let chroma = memory?.chroma {
            return ChromaContextStore(url: chroma.url, tenant: chroma.tenant, database: chroma.database)
        }
        let file = path ?? memory?.storePath ?? defaultPath(environment: environment)
        let folder = (file as NSString).deletingLastPathComponent
        if !folder.isEmpty { try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
        return try SQLiteContextStore(path: file)
    }
}
