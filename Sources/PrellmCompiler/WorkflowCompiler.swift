import Foundation
import PrellmProviderKit
import PrellmSchema
import PrellmSyntax

/// A CompileResult is what compiling one file gives: the decoded workflow and its graph when
/// there were no errors, and every diagnostic in source order.
public struct CompileResult: Sendable {
    public init(workflow: Workflow?, graph: StepGraph?, diagnostics: [Diagnostic], sources: [String: Source]) {
        self.workflow = workflow
        self.graph = graph
        self.diagnostics = diagnostics
        self.sources = sources
    }

    public var workflow: Workflow?
    public var graph: StepGraph?
    /// Set instead of `workflow` when the file is a config file (`providers:`, no `steps:`).
    public var config: ConfigFile?
    public var diagnostics: [Diagnostic]
    /// Every file read while compiling (the workflow, prompt files, schema files), for rendering.
    public var sources: [String: Source]
    /// What the checker learned, kept even when there are errors (nil when the file did not
    /// decode far enough to check): for editors.
    public var analysis: WorkflowAnalysis?
    /// The absolute paths of every other file this one depends on: its imports (and theirs),
    /// prompt files and schema files. An editor re-checks the file when one of them changes.
    public var dependencies: Set<String> = []

    public var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }
}

/// The WorkflowCompiler runs the passes over a file: read YAML (bounded) → decode the shape →
/// resolve imports → check names, flow and types, building the program (StepGraph) → bound its
/// cost (BoundCheck). A later pass runs only if the earlier ones found no errors, so one
/// mistake does not cascade into a page of noise.
///
/// It caches compiled imports by absolute path, so a folder linted in one run compiles each
/// shared workflow once. Not thread-safe: use one compiler per task.
public final class WorkflowCompiler {
    public var limits = YAMLReader.Limits()
    /// What the compiler knows of models (names, prices): the built-in `stdlib/models.json`.
    public var catalog = ModelCatalog.builtin
    /// The provider names a `provider/model` may start with: the built-in ones, and those the
    /// serving config defines (`providers: {gpu-a: {format: openai, base_url: …}}`).
    public var providers = ConfigFile.builtinProviders
    /// How many workflows an import chain may pass through (the file itself is the first). A
    /// run recurses once per level, so the chain is bounded like any other nesting.
    public static let maxImportDepth = 16
    private var cache: [String: CompileResult] = [:]

    public init() {}

    public func compile(path: String) -> CompileResult {
        compile(path: FilePaths.absolute(path), displayPath: path, stack: [])
    }

    /// Compiles text as if it were the file at `path` (imports and `$ref`s resolve from there).
    public func compile(source: Source) -> CompileResult {
        compile(source: source, stack: [FilePaths.absolute(source.path)])
    }

    private func compile(path absolute: String, displayPath: String, stack: [String]) -> CompileResult {
        if let hit = cache[absolute] { return hit }
        let text: String
        switch read(absolute, displayPath: displayPath) {
        case .text(let t): text = t
        case .refused(let d): return CompileResult(workflow: nil, graph: nil, diagnostics: [d], sources: [:])
        }
        let result = compile(source: Source(path: displayPath, text: text), stack: stack + [absolute])
        // Only imported workflows are kept: they are the ones compiled again by other files.
        if !stack.isEmpty { cache[absolute] = result }
        return result
    }

    private enum Read {
        case text(String)
        case refused(Diagnostic)
    }

    /// A workflow file's text: an editor's unsaved buffer when there is one, else the file, which
    /// is refused past the size limit before it is read (reading and indexing a huge file would
    /// take seconds for nothing).
    private func read(_ absolute: String, displayPath: String) -> Read {
        if let unsaved = FilePaths.unsaved[absolute] { return .text(unsaved) }
        if let size = (try? FileManager.default.attributesOfItem(atPath: absolute))?[.size] as? Int, size > limits.maxBytes {
            return .refused(
                Diagnostic(
                    .fileTooLarge, file: displayPath, span: .unknown,
                    message: "file is \(size) bytes; the limit is \(limits.maxBytes)", hint: "split the workflow with imports"))
        }
        do {
            return .text(try String(contentsOfFile: absolute, encoding: .utf8))
        } catch {
            let reason = FileManager.default.fileExists(atPath: absolute) ? "cannot read it as UTF-8 text" : "no such file"
            return .refused(Diagnostic(.unreadable, file: displayPath, span: .unknown, message: "cannot read '\(displayPath)': \(reason)"))
        }
    }

