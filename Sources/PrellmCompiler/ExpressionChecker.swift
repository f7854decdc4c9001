import PrellmRegex
import PrellmSchema
import PrellmSyntax

/// The ExpressionChecker resolves and type-checks the expressions and templates embedded in
/// a workflow, at the point of the step graph where each one is evaluated, and turns each into
/// the checked tree the runtime evaluates (CheckedExpr, CompiledTemplate).
///
/// Every reference is resolved against, in order: local names (a `for` variable, a map's
/// `item`, a validate step's `value`), `inputs`, and step ids. A step reference is checked
/// against the flow: it must have run on every path to the point of the read (FlowAnalysis),
/// unless the read is guarded by `has(step)` or given a fallback with `| default(…)`.
/// Types flow from contracts and step kinds; `any` absorbs what cannot be known, so every
/// error reported is one the compiler can prove. Resolution is also where names become slots:
/// an input by its position, a step by its index, a local by the stack slot the runtime will
/// push it at. A tree built while reporting an error is never run (the program is only built
/// from an error-free check).
struct ExpressionChecker {
    struct Environment {
        var inputs: ValueType.ObjectType
        var inputIndex: [String: Int]
        var steps: [Step]
        var index: [String: Int]
        var stepTypes: [ValueType]
    }

    /// Where an expression is evaluated: before step `step` runs (nil: at the end, for `output`).
    struct Point {
        var step: Int?
        /// Shared by every point: what has run where (FlowAnalysis).
        var facts: FlowFacts

        var position: Int { step ?? facts.end }
        /// Step `k` has run on every path to this point.
        func must(_ k: Int) -> Bool { facts.mustHaveRun(k, before: position) }
        /// Step `k` has run on some path to this point.
        func may(_ k: Int) -> Bool { facts.mayHaveRun(k, before: position) }
    }

    struct Local {
        var type: ValueType
        var slot: Int
    }

    struct Scope {
        var point: Point
        var locals: [String: Local] = [:]
        /// The next free local slot: locals are a stack the runtime pushes in this order.
        var slots = 0
        var guarded: Set<Int> = []
        var allowSkipped = false

        /// Binds a name to the next slot.
        mutating func bind(_ name: String, _ type: ValueType) -> Int {
            let slot = slots
            locals[name] = Local(type: type, slot: slot)
            slots += 1
            return slot
        }
    }

    /// An expression's type and its checked tree.
    struct Typed {
        var type: ValueType
        var expr: CheckedExpr
    }

    static let functions = ExpressionLanguage.functions.map(\.name)
    static let filters = ExpressionLanguage.filters.map(\.name)

    var env: Environment
    var bag: DiagnosticBag
    var readInputs: Set<String> = []
    /// Every read of a step, where it is written: what an editor lists as the step's references.
    var stepReads: [WorkflowAnalysis.Read] = []
    /// Set when some text could not be parsed: what it reads is unknown, so "never read" would
    /// be a guess.
    var sawUnparsedText = false
    /// The text being checked, for mapping ranges to spans.
    private var text = EmbeddedText(value: "")

    init(env: Environment, bag: DiagnosticBag) {
        self.env = env
        self.bag = bag
    }

    // MARK: - Entry points

    /// Checks a bare expression (`if:`, a route condition, `assert:`) that must be a boolean.
    mutating func checkCondition(_ t: EmbeddedText, _ scope: Scope, what: String) -> Condition? {
        text = t
        let trimmed = t.value.trimmingCharacters(in: [" ", "\n", "\t"])
        if trimmed.hasPrefix("{{") {
            report(
                .expressionSyntax, 0..<min(2, t.value.utf8.count), "\(what) is an expression, not a template",
                hint: "remove the {{ }}: write the expression itself")
            return nil
        }
        let e: Expr
        do { e = try ExprParser.parse(Array(t.value.utf8), range: 0..<t.value.utf8.count) } catch {
            report(.expressionSyntax, error.range, error.message, hint: error.hint)
            sawUnparsedText = true
            return nil
        }
        let typed = type(e, scope)
        expectBool(typed.type, e, what: what)
        return Condition(expr: typed.expr, text: t.value)
    }

