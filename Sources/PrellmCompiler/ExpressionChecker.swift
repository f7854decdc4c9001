import PrellmRegex
import PrellmSyntax

/// The ExpressionChecker resolves and type-checks the expressions and templates embedded in
/// a workflow, at the point of the step graph where each one is evaluated.
///
/// Every reference is resolved against, in order: local names (a `for` variable, a map's
/// `item`, a validate step's `value`), `inputs`, and step ids. A step reference is checked
/// against the flow: it must have run on every path to the point of the read (FlowAnalysis),
/// unless the read is guarded by `has(step)` or given a fallback with `| default(…)`.
/// Types flow from contracts and step kinds; `any` absorbs what cannot be known, so every
/// error reported is one the compiler can prove.
struct ExpressionChecker {
    struct Environment {
        var inputs: ValueType.ObjectType
        var steps: [Step]
        var index: [String: Int]
        var stepTypes: [ValueType]
    }

    /// Where an expression is evaluated: before step `step` runs (nil: at the end, for `output`).
    struct Point {
        var step: Int?
        var must: Set<Int>
        var may: Set<Int>
    }

    struct Scope {
        var point: Point
        var locals: [String: ValueType] = [:]
        var guarded: Set<Int> = []
        var allowSkipped = false
    }

    static let functions = ["size", "contains", "startsWith", "endsWith", "matches", "has", "int", "double", "string"]
    static let filters = ["join", "json", "default", "upper", "lower", "trim", "length", "truncate"]

    var env: Environment
    var bag: DiagnosticBag
    var readInputs: Set<String> = []
    /// The text being checked, for mapping ranges to spans.
    private var text = EmbeddedText(value: "")

    init(env: Environment, bag: DiagnosticBag) {
        self.env = env
        self.bag = bag
    }

    // MARK: - Entry points

    /// Checks a bare expression (`if:`, a route condition, `assert:`) that must be a boolean.
    mutating func checkCondition(_ t: EmbeddedText, _ scope: Scope, what: String) {
        text = t
        let trimmed = t.value.trimmingCharacters(in: [" ", "\n", "\t"])
        if trimmed.hasPrefix("{{") {
            report(.expressionSyntax, 0..<min(2, t.value.utf8.count), "\(what) is an expression, not a template",
                   hint: "remove the {{ }}: write the expression itself")
            return
        }
        let e: Expr
        do { e = try ExprParser.parse(Array(t.value.utf8), range: 0..<t.value.utf8.count) } catch {
            report(.expressionSyntax, error.range, error.message, hint: error.hint)
            return
        }
        let ty = type(e, scope)
        expectBool(ty, e, what: what)
    }

    /// Checks a template; returns its type: the type of the value when the whole text is one
    /// `{{ expr }}` (a reference), a string otherwise.
    @discardableResult
    mutating func checkTemplate(_ t: EmbeddedText, _ scope: Scope) -> ValueType {
        text = t
        let template: Template
        do { template = try TemplateParser.parse(t.value) } catch {
            report(error.inTemplateTags ? .templateSyntax : .expressionSyntax, error.range, error.message, hint: error.hint)
            return .any
        }
        if template.isPlainText {
            guard t.style == .plain else { return .string }
            switch YAMLNode.resolvePlain(t.value) {
            case .int: return .int
            case .float: return .number
            case .bool: return .bool
            case .null: return .null
            case .string: return .string
            }
        }
        if template.nodes.count == 1, case .output(let e, let filters, _) = template.nodes[0] {
            return outputType(e, filters, scope)
        }
        checkNodes(template.nodes, scope)
        return .string
    }

    // MARK: - Templates

    mutating func checkNodes(_ nodes: [Template.Node], _ scope: Scope) {
        for node in nodes {
            switch node {
            case .text: break
            case .output(let e, let filters, _): _ = outputType(e, filters, scope)
            case .ifBlock(let branches, let otherwise, _):
                for b in branches {
                    _ = type(b.condition, scope)
                    var inner = scope
                    inner.guarded.formUnion(guards(b.condition))
                    checkNodes(b.body, inner)
                }
                if let otherwise { checkNodes(otherwise, scope) }
            case .forBlock(let variable, _, let sequence, let body, _):
                let seq = type(sequence, scope)
                var element = ValueType.any
                switch seq {
                case .array(let el): element = el
                case .any: break
                case .object(let o): element = o.extra ?? .any
                default:
                    report(.typeMismatch, sequence.range, "{% for %} loops over a list, but this is \(seq.phrase)")
                }
                var inner = scope
                inner.locals[variable] = element
                checkNodes(body, inner)
            }
        }
    }

