import PrellmSchema

/// ExtentAnalysis bounds what checked expressions and templates can produce, given bounds on
/// what they read: the inputs (known values in a dry run or a gateway request, their schemas
/// at compile time), the outputs of earlier steps, and locals. It mirrors the Evaluator and
/// TemplateRenderer of PrellmRuntime case for case; every rule says why its bound holds.
///
/// A `{% for %}` is summed, not multiplied: its body is analysed with the loop variable as X
/// (see Size), so `{% for m in matches %}{{ m.line }}{% endfor %}` is bounded by the lines'
/// total, not by the longest line times their number.
struct ExtentScope {
    var inputs: [Extent]
    var inputNames: [String]
    var steps: [Extent?]
    var locals: [Extent] = []
    /// The local slot whose element is X, when inside a sum.
    var summed: Int?

    func local(_ slot: Int) -> Extent {
        guard slot < locals.count else { return .unknown }
        return slot == summed ? locals[slot].asElement : locals[slot].concrete
    }
}

enum ExtentAnalysis {
    static func extent(_ e: CheckedExpr, _ s: ExtentScope) -> Extent {
        switch e {
        case .constant(let v): return .known(v)
        case .inputs:
            var fields: [String: Extent] = [:]
            var content = Size.zero, json = Size.exactly(2)
            for (name, x) in zip(s.inputNames, s.inputs) {
                fields[name] = x
                content = content + x.content
                json = json + x.json + .exactly(name.utf8.count * Extent.growth + 4)
            }
            return Extent(content: content, json: json, overhead: nil, shape: .object(fields: fields, other: nil))
        case .input(let i): return i < s.inputs.count ? s.inputs[i] : .unknown
        case .step(let k): return k < s.steps.count ? s.steps[k] ?? .unknown : .unknown
        case .local(let slot): return s.local(slot)
        case .field(let base, let name): return extent(base, s).field(name)
        case .index(let base, _): return extent(base, s).element
        case .has, .not: return .boolean
        case .negate: return .number
        case .function(let f, let args):
            switch f {
            case .size, .int, .double: return .number
            case .contains, .startsWith, .endsWith, .matches: return .boolean
            case .string: return args.first.map { text(extent($0, s)) } ?? .literal("")
            }
        case .binary(let op, let l, let r):
            switch op {
            case .add: return sum(extent(l, s), extent(r, s))
            case .sub, .mul, .div, .mod: return .number
            case .and, .or, .eq, .ne, .lt, .le, .gt, .ge, .in: return .boolean
            }
        case .conditional(_, let a, let b): return extent(a, s).either(extent(b, s))
        case .list(let items):
            let parts = items.map { extent($0, s) }
            var content = Size.zero, json = Size.exactly(2 + items.count)
            for p in parts {
                content = content + p.content
                json = json + p.json
            }
            let element = parts.dropFirst().reduce(parts.first ?? .known(.null)) { $0.either($1) }
            return Extent(content: content, json: json, overhead: nil, shape: .list(element: element, items: items.count))
        case .map(let entries):
            var fields: [String: Extent] = [:]
            var content = Size.zero, json = Size.exactly(2 + entries.count)
            var other: Extent?
            for (k, v) in entries {
                let key = text(extent(k, s)), value = extent(v, s)
                content = content + value.content
                json = json + key.json + value.json + .exactly(2)
                if case .constant(.string(let name)) = k { fields[name] = value } else { other = other.map { $0.either(value) } ?? value }
            }
            return Extent(content: content, json: json, overhead: nil, shape: .object(fields: fields, other: other))
        }
    }

    /// `+`: numbers add, strings and lists concatenate.
    static func sum(_ a: Extent, _ b: Extent) -> Extent {
        switch (a.shape, b.shape) {
        case (.scalar, .scalar): return .number
        case (.list(let x, let n), .list(let y, let m)):
            return Extent(
                content: a.content + b.content, json: a.json + b.json, overhead: nil,
                shape: .list(element: x.either(y), items: add(n, m)))
        default:
            let content = a.text + b.text
            return Extent(content: content, json: content * Extent.growth + .exactly(2), overhead: 2, shape: .string)
        }
    }

    /// A value printed as text, as a string value (`string(x)`, a rendered template).
    static func text(_ x: Extent) -> Extent {
        let content = x.text
        return Extent(content: content, json: content * Extent.growth + .exactly(2), overhead: 2, shape: .string)
    }

