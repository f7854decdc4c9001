import PrellmRegex
import PrellmSyntax

/// Operators and functions of the expression language, with their typing rules.
extension ExpressionChecker {
    /// Types both sides, then the operator. The rules are in `operate`, which runs once both
    /// sides are typed, so its frame is not on the stack while a chain of operators recurses.
    mutating func binary(_ op: Expr.BinaryOp, _ l: Expr, _ r: Expr, _ scope: Scope) -> Typed {
        let left = type(l, scope), right = type(r, scope)
        return Typed(type: operate(op, left.type, right.type, l, r), expr: .binary(op, left.expr, right.expr))
    }

    /// `&&` and `||`: both sides are booleans; the right side of `&&` is guarded by the left.
    mutating func logical(_ op: Expr.BinaryOp, _ l: Expr, _ r: Expr, _ scope: Scope) -> Typed {
        let lt = type(l, scope)
        expectSide(lt.type, l, "left", op)
        let rt = type(r, op == .and ? guarded(scope, by: l) : scope)
        expectSide(rt.type, r, "right", op)
        return Typed(type: .bool, expr: .binary(op, lt.expr, rt.expr))
    }

    /// Kept out of `logical`, which recurses: its message is built only here.
    mutating func expectSide(_ t: ValueType, _ e: Expr, _ side: String, _ op: Expr.BinaryOp) {
        expectBool(t, e, what: "the \(side) side of '\(op.rawValue)'")
    }

    /// The scope inside the true side of `c`: the steps `c` tests with `has` are known to be there.
    func guarded(_ scope: Scope, by c: Expr) -> Scope {
        var inner = scope
        inner.guarded.formUnion(guards(c))
        return inner
    }

    /// The type `l op r` has, given the types of its sides; reports what cannot be.
    mutating func operate(_ op: Expr.BinaryOp, _ lt: ValueType, _ rt: ValueType, _ l: Expr, _ r: Expr) -> ValueType {
        switch op {
        case .eq, .ne:
            if !lt.isComparable(with: rt) {
                report(.typeMismatch, l.range.lowerBound..<r.range.upperBound, "cannot compare \(lt.phrase) with \(rt.phrase)")
            } else {
                checkLabel(lt, l, against: r)
                checkLabel(rt, r, against: l)
            }
            return .bool
        case .lt, .le, .gt, .ge:
            let ok =
                (lt.isNumeric || lt == .any) && (rt.isNumeric || rt == .any)
                || (lt.isStringLike || lt == .any) && (rt.isStringLike || rt == .any)
            if !ok {
                var hint: String?
                if lt.isNumeric, case .literal(.string(let s)) = r.kind, Double(s) != nil { hint = "compare with the number: \(s)" }
                if rt.isNumeric, case .literal(.string(let s)) = l.kind, Double(s) != nil { hint = "compare with the number: \(s)" }
                report(
                    .typeMismatch, l.range.lowerBound..<r.range.upperBound,
                    "'\(op.rawValue)' compares two numbers or two strings, found \(lt.phrase) and \(rt.phrase)", hint: hint)
            }
            return .bool
        case .in:
            switch rt {
            case .array(let el):
                if !lt.isComparable(with: el) {
                    report(.typeMismatch, l.range, "\(lt.phrase) can never be in a list of \(el)")
                } else if case .list(let items) = r.kind {
                    for item in items { checkLabel(lt, l, against: item) }
                }
            case .object:
                if !(lt.isStringLike || lt == .any) { report(.typeMismatch, l.range, "object keys are strings; found \(lt.article)") }
            case .string:
                if !(lt.isStringLike || lt == .any) { report(.typeMismatch, l.range, "'in' a string looks for a substring; found \(lt.article)") }
            case .any: break
            default:
                report(.typeMismatch, r.range, "'in' needs a list, an object or a string on its right, found \(rt.article)")
            }
            return .bool
        case .add:
            switch (lt, rt) {
            case (.any, _), (_, .any): return lt == .any ? rt == .any ? .any : rt : lt
            case (.int, .int): return .int
            case _ where lt.isNumeric && rt.isNumeric: return .number
            case (.string, .string): return .string
            case (.array(let a), .array(let b)): return .array(a.joined(with: b))
            default:
                report(
                    .typeMismatch, l.range.lowerBound..<r.range.upperBound, "cannot add \(lt.phrase) and \(rt.phrase)",
                    hint: lt.isStringLike || rt.isStringLike ? "convert with string(…)" : nil)
                return .any
            }
        default:
            let ok = (lt.isNumeric || lt == .any) && (rt.isNumeric || rt == .any)
            if !ok {
                report(
                    .typeMismatch, l.range.lowerBound..<r.range.upperBound, "'\(op.rawValue)' needs numbers, found \(lt.article) and \(rt.article)")
                return .any
            }
            return lt == .int && rt == .int && op != .div ? .int : .number
        }
    }