    mutating func outputType(_ e: Expr, _ filters: [Filter], _ scope: Scope) -> ValueType {
        var inner = scope
        if filters.contains(where: { $0.name == "default" }) { inner.allowSkipped = true }
        var ty = type(e, inner)
        for f in filters {
            let args = f.args.map { type($0, scope) }
            func arity(_ range: ClosedRange<Int>) -> Bool {
                if range.contains(args.count) { return true }
                report(.badArguments, f.nameRange, "filter '\(f.name)' takes \(range.lowerBound == range.upperBound ? "\(range.lowerBound)" : "\(range.lowerBound) to \(range.upperBound)") argument\(range.upperBound == 1 ? "" : "s"), found \(args.count)")
                return false
            }
            switch f.name {
            case "join":
                _ = arity(0...1)
                if case .array = ty {} else if ty != .any {
                    report(.typeMismatch, f.nameRange, "'join' needs a list, but the value is \(ty.phrase)")
                }
                if let a = args.first, !(a.isStringLike || a == .any) {
                    report(.typeMismatch, f.args[0].range, "the separator of 'join' must be a string, found \(a.article)")
                }
                ty = .string
            case "json":
                _ = arity(0...1)
                ty = .string
            case "default":
                if arity(1...1) { ty = ty.joined(with: args[0]) }
            case "upper", "lower", "trim":
                _ = arity(0...0)
                if !(ty.isStringLike || ty == .any) {
                    report(.typeMismatch, f.nameRange, "'\(f.name)' needs a string, but the value is \(ty.phrase)")
                }
                ty = .string
            case "length":
                _ = arity(0...0)
                switch ty {
                case .string, .array, .object, .any: break
                default: report(.typeMismatch, f.nameRange, "'length' needs a string, list or object, but the value is \(ty.article)")
                }
                ty = .int
            case "truncate":
                if arity(1...1), !(args[0] == .int || args[0] == .any) {
                    report(.typeMismatch, f.args[0].range, "'truncate' takes a length (an integer), found \(args[0].article)")
                }
                ty = .string
            default:
                report(.unknownName, f.nameRange, "unknown filter '\(f.name)'",
                       hint: Spelling.hint(f.name, in: Self.filters) ?? "filters are \(Self.filters.joined(separator: ", "))")
                ty = .any
            }
        }
        return ty
    }

    // MARK: - Expressions

    mutating func type(_ e: Expr, _ scope: Scope) -> ValueType {
        switch e.kind {
        case .literal(let l):
            switch l {
            case .null: return .null
            case .bool: return .bool
            case .int: return .int
            case .double: return .number
            case .string: return .string
            }
        case .identifier(let name):
            return resolve(name, e.range, scope)
        case .member(let target, let name, let nameRange):
            if case .identifier("inputs") = target.kind, scope.locals["inputs"] == nil {
                if let t = env.inputs.fields[name] {
                    readInputs.insert(name)
                    return t
                }
                report(.unknownInput, nameRange, "unknown input '\(name)'",
                       hint: Spelling.hint(name, in: env.inputs.order) ?? (env.inputs.order.isEmpty ? "declare it under 'inputs:'" : "inputs are \(env.inputs.order.joined(separator: ", "))"))
                return .any
            }
            let base = type(target, scope)
            return field(of: base, name, nameRange, target)
        case .index(let target, let i):
            let base = type(target, scope)
            let it = type(i, scope)
            switch base {
            case .array(let el):
                if !(it == .int || it == .any) { report(.typeMismatch, i.range, "a list index must be an integer, found \(it.article)") }
                return el
            case .object:
                if case .literal(.string(let key)) = i.kind { return field(of: base, key, i.range, target) }
                if !(it.isStringLike || it == .any) { report(.typeMismatch, i.range, "an object key must be a string, found \(it.article)") }
                if case .object(let o) = base { return o.extra ?? .any }
                return .any
            case .any: return .any
            default:
                report(.typeMismatch, target.range, "\(describe(target)) is \(base.article) and cannot be indexed")
                return .any
            }
        case .call(let target, let name, let nameRange, let args):
            return call(target, name, nameRange, args, e, scope)
        case .unary(.not, let x):
            expectBool(type(x, scope), x, what: "'!'")
            return .bool
        case .unary(.negate, let x):
            let t = type(x, scope)
            if !(t.isNumeric || t == .any) { report(.typeMismatch, x.range, "'-' needs a number, found \(t.article)") }
            return t == .any ? .number : t
        case .binary(let op, let l, let r):
            return binary(op, l, r, scope)
        case .conditional(let c, let a, let b):
            expectBool(type(c, scope), c, what: "the condition of '?:'")
            var inner = scope
            inner.guarded.formUnion(guards(c))
            return type(a, inner).joined(with: type(b, scope))
        case .list(let items):
            let types = items.map { type($0, scope) }
            return .array(types.dropFirst().reduce(types.first ?? .any) { $0.joined(with: $1) })
        case .map(let entries):
            for (k, v) in entries {
                let kt = type(k, scope)
                if !(kt.isStringLike || kt == .any) { report(.typeMismatch, k.range, "map keys must be strings, found \(kt.article)") }
                _ = type(v, scope)
            }
            return .object(.init(fields: [], extra: .any))
        }
    }