    /// Checks a template; returns its type and its compiled form. The type is the value's when
    /// the whole text is one `{{ expr }}` (a reference), what YAML makes of a plain scalar
    /// without holes (`40` is an integer), and a string otherwise.
    @discardableResult
    mutating func checkTemplate(_ t: EmbeddedText, _ scope: Scope) -> (type: ValueType, template: CompiledTemplate?) {
        text = t
        let template: Template
        do { template = try TemplateParser.parse(t.value) } catch {
            report(error.inTemplateTags ? .templateSyntax : .expressionSyntax, error.range, error.message, hint: error.hint)
            sawUnparsedText = true
            return (.any, nil)
        }
        if template.isPlainText {
            // The text is what the nodes say ({% raw %}, comments and trims are gone); only a
            // scalar with no template syntax at all is typed as YAML types it.
            let text = template.nodes.map { if case .text(let s) = $0 { s } else { "" } }.joined()
            if text == t.value { warnIfBareReference(t, scope) }
            let (type, value) = text == t.value ? Self.literal(t) : (.string, .string(text))
            return (type, CompiledTemplate(source: t, body: .literal(text: text, value: value)))
        }
        if template.nodes.count == 1, case .output(let e, let filters, _) = template.nodes[0] {
            let (typed, checked) = output(e, filters, scope)
            let covered = filters.contains { $0.name == "default" }
            return (typed.type, CompiledTemplate(source: t, body: .reference(typed.expr, checked, covered: covered)))
        }
        let nodes = checkNodes(template.nodes, scope)
        return (.string, CompiledTemplate(source: t, body: .nodes(nodes)))
    }

