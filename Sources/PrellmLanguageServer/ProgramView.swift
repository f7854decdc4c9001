import Foundation
import PrellmCompiler
import PrellmSchema
import PrellmSyntax

/// What the checked program says about places in a document: which step a line belongs to,
/// what has certainly run there, and the type and schema of a reference. It reads the
/// compiler's analysis, which is kept for files with errors too.
struct ProgramView {
    let workflow: Workflow
    let analysis: WorkflowAnalysis?

    init?(_ doc: Document) {
        guard let w = doc.workflow else { return nil }
        workflow = w
        analysis = doc.analysis
    }

    /// The point of the flow a 1-based line is evaluated at: before the step it belongs to, or
    /// nil past the steps (`output:`, `tests:`), where every step that certainly ran is in scope.
    func point(atLine line: Int) -> Int? {
        guard let last = workflow.steps.last, line <= last.span.end.line else { return nil }
        return workflow.steps.firstIndex { line <= $0.span.end.line }
    }

    func step(named id: String) -> Int? { workflow.steps.firstIndex { $0.id.value == id } }

    /// The steps a template at `point` may read without `has()` or `default`.
    func inScope(at point: Int?) -> [Int] {
        analysis?.certainlyRun(before: point) ?? []
    }

    func type(ofStep k: Int) -> ValueType {
        guard let types = analysis?.stepTypes, k < types.count else { return .any }
        return types[k]
    }

    /// The type of a reference (`facts.target`, `inputs.text`), nil when it names nothing.
    func type(of path: [PathSegment]) -> ValueType? {
        guard case .field(let head)? = path.first else { return nil }
        var t: ValueType
        if head == "inputs" {
            guard let inputs = analysis?.inputs else { return nil }
            t = .object(inputs)
        } else if let k = step(named: head) {
            t = type(ofStep: k)
        } else {
            return nil
        }
        for segment in path.dropFirst() {
            guard let next = Self.walk(t, segment) else { return nil }
            t = next
        }
        return t
    }

    static func walk(_ t: ValueType, _ segment: PathSegment) -> ValueType? {
        switch (t, segment) {
        case (.any, _): .any
        case (.object(let o), .field(let name)): o.fields[name] ?? o.extra
        case (.array(let e), .element): e
        default: nil
        }
    }

    /// The contract a step's output meets, when it names one.
    func contract(ofStep k: Int) -> Workflow.Contract? {
        let name: Workflow.Name?
        switch workflow.steps[k].body {
        case .extractModel(_, _, let into, _): name = into
        case .call(_, _, _, let output): name = output
        default: name = nil
        }
        return name.flatMap { n in workflow.contracts.first { $0.name.value == n.value } }
    }

    /// The JSON Schema of a reference into a step's contract (`facts.target` is the `target`
    /// property of the contract `facts` was extracted into).
    func schema(of path: [PathSegment]) -> JSONValue? {
        guard case .field(let head)? = path.first, let k = step(named: head), let contract = contract(ofStep: k) else { return nil }
        var schema = contract.schema
        for segment in path.dropFirst() {
            schema = Self.resolveLocalRef(schema, in: contract.schema)
            switch segment {
            case .field(let name): guard let s = schema["properties"]?[name] else { return nil }; schema = s
            case .element: guard let s = schema["items"] else { return nil }; schema = s
            }
        }
        return Self.resolveLocalRef(schema, in: contract.schema)
    }

    /// `{"$ref": "#/$defs/Item"}` as the schema it points at within the same document.
    static func resolveLocalRef(_ schema: JSONValue, in root: JSONValue) -> JSONValue {
        guard let ref = schema["$ref"]?.stringValue, ref.hasPrefix("#/") else { return schema }
        var target = root
        for part in ref.dropFirst(2).split(separator: "/") {
            let key = part.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            guard let next = target[key] else { return schema }
            target = next
        }
        return target
    }
}
