import PrellmCompiler
import PrellmSchema
import PrellmSyntax

/// Go to definition and find references: step ids, contracts, model aliases and inputs lead to
/// their declarations; imports, `prompt_file`s and `$ref`s to their files; a step's references
/// are every template and expression that reads it (prompt files included) and every jump to it.
struct Navigation {
    let doc: Document
    let view: ProgramView

    func definition(at cursor: Cursor) -> JSONValue? {
        if let file = file(at: cursor) { return LSP.location(ofFile: file) }
        guard let word = cursor.word else { return nil }
        let w = view.workflow
        if word.afterInputs, let input = w.inputs.first(where: { $0.name.value == word.text }) { return here(input.name.span) }
        if let k = view.step(named: word.text) { return here(w.steps[k].id.span) }
        if let c = w.contracts.first(where: { $0.name.value == word.text }) {
            // On the declaration of a contract read from a file, the file.
            if c.name.span.start.line == cursor.sourceLine, let file = c.file { return LSP.location(ofFile: FilePaths.absolute(file)) }
            return here(c.name.span)
        }
        if let alias = w.models.first(where: { $0.name.value == word.text }) { return here(alias.name.span) }
        if let imp = w.imports.first(where: { $0.alias.value == word.text }) {
            return LSP.location(ofFile: FilePaths.resolve(imp.path, relativeTo: doc.path))
        }
        if let input = w.inputs.first(where: { $0.name.value == word.text }) { return here(input.name.span) }
        return nil
    }

    /// The file a `prompt_file:`, `$ref:` or import under the cursor names: the cursor is on
    /// the key or its value, or anywhere on an import's line.
    func file(at cursor: Cursor) -> String? {
        guard let mention = cursor.fileMention else { return nil }
        let path = String(mention.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
        return path.isEmpty ? nil : FilePaths.resolve(path, relativeTo: doc.path)
    }

    /// Every read of the step under the cursor, and every jump to it.
    func references(at cursor: Cursor, includeDeclaration: Bool) -> [JSONValue] {
        guard let word = cursor.word, !word.afterInputs, let k = view.step(named: word.text) else { return [] }
        let sources = doc.compiled?.sources ?? [:]
        var out: [JSONValue] = includeDeclaration ? [here(view.workflow.steps[k].id.span)] : []
        for read in view.analysis?.reads ?? [] where read.step == k {
            let file = FilePaths.absolute(read.file)
            let source = file == doc.path ? doc.source : sources[read.file] ?? doc.source
            out.append(LSP.location(file, LSP.range(read.span, source)))
        }
        let id = word.text
        out += jumps(to: id).map(here)
        return out
    }

    /// The `next:`, route and `on_fail` targets naming a step.
    func jumps(to id: String) -> [Span] {
        view.workflow.steps.flatMap { step -> [Span] in
            var names: [Workflow.Name] = step.options.next.map { [$0] } ?? []
            switch step.body {
            case .route(let branches, let otherwise): names += branches.map(\.target) + (otherwise.map { [$0] } ?? [])
            case .validate(_, _, _, let onFail): names += onFail?.retry.map { [$0] } ?? []
            default: break
            }
            return names.filter { $0.value == id }.map(\.span)
        }
    }

    func here(_ span: Span) -> JSONValue { LSP.location(doc.path, LSP.range(span, doc.source)) }
}

/// The outline and the quick fixes.
enum Outline {
    /// Inputs, models, contracts and steps, each at its name (LSP SymbolKind: 13 variable,
    /// 14 constant, 23 struct, 12 function).
    static func symbols(_ doc: Document) -> [JSONValue] {
        guard let w = doc.workflow else { return [] }
        let source = doc.source
        func symbol(_ name: Workflow.Name, _ kind: Int, _ detail: String) -> JSONValue {
            let r = LSP.range(name.span, source)
            return .object(["name": .string(name.value), "kind": .number(Double(kind)), "detail": .string(detail), "range": r, "selectionRange": r])
        }
        return w.inputs.map { symbol($0.name, 13, "input") } + w.models.map { symbol($0.name, 14, "model") }
            + w.contracts.map { symbol($0.name, 23, "contract") } + w.steps.map { symbol($0.id, 12, $0.kind.rawValue) }
    }

    /// The fix a did-you-mean hint names (`deplyo` → `deploy`): its diagnostic's range replaced
    /// by the suggestion.
    static func quickFix(_ uri: String, _ diagnostic: JSONValue) -> JSONValue? {
        guard diagnostic["source"] == "prellm", let message = diagnostic["message"]?.stringValue, let range = diagnostic["range"],
            let start = message.range(of: "did you mean '"), let end = message[start.upperBound...].firstIndex(of: "'")
        else { return nil }
        let suggestion = String(message[start.upperBound..<end])
        let edit = JSONValue.object(["range": range, "newText": .string(suggestion)])
        return .object([
            "title": .string("Replace with '\(suggestion)'"), "kind": "quickfix", "diagnostics": .array([diagnostic]), "isPreferred": true,
            "edit": .object(["changes": .object([uri: .array([edit])])]),
        ])
    }
}
