import PrellmCompiler
import PrellmSyntax

/// An open document, and what compiling it gave.
struct Document {
    var uri: String
    /// Its absolute path: what the compiler names its diagnostics with.
    var path: String
    var version: Int
    var text: String
    /// The last compile; nil for files that are not workflows (no top-level `prellm:`).
    var compiled: CompileResult?

    var source: Source { Source(path: path, text: text) }
    var workflow: Workflow? { compiled?.workflow }
    var analysis: WorkflowAnalysis? { compiled?.analysis }

    /// Files with a top-level `prellm:` key are workflow or config files; other YAML is not ours.
    static func isWorkflowFile(_ text: String) -> Bool {
        text.split(separator: "\n", omittingEmptySubsequences: false).contains { $0.hasPrefix("prellm:") }
    }
}

/// The open documents. Each is compiled against the others' unsaved text, so a workflow is
/// checked against the import or prompt file as it is being typed, and a change to one file
/// re-checks every open file that depends on it.
struct Workspace {
    private(set) var documents: [String: Document] = [:]

    subscript(uri: String) -> Document? { documents[uri] }

    /// Opens or replaces a document; returns the URIs to re-publish: it, then its dependants.
    mutating func update(_ uri: String, text: String, version: Int) -> [String] {
        documents[uri] = Document(uri: uri, path: LSP.path(of: uri), version: version, text: text)
        return recompile(startingAt: uri)
    }

    /// Closes a document; its dependants are re-checked against the file on disk.
    mutating func close(_ uri: String) -> [String] {
        guard let closed = documents.removeValue(forKey: uri) else { return [] }
        return recompile(dependantsOf: [closed.path])
    }

    private mutating func recompile(startingAt uri: String) -> [String] {
        compile(uri)
        guard let path = documents[uri]?.path else { return [uri] }
        return [uri] + recompile(dependantsOf: [path])
    }

    /// Re-compiles every open document that depends on a changed file, then those depending on
    /// them, each once.
    private mutating func recompile(dependantsOf changed: Set<String>) -> [String] {
        var changed = changed, done: [String] = []
        while let next = documents.values.first(where: { d in
            !done.contains(d.uri) && !changed.contains(d.path) && !(d.compiled?.dependencies.isDisjoint(with: changed) ?? true)
        }) {
            compile(next.uri)
            done.append(next.uri)
            changed.insert(next.path)
        }
        return done.sorted()
    }

    private mutating func compile(_ uri: String) {
        guard var doc = documents[uri] else { return }
        doc.compiled = nil
        if Document.isWorkflowFile(doc.text) {
            var unsaved: [String: String] = [:]
            for d in documents.values where d.uri != uri { unsaved[d.path] = d.text }
            let source = doc.source
            doc.compiled = FilePaths.$unsaved.withValue(unsaved) { WorkflowCompiler().compile(source: source) }
        }
        documents[uri] = doc
    }
}