    mutating func resolve(_ name: String, _ range: Range<Int>, _ scope: Scope) -> ValueType {
        if let t = scope.locals[name] { return t }
        if name == "inputs" {
            readInputs.formUnion(env.inputs.order)
            return .object(env.inputs)
        }
        guard let k = env.index[name] else {
            if bag.isFull { bag.noteDropped(); return .any }  // skip the spelling search for a dropped report
            var candidates = env.steps.map(\.id.value) + Array(scope.locals.keys) + ["inputs"]
            candidates.removeAll { $0.isEmpty }
            var hint = Spelling.hint(name, in: candidates)
            if env.inputs.fields[name] != nil { hint = "inputs are read as inputs.\(name)" }
            if Self.functions.contains(name) { hint = "'\(name)' is a function: call it as \(name)(…)" }
            report(.unknownStep, range, "unknown step '\(name)'", hint: hint)
            return .any
        }
        let point = scope.point
        let here = point.step.map { "step '\(env.steps[$0].id.value)'" } ?? "the output"
        if point.step == k {
            report(.readBeforeRun, range, "step '\(name)' reads its own output", hint: "a step can read only steps that ran before it")
        } else if !point.may.contains(k) {
            if let s = point.step, k > s {
                report(.readBeforeRun, range, "step '\(name)' is read by \(here) before it runs",
                       hint: "move '\(name)' above \(here), or read it later",
                       related: [.init(file: bag.file, span: env.steps[k].id.span, message: "'\(name)' is defined here")])
            } else {
                report(.readBeforeRun, range, "step '\(name)' has not run on any path to \(here)",
                       hint: "it runs on another branch of a route",
                       related: [.init(file: bag.file, span: env.steps[k].id.span, message: "'\(name)' is defined here")])
            }
        } else if !point.must.contains(k), !scope.allowSkipped, !scope.guarded.contains(k) {
            report(.maybeSkipped, range, "step '\(name)' may have been skipped on the way to \(here)",
                   hint: "guard the read with has(\(name)) or give a fallback: {{ \(name) | default(\"…\") }}")
        }
        return env.stepTypes[k]
    }

    mutating func field(of base: ValueType, _ name: String, _ range: Range<Int>, _ target: Expr) -> ValueType {
        switch base {
        case .any: return .any
        case .object(let o):
            if let t = o.fields[name] { return t }
            if let extra = o.extra { return extra }
            report(.unknownField, range, "\(describe(target)) has no field '\(name)'",
                   hint: Spelling.hint(name, in: o.order) ?? (o.order.isEmpty ? nil : "fields: \(o.order.joined(separator: ", "))"))
            return .any
        default:
            var hint: String?
            if case .identifier(let id) = target.kind, base.isStringLike { hint = "'\(id)' is plain text; read it as {{ \(id) }}" }
            report(.typeMismatch, range, "\(describe(target)) is \(base.phrase) and has no field '\(name)'", hint: hint)
            return .any
        }
    }

    /// The expression as written, for messages: `'facts.constraints[0]'`.
    func describe(_ e: Expr) -> String {
        if let path = e.path { return "'" + path.joined(separator: ".") + "'" }
        let bytes = Array(text.value.utf8)
        guard e.range.upperBound <= bytes.count, e.range.count <= 60 else { return "the value" }
        return "'" + String(decoding: bytes[e.range], as: UTF8.self) + "'"
    }

    /// Steps that a condition proves to have run when it is true: `has(x)`, `has(x.f) && …`.
    func guards(_ e: Expr) -> Set<Int> {
        switch e.kind {
        case .call(nil, "has", _, let args):
            if let root = args.first?.path?.first, let k = env.index[root] { return [k] }
            return []
        case .binary(.and, let l, let r): return guards(l).union(guards(r))
        default: return []
        }
    }

    mutating func expectBool(_ t: ValueType, _ e: Expr, what: String) {
        guard t != .bool, t != .any else { return }
        var hint: String?
        switch t {
        case .string: hint = "compare it, e.g. \(e.path.map { $0.joined(separator: ".") } ?? "value") == \"…\""
        case .array: hint = "test its size, e.g. size(\(e.path.map { $0.joined(separator: ".") } ?? "list")) > 0"
        default: break
        }
        report(.notBoolean, e.range, "\(what) must be a boolean, found \(t.phrase)", hint: hint)
    }

    // MARK: - Diagnostics

    mutating func report(_ code: DiagnosticCode, _ range: Range<Int>, _ message: String, hint: String? = nil,
                         related: [Diagnostic.Related] = []) {
        bag.add(Diagnostic(code, file: text.file ?? bag.file, span: text.span(range), message: message, hint: hint, related: related))
    }
}
