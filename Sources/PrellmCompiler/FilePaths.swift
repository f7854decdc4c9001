import Foundation

/// File access for the compiler: paths relative to the file that names them.
enum FilePaths {
    static func resolve(_ path: String, relativeTo file: String) -> String {
        if path.hasPrefix("/") { return URL(fileURLWithPath: path).standardized.path }
        // Absolute first: standardising a relative URL drops leading '..' segments.
        let dir = URL(fileURLWithPath: file).absoluteURL.deletingLastPathComponent()
        return dir.appendingPathComponent(path).standardized.path
    }

    /// The absolute, standardised form of a path (relative paths are taken from the working directory).
    static func absolute(_ path: String) -> String {
        URL(fileURLWithPath: path).absoluteURL.standardized.path
    }

    static func read(_ path: String) -> String? {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue else { return nil }
        return try? String(contentsOfFile: path, encoding: .utf8)
    }
}