    /// `intent.label == "deplyo"`: a literal the enum-typed side can never equal.
    mutating func checkLabel(_ t: ValueType, _ side: Expr, against other: Expr) {
        guard case .string(let values?) = t, case .literal(.string(let s)) = other.kind, !values.contains(s) else { return }
        if case .literal = side.kind { return }
        report(
            .impossibleLabel, other.range, "\(describe(side)) can never be \"\(s)\"",
            hint: Spelling.hint(s, in: values) ?? "its possible values are \(values.map { "\"\($0)\"" }.joined(separator: ", "))")
    }

    mutating func call(_ target: Expr?, _ name: String, _ nameRange: Range<Int>, _ args: [Expr], _ e: Expr, _ scope: Scope) -> Typed {
        // Method calls take their target as the first argument: s.contains(t) == contains(s, t).
        let all = (target.map { [$0] } ?? []) + args
        func arity(_ n: Int) -> Bool {
            if all.count == n { return true }
            let shown = target == nil ? n : n - 1
            report(.badArguments, nameRange, "'\(name)' takes \(shown) argument\(shown == 1 ? "" : "s"), found \(args.count)")
            return false
        }
        if name == "has" {
            guard target == nil, args.count == 1, args[0].path != nil else {
                report(.badArguments, nameRange, "has() takes one reference, e.g. has(facts) or has(facts.target)")
                return Typed(type: .bool, expr: .constant(.bool(false)))
            }
            var inner = scope
            inner.allowSkipped = true
            return Typed(type: .bool, expr: .has(type(args[0], inner).expr))
        }
        let typed = all.map { type($0, scope) }
        let types = typed.map(\.type)
        func result(_ t: ValueType, _ f: CheckedExpr.Function) -> Typed { Typed(type: t, expr: .function(f, typed.map(\.expr))) }
        switch name {
        case "size":
            if arity(1) {
                switch types[0] {
                case .string, .array, .object, .any: break
                default: report(.typeMismatch, all[0].range, "size() needs a string, list or object, found \(types[0].article)")
                }
            }
            return result(.int, .size)
        case "contains", "startsWith", "endsWith", "matches":
            guard arity(2) else { return Typed(type: .bool, expr: .constant(.bool(false))) }
            let listContains = name == "contains" && { if case .array = types[0] { true } else { false } }()
            if !listContains, !(types[0].isStringLike || types[0] == .any) {
                report(.typeMismatch, all[0].range, "\(name)() works on strings\(name == "contains" ? " and lists" : ""), found \(types[0].phrase)")
            }
            if !listContains, !(types[1].isStringLike || types[1] == .any) {
                report(.typeMismatch, all[1].range, "the argument of \(name)() must be a string, found \(types[1].article)")
            }
            switch name {
            case "contains": return result(.bool, .contains)
            case "startsWith": return result(.bool, .startsWith)
            case "endsWith": return result(.bool, .endsWith)
            default:
                var regex: PCRERegex?
                if case .literal(.string(let pattern)) = all[1].kind {
                    do { regex = try PCRERegex(pattern) } catch {
                        report(.badRegex, all[1].range, "invalid regular expression: \(error.message) at offset \(error.offset)")
                    }
                }
                return result(.bool, .matches(regex))
            }
        case "int":
            _ = arity(1)
            return result(.int, .int)
        case "double":
            _ = arity(1)
            return result(.number, .double)
        case "string":
            _ = arity(1)
            return result(.string, .string)
        default:
            report(
                .unknownName, nameRange, "unknown function '\(name)'",
                hint: Spelling.hint(name, in: Self.functions) ?? "functions are \(Self.functions.joined(separator: ", "))")
            return Typed(type: .any, expr: .constant(.null))
        }
    }
}