    /// `output: polished` is the word "polished", not step polished's output: a template that
    /// is exactly a step id or `inputs.NAME` (optionally with fields) was almost surely meant
    /// as a reference. Block scalars are prose and are left alone, as is a step's own id in
    /// its own fields (it cannot read itself, so that is a word).
    mutating func warnIfBareReference(_ t: EmbeddedText, _ scope: Scope) {
        guard t.style != .literal, t.style != .folded else { return }
        let path = t.value.split(separator: ".", omittingEmptySubsequences: false)
        guard let head = path.first.map(String.init),
            path.allSatisfy({ $0.first.map { $0.isLetter || $0 == "_" } == true && $0.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" } })
        else { return }
        let names: String
        if head == "inputs", path.count > 1, env.inputIndex[String(path[1])] != nil {
            names = "input '\(path[1])'"
        } else if let k = env.index[head], k != scope.point.step {  // a step cannot read itself
            names = "step '\(head)'"
        } else {
            return
        }
        report(
            .bareReference, 0..<t.value.utf8.count, "this is the text '\(t.value)', not the value of \(names)",
            hint: "to use the value, write \"{{ \(t.value) }}\"")
    }

    /// The type and value of a template without holes: a plain YAML scalar resolves by YAML's
    /// core schema (`40` → 40, `true` → true), anything quoted or in a block is a string.
    static func literal(_ t: EmbeddedText) -> (ValueType, JSONValue) {
        guard t.style == .plain else { return (.string, .string(t.value)) }
        switch YAMLNode.resolvePlain(t.value) {
        case .int(let i): return (.int, .number(Double(i)))
        case .float(let d): return d.isFinite ? (.number, .number(d)) : (.string, .string(t.value))
        case .bool(let b): return (.bool, .bool(b))
        case .null: return (.null, .null)
        case .string(let s): return (.string, .string(s))
        }
    }

    // MARK: - Templates

    mutating func checkNodes(_ nodes: [Template.Node], _ scope: Scope) -> [CompiledTemplate.Node] {
        var out: [CompiledTemplate.Node] = []
        out.reserveCapacity(nodes.count)
        for node in nodes {
            switch node {
            case .text(let s):
                out.append(.text(s))
            case .output(let e, let filters, _):
                let (typed, checked) = output(e, filters, scope)
                out.append(.output(typed.expr, checked, covered: filters.contains { $0.name == "default" }))
            case .ifBlock(let branches, let otherwise, _):
                var checked: [(condition: CheckedExpr, body: [CompiledTemplate.Node])] = []
                for b in branches {
                    let c = type(b.condition, scope)
                    var inner = scope
                    inner.guarded.formUnion(guards(b.condition))
                    checked.append((c.expr, checkNodes(b.body, inner)))
                }
                out.append(.branch(checked, otherwise: otherwise.map { checkNodes($0, scope) }))
            case .forBlock(let variable, _, let sequence, let body, _):
                let seq = type(sequence, scope)
                var element = ValueType.any
                switch seq.type {
                case .array(let el): element = el
                case .any: break
                default:
                    report(.typeMismatch, sequence.range, "{% for %} loops over a list, but this is \(seq.type.phrase)")
                }
                var inner = scope
                let slot = inner.bind(variable, element)
                out.append(.loop(slot: slot, sequence: seq.expr, body: checkNodes(body, inner)))
            }
        }
        return out
    }

    mutating func output(_ e: Expr, _ filters: [Filter], _ scope: Scope) -> (Typed, [CheckedFilter]) {
        var inner = scope
        if filters.contains(where: { $0.name == "default" }) { inner.allowSkipped = true }
        var typed = type(e, inner)
        var checked: [CheckedFilter] = []
        for f in filters {
            let args = f.args.map { type($0, scope) }
            func arity(_ range: ClosedRange<Int>) -> Bool {
                if range.contains(args.count) { return true }
                let n = range.lowerBound == range.upperBound ? "\(range.lowerBound)" : "\(range.lowerBound) to \(range.upperBound)"
                report(.badArguments, f.nameRange, "filter '\(f.name)' takes \(n) argument\(range.upperBound == 1 ? "" : "s"), found \(args.count)")
                return false
            }
            let ty = typed.type
            switch f.name {
            case "join":
                _ = arity(0...1)
                if case .array = ty {
                } else if ty != .any {
                    report(.typeMismatch, f.nameRange, "'join' needs a list, but the value is \(ty.phrase)")
                }
                if let a = args.first, !(a.type.isStringLike || a.type == .any) {
                    report(.typeMismatch, f.args[0].range, "the separator of 'join' must be a string, found \(a.type.article)")
                }
                checked.append(.join(separator: args.first?.expr))
                typed.type = .string
            case "json":
                _ = arity(0...0)
                checked.append(.json)
                typed.type = .string
            case "default":
                if arity(1...1) {
                    typed.type = ty.joined(with: args[0].type)
                    checked.append(.default(args[0].expr))
                }
            case "upper", "lower", "trim":
                _ = arity(0...0)
                if !(ty.isStringLike || ty == .any) {
                    report(.typeMismatch, f.nameRange, "'\(f.name)' needs a string, but the value is \(ty.phrase)")
                }
                checked.append(f.name == "upper" ? .upper : f.name == "lower" ? .lower : .trim)
                typed.type = .string
            case "length":
                _ = arity(0...0)
                switch ty {
                case .string, .array, .object, .any: break
                default: report(.typeMismatch, f.nameRange, "'length' needs a string, list or object, but the value is \(ty.article)")
                }
                checked.append(.length)
                typed.type = .int
            case "truncate":
                if arity(1...1) {
                    if !(args[0].type == .int || args[0].type == .any) {
                        report(.typeMismatch, f.args[0].range, "'truncate' takes a length (an integer), found \(args[0].type.article)")
                    }
                    checked.append(.truncate(args[0].expr))
                }
                typed.type = .string
            default:
                report(
                    .unknownName, f.nameRange, "unknown filter '\(f.name)'",
                    hint: Spelling.hint(f.name, in: Self.filters) ?? "filters are \(Self.filters.joined(separator: ", "))")
                typed.type = .any
            }
        }
        return (typed, checked)
    }

    // MARK: - Expressions

    /// Types an expression. Every case is its own function: this one recurses once per level
    /// of the tree, and a debug build gives a function one stack slot for every local of every
    /// case, so a switch that did the work inline took 7 KB of stack per level.
    mutating func type(_ e: Expr, _ scope: Scope) -> Typed {
        switch e.kind {
        case .literal(let l): Self.literal(l)
        case .identifier(let name): resolve(name, e.range, scope)
        case .member(let target, let name, let nameRange): member(target, name, nameRange, scope)
        case .index(let target, let i): index(target, i, scope)
        case .call(let target, let name, let nameRange, let args): call(target, name, nameRange, args, e, scope)
        case .unary(let op, let x): unary(op, x, scope)
        case .binary(let op, let l, let r): op == .and || op == .or ? logical(op, l, r, scope) : binary(op, l, r, scope)
        case .conditional(let c, let a, let b): conditional(c, a, b, scope)
        case .list(let items): list(items, scope)
        case .map(let entries): map(entries, scope)
        }
    }

    static func literal(_ l: Expr.Literal) -> Typed {
        switch l {
        case .null: Typed(type: .null, expr: .constant(.null))
        case .bool(let b): Typed(type: .bool, expr: .constant(.bool(b)))
        case .int(let i): Typed(type: .int, expr: .constant(.number(Double(i))))
        case .double(let d): Typed(type: .number, expr: .constant(.number(d)))
        case .string(let s): Typed(type: .string, expr: .constant(.string(s)))
        }
    }

    mutating func member(_ target: Expr, _ name: String, _ nameRange: Range<Int>, _ scope: Scope) -> Typed {
        if case .identifier("inputs") = target.kind, scope.locals["inputs"] == nil { return input(name, nameRange) }
        let base = type(target, scope)
        return Typed(type: field(of: base.type, name, nameRange, target), expr: .field(base.expr, name))
    }

    mutating func input(_ name: String, _ nameRange: Range<Int>) -> Typed {
        if let t = env.inputs.fields[name], let i = env.inputIndex[name] {
            readInputs.insert(name)
            return Typed(type: t, expr: .input(i))
        }
        report(
            .unknownInput, nameRange, "unknown input '\(name)'",
            hint: Spelling.hint(name, in: env.inputs.order)
                ?? (env.inputs.order.isEmpty ? "declare it under 'inputs:'" : "inputs are \(env.inputs.order.joined(separator: ", "))"))
        return Typed(type: .any, expr: .constant(.null))
    }

    mutating func index(_ target: Expr, _ i: Expr, _ scope: Scope) -> Typed {
        let base = type(target, scope)
        let it = type(i, scope)
        return Typed(type: indexed(base.type, by: it.type, target, i), expr: .index(base.expr, it.expr))
    }

    /// The type of `target[i]`, once both are typed.
    mutating func indexed(_ base: ValueType, by it: ValueType, _ target: Expr, _ i: Expr) -> ValueType {
        switch base {
        case .array(let el):
            if !(it == .int || it == .any) {
                report(.typeMismatch, i.range, "a list index must be an integer, found \(it.article)")
            }
            return el
        case .object(let o):
            if case .literal(.string(let key)) = i.kind {
                return field(of: base, key, i.range, target)
            }
            if !(it.isStringLike || it == .any) {
                report(.typeMismatch, i.range, "an object key must be a string, found \(it.article)")
            }
            return o.extra ?? .any
        case .any: return .any
        default:
            report(.typeMismatch, target.range, "\(describe(target)) is \(base.article) and cannot be indexed")
            return .any
        }
    }

    mutating func unary(_ op: Expr.UnaryOp, _ x: Expr, _ scope: Scope) -> Typed {
        let t = type(x, scope)
        switch op {
        case .not:
            expectBool(t.type, x, what: "'!'")
            return Typed(type: .bool, expr: .not(t.expr))
        case .negate:
            if !(t.type.isNumeric || t.type == .any) { report(.typeMismatch, x.range, "'-' needs a number, found \(t.type.article)") }
            return Typed(type: t.type == .any ? .number : t.type, expr: .negate(t.expr))
        }
    }

    mutating func conditional(_ c: Expr, _ a: Expr, _ b: Expr, _ scope: Scope) -> Typed {
        let ct = type(c, scope)
        expectBool(ct.type, c, what: "the condition of '?:'")
        var inner = scope
        inner.guarded.formUnion(guards(c))
        let at = type(a, inner), bt = type(b, scope)
        return Typed(type: at.type.joined(with: bt.type), expr: .conditional(ct.expr, at.expr, bt.expr))
    }

    mutating func list(_ items: [Expr], _ scope: Scope) -> Typed {
        let typed = items.map { type($0, scope) }
        let element = typed.dropFirst().reduce(typed.first?.type ?? .any) { $0.joined(with: $1.type) }
        return Typed(type: .array(element), expr: .list(typed.map(\.expr)))
    }

    mutating func map(_ entries: [(key: Expr, value: Expr)], _ scope: Scope) -> Typed {
        var checked: [(key: CheckedExpr, value: CheckedExpr)] = []
        for (k, v) in entries {
            let kt = type(k, scope)
            if !(kt.type.isStringLike || kt.type == .any) { report(.typeMismatch, k.range, "map keys must be strings, found \(kt.type.article)") }
            checked.append((kt.expr, type(v, scope).expr))
        }
        return Typed(type: .object(.init(fields: [], extra: .any)), expr: .map(checked))
    }

    mutating func resolve(_ name: String, _ range: Range<Int>, _ scope: Scope) -> Typed {
        if let local = scope.locals[name] { return Typed(type: local.type, expr: .local(local.slot)) }
        if name == "inputs" {
            readInputs.formUnion(env.inputs.order)
            return Typed(type: .object(env.inputs), expr: .inputs)
        }
        guard let k = env.index[name] else {
            let unresolved = Typed(type: .any, expr: .constant(.null))
            if bag.isFull { bag.noteDropped(); return unresolved }  // skip the spelling search for a dropped report
            var candidates = env.steps.map(\.id.value) + Array(scope.locals.keys) + ["inputs"]
            candidates.removeAll { $0.isEmpty }
            var hint = Spelling.hint(name, in: candidates)
            if env.inputs.fields[name] != nil { hint = "inputs are read as inputs.\(name)" }
            if Self.functions.contains(name) { hint = "'\(name)' is a function: call it as \(name)(…)" }
            report(.unknownStep, range, "unknown step '\(name)'", hint: hint)
            return unresolved
        }
        stepReads.append(.init(step: k, file: text.file ?? bag.file, text: text, range: range))
        let point = scope.point
        let here = point.step.map { "step '\(env.steps[$0].id.value)'" } ?? "the output"
        if point.step == k {
            report(.readBeforeRun, range, "step '\(name)' reads its own output", hint: "a step can read only steps that ran before it")
        } else if !point.may(k) {
            if let s = point.step, k > s {
                report(
                    .readBeforeRun, range, "step '\(name)' is read by \(here) before it runs",
                    hint: "move '\(name)' above \(here), or read it later",
                    related: [.init(file: bag.file, span: env.steps[k].id.span, message: "'\(name)' is defined here")])
            } else {
                report(
                    .readBeforeRun, range, "step '\(name)' has not run on any path to \(here)",
                    hint: "it runs on another branch of a route",
                    related: [.init(file: bag.file, span: env.steps[k].id.span, message: "'\(name)' is defined here")])
            }
        } else if !point.must(k), !scope.allowSkipped, !scope.guarded.contains(k) {
            report(
                .maybeSkipped, range, "step '\(name)' may have been skipped on the way to \(here)",
                hint: "guard the read with has(\(name)) or give a fallback: {{ \(name) | default(\"…\") }}")
        }
        return Typed(type: env.stepTypes[k], expr: .step(k))
    }

    mutating func field(of base: ValueType, _ name: String, _ range: Range<Int>, _ target: Expr) -> ValueType {
        switch base {
        case .any: return .any
        case .object(let o):
            if let t = o.fields[name] { return t }
            if let extra = o.extra { return extra }
            report(
                .unknownField, range, "\(describe(target)) has no field '\(name)'",
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

    mutating func report(
        _ code: DiagnosticCode, _ range: Range<Int>, _ message: String, hint: String? = nil,
        related: [Diagnostic.Related] = []
    ) {
        bag.add(Diagnostic(code, file: text.file ?? bag.file, span: text.span(range), message: message, hint: hint, related: related))
    }
}