    private func compile(source: Source, stack: [String]) -> CompileResult {
        var sources = [source.path: source]
        var bag = DiagnosticBag(file: source.path)
        var analysis: WorkflowAnalysis?
        var dependencies: Set<String> = []
        func finish(_ workflow: Workflow?, _ graph: StepGraph?, _ bag: DiagnosticBag) -> CompileResult {
            var diagnostics = bag.sorted
            if bag.dropped > 0, let last = diagnostics.last {
                diagnostics.append(
                    Diagnostic(
                        last.code, severity: .note, file: source.path, span: last.span,
                        message: "\(bag.dropped) more diagnostics not shown"))
            }
            var result = CompileResult(workflow: workflow, graph: graph, diagnostics: diagnostics, sources: sources)
            result.analysis = analysis
            // The file's own path is in the stack, and in `sources` under its display path.
            result.dependencies = dependencies.union(sources.keys.map(FilePaths.absolute)).subtracting(stack.suffix(1))
            return result
        }
        guard let root = YAMLReader(limits: limits).read(source, into: &bag) else {
            if !bag.hasErrors {
                bag.add(.notWorkflow, .unknown, "the file is empty", hint: "a workflow starts with 'prellm: 1' and has 'steps:'")
            }
            return finish(nil, nil, bag)
        }
        if ConfigFile.isConfig(root) {
            var decoder = ConfigDecoder(d: Decoder(source: source, providers: providers))
            decoder.d.bag = bag
            let config = decoder.decode(root)
            if !decoder.d.bag.hasErrors {
                ModelCatalogCheck(catalog: catalog, providers: decoder.d.providers).check(
                    models: config.models, budget: nil, steps: [], into: &decoder.d.bag)
            }
            var result = finish(nil, nil, decoder.d.bag)
            result.config = config
            return result
        }
        var schemaFiles: [String: Source] = [:]
        var decoder = WorkflowDecoder(source: source, providers: providers) { path, span, bag in
            Self.loadSchemaFile(path, from: source.path, span: span, into: &bag, sources: &schemaFiles)
        }
        decoder.d.bag = bag
        let workflow = decoder.decode(root)
        bag = decoder.d.bag
        sources.merge(schemaFiles) { a, _ in a }
        for step in workflow?.steps ?? [] {
            for file in Self.promptFiles(of: step) where file.path != source.path { sources[file.path] = file }
        }
        guard let workflow else { return finish(nil, nil, bag) }
        // Past a shape error the rest of the file is still checked, but without the checks
        // that a broken step can mislead (what runs where, what is read).
        let shapeErrors = bag.hasErrors
        ModelCatalogCheck(catalog: catalog, providers: providers).check(
            models: workflow.models, budget: workflow.budget, steps: workflow.steps, into: &bag)

        var imported: [String: CompileResult] = [:]
        let here = stack.last ?? source.path
        for imp in workflow.imports {
            let absolute = FilePaths.resolve(imp.path, relativeTo: here)
            if let at = stack.firstIndex(of: absolute) {
                let cycle = (stack[at...].map { URL(fileURLWithPath: $0).lastPathComponent } + [URL(fileURLWithPath: absolute).lastPathComponent])
                bag.add(
                    .importCycle, imp.pathSpan, "import cycle: \(cycle.joined(separator: " → "))",
                    hint: "a workflow cannot import itself, directly or through others")
                continue
            }
            guard stack.count < Self.maxImportDepth else {
                bag.add(
                    .importTooDeep, imp.pathSpan,
                    "this import makes a chain of \(stack.count + 1) workflows; the limit is \(Self.maxImportDepth)",
                    hint: "flatten the chain: import the deeper workflows directly where they are used")
                continue
            }
            dependencies.insert(absolute)
            guard FilePaths.exists(absolute) else {
                bag.add(
                    .importNotFound, imp.pathSpan, "imported workflow '\(imp.path)' not found",
                    hint: "paths are relative to this file (looked at \(FilePaths.display(absolute)))")
                continue
            }
            let result = compile(path: absolute, displayPath: FilePaths.display(absolute), stack: stack)
            dependencies.formUnion(result.dependencies)
            if let cycle = result.diagnostics.first(where: { $0.code == .importCycle }) {
                bag.add(.importCycle, imp.pathSpan, cycle.message, hint: cycle.hint)
                continue
            }
            if let first = result.diagnostics.first(where: { $0.severity == .error }) {
                let n = result.diagnostics.filter { $0.severity == .error }.count
                bag.add(
                    .importHasErrors, imp.pathSpan, "imported workflow '\(imp.path)' has \(n) error\(n == 1 ? "" : "s")",
                    // Through a chain of imports, name the error at the bottom of it.
                    hint: first.code == .importHasErrors ? first.hint : "first: \(first.file):\(first.span.start): \(first.message)")
                continue
            }
            imported[imp.alias.value] = result
        }
        let before = bag.items.count
        var checker = WorkflowChecker(workflow: workflow, bag: bag, imported: imported, providers: providers)
        var graph = checker.check()
        analysis = checker.analysis
        if shapeErrors { checker.bag.remove(since: before) { Self.flowDependent.contains($0.code) } }
        guard !checker.bag.hasErrors else { return finish(workflow, nil, checker.bag) }
        BoundCheck.run(&graph, catalog: catalog, into: &checker.bag)
        return finish(workflow, checker.bag.hasErrors ? nil : graph, checker.bag)
    }

