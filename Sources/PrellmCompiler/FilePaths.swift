import Foundation

/// File access for the compiler: paths relative to the file that names them.
enum FilePaths {
    static func resolve(_ path: String, relativeTo file: String) -> String {
        if path.hasPrefix("/") { return URL(fileURLWithPath: path).standardized.path }
        let dir = URL(fileURLWithPath: file).deletingLastPathComponent()
        return dir.appendingPathComponent(path).standardized.path
    }

    static func read(_ path: String) -> String? {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue else { return nil }
        return try? String(contentsOfFile: path, encoding: .utf8)
    }
}
