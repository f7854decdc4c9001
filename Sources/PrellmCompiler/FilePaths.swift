import Foundation

/// File access for the compiler: paths relative to the file that names them.
public enum FilePaths {
    /// Texts that stand in for files, by absolute path: an editor's unsaved buffers, so that a
    /// workflow is checked against the import or prompt file as it is being typed.
    @TaskLocal public static var unsaved: [String: String] = [:]

    /// Whether a file exists, counting unsaved buffers.
    static func exists(_ path: String) -> Bool {
        unsaved[path] != nil || FileManager.default.fileExists(atPath: path)
    }

    public static func resolve(_ path: String, relativeTo file: String) -> String {
        if path.hasPrefix("/") { return URL(fileURLWithPath: path).standardized.path }
        // Absolute first: standardising a relative URL drops leading '..' segments.
        let dir = URL(fileURLWithPath: file).absoluteURL.deletingLastPathComponent()
        return dir.appendingPathComponent(path).standardized.path
    }

    /// The absolute, standardised form of a path (relative paths are taken from the working directory).
    public static func absolute(_ path: String) -> String {
        URL(fileURLWithPath: path).absoluteURL.standardized.path
    }

    /// Files matching a path that may end in a `*` pattern (`workflows/*.yaml`), sorted.
    static func glob(_ pattern: String, relativeTo file: String) -> [String] {
        let full = resolve(pattern, relativeTo: file)
        guard full.contains("*") else { return FileManager.default.fileExists(atPath: full) ? [full] : [] }
        let dir = (full as NSString).deletingLastPathComponent, name = (full as NSString).lastPathComponent
        let parts = name.split(separator: "*", omittingEmptySubsequences: false).map(String.init)
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return entries.filter { e in
            guard e.hasPrefix(parts.first!), e.hasSuffix(parts.last!), e.count >= parts.first!.count + parts.last!.count else { return false }
            var rest = Substring(e.dropFirst(parts.first!.count).dropLast(parts.last!.count))
            for middle in parts.dropFirst().dropLast() {
                guard let r = rest.range(of: middle) else { return false }
                rest = rest[r.upperBound...]
            }
            return true
        }.sorted().map { dir + "/" + $0 }
    }

    /// How a file the compiler found (an import, a prompt file, a schema) is named in
    /// diagnostics: relative to the working directory, as CI annotations and editors expect —
    /// `../shared/x.yaml` for a neighbour, the absolute path only when nothing is shared.
    public static func display(_ absolute: String) -> String {
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).standardized.pathComponents
        let target = URL(fileURLWithPath: absolute).standardized.pathComponents
        var common = 0
        while common < min(cwd.count, target.count), cwd[common] == target[common] { common += 1 }
        guard common > 1 else { return absolute }  // only "/" in common
        let ups = Array(repeating: "..", count: cwd.count - common)
        return (ups + target[common...]).joined(separator: "/")
    }

    static func read(_ path: String) -> String? {
        if let text = unsaved[path] { return text }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue else { return nil }
        return try? String(contentsOfFile: path, encoding: .utf8)
    }
}