    /// What a step that did not decode can make wrong: its jumps and reads are unknown, so
    /// "read before it has run", "may have been skipped", "unreachable" and "never read" would
    /// be guesses.
    static let flowDependent: Set<DiagnosticCode> = [.readBeforeRun, .maybeSkipped, .unreachable, .unusedInput]

    static func promptFiles(of step: Step) -> [Source] {
        if case .call(_, _, let prompt?, _) = step.body, let file = prompt.source { return [file] }
        if case .map(_, _, _, _, let sub?) = step.body { return promptFiles(of: sub) }
        return []
    }

    /// Loads a schema file named by `$ref` (JSON or YAML), relative to the workflow file.
    static func loadSchemaFile(
        _ ref: String, from file: String, span: Span, into bag: inout DiagnosticBag,
        sources: inout [String: Source]
    ) -> JSONValue? {
        let (pathPart, fragment) = ref.firstIndex(of: "#").map { (String(ref[..<$0]), String(ref[ref.index(after: $0)...])) } ?? (ref, "")
        if pathPart.contains("://") {
            bag.add(
                .refNotFound, span, "$ref '\(ref)' points at the network; contracts are read from files only",
                hint: "save the schema under schemas/ and reference it by path")
            return nil
        }
        let path = FilePaths.resolve(pathPart, relativeTo: file)
        guard let text = FilePaths.read(path) else {
            bag.add(
                .refNotFound, span, "$ref file '\(pathPart)' not found",
                hint: "paths are relative to the workflow (looked at \(FilePaths.display(path)))")
            return nil
        }
        let shown = FilePaths.display(path)
        let source = Source(path: shown, text: text)
        sources[shown] = source
        var fileBag = DiagnosticBag(file: shown)
        guard let node = YAMLReader().read(source, into: &fileBag) else {
            bag.add(
                .refUnreadable, span, "$ref file '\(pathPart)' cannot be parsed: \(fileBag.items.first?.message ?? "invalid")",
                hint: fileBag.items.first.map { "at \(shown):\($0.span.start)" })
            return nil
        }
        var schema = SchemaChecker.check(node, into: &fileBag) { _, _ in }
        if fileBag.hasErrors {
            bag.append(contentsOf: fileBag.items)
            return nil
        }
        if !fragment.isEmpty {
            guard fragment.hasPrefix("/"), let target = SchemaChecker.locate(fragment, in: node) else {
                bag.add(.refNotFound, span, "'#\(fragment)' does not exist in '\(pathPart)'")
                return nil
            }
            // Keep the file's $defs reachable from the extracted part.
            var part = SchemaChecker.json(target)
            if case .object(var o) = part, let defs = schema["$defs"], o["$defs"] == nil { o["$defs"] = defs; part = .object(o) }
            schema = part
        }
        return schema
    }
}