    // MARK: - Templates

    /// A template's value: a literal's YAML value, a reference's value, or the rendered text.
    static func value(_ t: CompiledTemplate, _ s: ExtentScope) -> Extent {
        switch t.body {
        case .literal(_, let v): .known(v)
        case .reference(let e, let filters, _): filtered(extent(e, s), filters, s)
        case .nodes(let nodes): .text(size(nodes, s))
        }
    }

    /// How many bytes a template renders to.
    static func textSize(_ t: CompiledTemplate, _ s: ExtentScope) -> Size {
        switch t.body {
        case .literal(let text, _): .exactly(text.utf8.count)
        case .reference(let e, let filters, _): filtered(extent(e, s), filters, s).text
        case .nodes(let nodes): size(nodes, s)
        }
    }

    static func size(_ nodes: [CompiledTemplate.Node], _ s: ExtentScope) -> Size {
        var total = Size.zero
        for node in nodes {
            switch node {
            case .text(let t): total = total + .exactly(t.utf8.count)
            case .output(let e, let filters, _): total = total + filtered(extent(e, s), filters, s).text
            case .branch(let branches, let otherwise):
                var taken = otherwise.map { size($0, s) } ?? .zero
                for b in branches { taken = taken.either(size(b.body, s)) }
                total = total + taken
            case .loop(let slot, let sequence, let body):
                total = total + loop(slot: slot, over: extent(sequence, s), body: body, s)
            }
        }
        return total
    }

    /// A loop's total: its body summed over the elements, X being each element's content.
    static func loop(slot: Int, over list: Extent, body: [CompiledTemplate.Node], _ s: ExtentScope) -> Size {
        var inner = s
        while inner.locals.count < slot { inner.locals.append(.unknown) }
        let element = list.element.concrete
        if inner.locals.count == slot { inner.locals.append(element) } else { inner.locals[slot] = element }
        inner.summed = slot
        let each = size(body, inner)
        let plain = each.summed(count: list.items, content: list.content.max)
        // Seen from an enclosing sum, the total is linear in the enclosing X when the list is:
        // n ≤ json(list), and the elements' contents add up to content(list).
        guard let b = each.base, let listJSONBase = list.json.base, let listContentBase = list.content.base else { return plain }
        let base = add(mul(b, listJSONBase), mul(each.perElement, listContentBase))
        let per = add(mul(b, list.json.perElement), mul(each.perElement, list.content.perElement)) ?? Size.limit
        guard base != nil, per > 0 else { return plain }
        return Size(max: plain.max, base: base, perElement: per)
    }

    /// A value after its filters (docs/language.md, "Templates").
    static func filtered(_ x: Extent, _ filters: [CheckedFilter], _ s: ExtentScope) -> Extent {
        var v = x
        for f in filters {
            switch f {
            case .join(let sep):
                // Each element prints as its text: strings and scalars as their content (which
                // adds up to the list's), others as their JSON (at most the list's); plus a
                // separator between each two.
                let sepBytes = sep.map { text(extent($0, s)).content } ?? .exactly(2)
                let items = v.items.map(Size.exactly) ?? .unbounded
                let extra = Size(max: mul(items.max, sepBytes.max), base: mul(items.max, sepBytes.max), perElement: 0)
                let elements: Size =
                    switch v.element.shape {
                    case .string, .scalar: v.content
                    case .list, .object, .unknown: v.json
                    }
                v = .text(elements + extra)
            case .json: v = .text(v.json)
            case .default(let fallback): v = v.either(extent(fallback, s))
            case .upper, .lower:
                // Case mapping can turn one character into three (ΐ → Ϊ́).
                v = .text(v.text * 3)
            case .trim: v = text(v)
            case .length: v = .number
            case .truncate(let n):
                // truncate counts Unicode scalars, each at most 4 bytes, and adds "…" (3 bytes).
                var t = v.text
                if case .constant(let c) = n, let k = c.int, let most = add(mul(Swift.max(0, k), 4), 3) { t = t.capped(most) }
                v = .text(t)
            }
        }
        return v
    }
}

extension Extent {
    /// A text of at most `size` bytes, as a string value.
    static func text(_ size: Size) -> Extent {
        Extent(content: size, json: size * Extent.growth + .exactly(2), overhead: 2, shape: .string)
    }
}
