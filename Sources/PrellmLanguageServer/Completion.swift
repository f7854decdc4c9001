import PrellmCompiler
import PrellmProviderKit
import PrellmSchema

/// What completion offers at a position: inside `{{ }}` and expressions, the steps that have
/// certainly run there, their contract fields, `inputs.` names, filters and functions; after
/// `== "`, a classify step's labels; after `model:`, the aliases and catalogued models; at the
/// start of a line, the keys its mapping accepts — each list the compiler's own.
struct Completion {
    /// Nil when the document does not decode: keys can still be completed.
    let view: ProgramView?
    let catalog: ModelCatalog

    /// LSP's CompletionItemKind numbers.
    enum Kind: Int {
        case function = 3, field = 5, variable = 6, module = 9, property = 10, value = 12, keyword = 14, enumMember = 20,
            constant = 21
    }

    func items(at cursor: Cursor) -> [JSONValue] {
        if cursor.inExpression { return expression(cursor) }
        if let m = cursor.modelValue { return models(aliases: m.aliases) }
        if let key = cursor.typedKey { return keys(under: cursor.parentKeys(indent: key.indent)) }
        return []
    }

    // MARK: - Expressions

    func expression(_ cursor: Cursor) -> [JSONValue] {
        if let compared = cursor.comparedString {
            guard case .string(let values?)? = view?.type(of: compared.path) else { return [] }
            return values.map { Self.item($0, .enumMember, detail: "label") }
        }
        if cursor.afterPipe {
            return ExpressionLanguage.filters.map { Self.item($0.name, .function, detail: $0.signature, doc: $0.summary) }
        }
        let (base, _) = cursor.typedPath
        guard let view else { return [] }
        if base.isEmpty { return names(view, at: view.point(atLine: cursor.sourceLine)) }
        guard case .object(let o)? = view.type(of: base) else { return [] }
        return o.order.map { field in
            let t = o.fields[field] ?? .any
            let schema = view.schema(of: base + [.field(field)])
            return Self.item(
                field, .field, detail: (o.required.contains(field) ? "" : "optional ") + t.description,
                doc: schema.map { Hover.json($0) })
        }
    }

    /// What a reference may start with at a point: the steps certainly run, `inputs`, functions.
    func names(_ view: ProgramView, at point: Int?) -> [JSONValue] {
        let steps = view.inScope(at: point).map { k in
            let s = view.workflow.steps[k]
            return Self.item(s.id.value, .variable, detail: "\(s.kind.rawValue): \(view.type(ofStep: k))")
        }
        let inputs = Self.item("inputs", .module, detail: view.analysis.map { ValueType.object($0.inputs).description } ?? "the workflow's inputs")
        let functions = ExpressionLanguage.functions.map { Self.item($0.name, .function, detail: $0.signature, doc: $0.summary) }
        return steps + [inputs] + functions
    }

    // MARK: - YAML

    /// After `model:` the workflow's aliases and every catalogued model; after a choice's `use:`
    /// only the catalogued models.
    func models(aliases: Bool) -> [JSONValue] {
        let own =
            aliases
            ? (view?.workflow.models ?? []).map { a in
                Self.item(a.name.value, .constant, detail: "alias: " + a.choices.map(\.id).joined(separator: ", "))
            } : []
        // Embedding models answer no chat: a step or an alias cannot use them.
        return own
            + catalog.sortedEntries.filter { $0.capabilities.embeddingDimensions == nil }.map { e in
                let price = e.price.map { "\(Hover.dollars($0.input)) in, \(Hover.dollars($0.output)) out per 1M tokens" } ?? "unpriced"
                return Self.item(e.id, .value, detail: price)
            }
    }

    /// The keys of the mapping a line sits in, found from the keys above it.
    func keys(under parents: [String]) -> [JSONValue] {
        let keys: [String]
        switch parents.first {
        case nil: keys = WorkflowKeys.topLevel
        case "steps"?, "step"?: keys = WorkflowKeys.step
        case "retry"?: keys = WorkflowKeys.retry
        case "on_fail"?: keys = WorkflowKeys.onFail
        case "cache"?: keys = WorkflowKeys.cache
        case "budget"?: keys = WorkflowKeys.budget
        case let key?:
            if let kind = Step.Kind(rawValue: key), parents.dropFirst().first.map({ ["steps", "step"].contains($0) }) ?? false {
                keys = kind.fieldKeys
            } else if parents.dropFirst().first == "models" {
                keys = WorkflowKeys.model
            } else {
                keys = []
            }
        }
        let kinds = Set(Step.Kind.allCases.map(\.rawValue))
        return keys.map { key in
            let isKind = kinds.contains(key) && ["steps", "step"].contains(parents.first ?? "")
            return Self.item(key, isKind ? .keyword : .property, detail: isKind ? "step kind" : "key", insert: key + ": ")
        }
    }

    static func item(_ label: String, _ kind: Kind, detail: String, doc: String? = nil, insert: String? = nil) -> JSONValue {
        var out: [String: JSONValue] = ["label": .string(label), "kind": .number(Double(kind.rawValue)), "detail": .string(detail)]
        if let doc { out["documentation"] = .object(["kind": "markdown", "value": .string(doc)]) }
        if let insert { out["insertText"] = .string(insert) }
        return .object(out)
    }
}
