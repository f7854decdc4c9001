import Dispatch
import Foundation
import PrellmCompiler
import PrellmSyntax

/// `prellm lint [PATH…]`: compile workflow files and report every diagnostic.
public struct LintOptions: Sendable {
    public var paths: [String]
    public var format: DiagnosticReport.Format = .text
    public var warningsAsErrors = false
    public var color = false
    /// Files compiled at once; nil uses every core.
    public var jobs: Int?
    /// A config file whose own providers the workflows may name (`--config`).
    public var config: String?

    public init(
        paths: [String], format: DiagnosticReport.Format = .text, warningsAsErrors: Bool = false,
        color: Bool = false, jobs: Int? = nil, config: String? = nil
    ) {
        self.config = config
        self.paths = paths.isEmpty ? ["."] : paths
        self.format = format
        self.warningsAsErrors = warningsAsErrors
        self.color = color
        self.jobs = jobs
    }
}

public enum LintCommand {
    public static func run(_ options: LintOptions) -> CommandOutput {
        var out = CommandOutput()
        var files: [String] = []
        // A path that does not exist is reported in the chosen format (a SARIF notification,
        // a JSON entry), so a CI step that reads the output still gets a valid document.
        var missing: [String] = []
        for path in options.paths {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
                missing.append(path)
                continue
            }
            if isDir.boolValue { files += WorkflowFiles.find(in: path) } else { files.append(path) }
        }
        var providers = ConfigFile.builtinProviders
        if let path = options.config {
            let (config, rendered) = ProviderSettings.load(path)
            guard let config else {
                out.stderr += "prellm lint: the config \(path) does not load:\n" + rendered
                out.exitCode = CommandOutput.Exit.usage
                return out
            }
            providers = config.providerNames
        }
        let results = compileAll(files, jobs: options.jobs, providers: providers)
        var diagnostics: [Diagnostic] = []
        var sources: [String: Source] = [:]
        for r in results where !r.diagnostics.isEmpty {
            diagnostics += r.diagnostics
            sources.merge(r.sources) { a, _ in a }
        }
        if options.warningsAsErrors {
            diagnostics = diagnostics.map {
                var d = $0; if d.severity == .warning { d.severity = .error }; return d
            }
        }
        let failures = missing.map { "'\($0)' does not exist" }
        for failure in failures where options.format == .text || options.format == .github {
            out.stderr += "prellm lint: \(failure)\n"
        }
        switch options.format {
        case .sarif:
            out.stdout = DiagnosticReport.sarif(diagnostics, sources: sources, failures: failures).jsonText + "\n"
        case .json:
            let unreadable = zip(missing, failures).map { Diagnostic(.unreadable, file: $0, span: .unknown, message: $1) }
            out.stdout = DiagnosticReport.render(unreadable + diagnostics, format: .json, sources: sources)
        case .text, .github:
            out.stdout = DiagnosticReport.render(diagnostics, format: options.format, sources: sources, color: options.color)
        }
        let errors = diagnostics.filter { $0.severity == .error }.count
        let warnings = diagnostics.filter { $0.severity == .warning }.count
        if options.format == .text {
            out.stderr +=
                "checked \(files.count) file\(files.count == 1 ? "" : "s"): \(errors) error\(errors == 1 ? "" : "s"), \(warnings) warning\(warnings == 1 ? "" : "s")\n"
        }
        if !missing.isEmpty || diagnostics.contains(where: { $0.code == .unreadable }) {
            out.exitCode = CommandOutput.Exit.usage
        } else {
            out.exitCode = errors > 0 ? CommandOutput.Exit.failure : CommandOutput.Exit.ok
        }
        return out
    }

    /// Compiles files on every core; each worker has its own compiler (and import cache).
    public static func compileAll(_ files: [String], jobs: Int? = nil, providers: [String] = ConfigFile.builtinProviders) -> [CompileResult] {
        let workers = min(files.count, max(1, jobs ?? ProcessInfo.processInfo.activeProcessorCount))
        guard workers > 1 else {
            let compiler = WorkflowCompiler()
            compiler.providers = providers
            return files.map { compiler.compile(path: $0).forReporting }
        }
        let results = ResultSlots(count: files.count)
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let compiler = WorkflowCompiler()
            compiler.providers = providers
            var i = w
            while i < files.count {
                results.set(i, compiler.compile(path: files[i]).forReporting)
                i += workers
            }
        }
        return results.values
    }
}

extension CompileResult {
    /// Only what a report needs: diagnostics, and the sources they point into.
    var forReporting: CompileResult {
        guard !diagnostics.isEmpty else { return CompileResult(workflow: nil, graph: nil, diagnostics: [], sources: [:]) }
        let files = Set(diagnostics.map(\.file))
        return CompileResult(workflow: nil, graph: nil, diagnostics: diagnostics, sources: sources.filter { files.contains($0.key) })
    }
}

/// Result slots written by concurrent workers, each slot by exactly one worker.
final class ResultSlots: @unchecked Sendable {
    private var slots: [CompileResult?]
    private let lock = NSLock()
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ r: CompileResult) { lock.lock(); slots[i] = r; lock.unlock() }
    var values: [CompileResult] { lock.lock(); defer { lock.unlock() }; return slots.map { $0! } }
}

/// Finding workflow files: every `*.yaml` / `*.yml` below a folder whose top level has a `prellm:` key.
public enum WorkflowFiles {
    public static func find(in folder: String) -> [String] {
        guard let e = FileManager.default.enumerator(atPath: folder) else { return [] }
        var out: [String] = []
        for case let rel as String in e {
            if rel.split(separator: "/").contains(where: { $0.hasPrefix(".") && $0 != "." && $0 != ".." }) { continue }
            guard rel.hasSuffix(".yaml") || rel.hasSuffix(".yml") else { continue }
            let path = folder == "." ? rel : (folder.hasSuffix("/") ? folder + rel : folder + "/" + rel)
            if isWorkflow(path) { out.append(path) }
        }
        return out.sorted()
    }

    /// True when the file has a top-level `prellm:` key (a line starting with it).
    public static func isWorkflow(_ path: String) -> Bool {
        guard let data = FileManager.default.contents(atPath: path) else { return false }
        let key = Array("prellm:".utf8)
        return data.withUnsafeBytes { raw -> Bool in
            let b = raw.bindMemory(to: UInt8.self)
            var lineStart = 0
            while lineStart + key.count <= b.count {
                if b[lineStart] == key[0], (0..<key.count).allSatisfy({ b[lineStart + $0] == key[$0] }) { return true }
                guard let nl = b[lineStart...].firstIndex(of: UInt8(ascii: "\n")) else { return false }
                lineStart = nl + 1
            }
            return false
        }
    }
}
