import PrellmRegex
import PrellmSchema
import PrellmSyntax

/// The Evaluator computes expressions at run time over JSON values.
///
/// The compiler has already proved what it can (names exist, types fit, reads happen after
/// writes); what remains are facts only a run knows: a field a model left out is `null`, an
/// index past the end is an error, `has(x)` is false for a step that was skipped. Semantics
/// follow CEL where the language adopts it: `&&`/`||` short-circuit, numbers compare by value,
/// `+` on strings concatenates.
public struct Evaluator: Sendable {
    /// Names visible to an expression: `inputs`, the outputs of steps that ran, and locals.
    public struct Scope: Sendable {
        public var inputs: JSONValue
        public var steps: [String: JSONValue]
        public var locals: [String: JSONValue] = [:]

        public init(inputs: JSONValue, steps: [String: JSONValue], locals: [String: JSONValue] = [:]) {
            self.inputs = inputs
            self.steps = steps
            self.locals = locals
        }
    }

    public struct EvaluationError: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    let regexes = RegexCache()

    public init() {}

    public func evaluate(_ e: Expr, _ scope: Scope) throws(EvaluationError) -> JSONValue {
        switch e.kind {
        case .literal(let l):
            switch l {
            case .null: return .null
            case .bool(let b): return .bool(b)
            case .int(let i): return .number(Double(i))
            case .double(let d): return .number(d)
            case .string(let s): return .string(s)
            }
        case .identifier(let name):
            if let v = scope.locals[name] { return v }
            if name == "inputs" { return scope.inputs }
            return scope.steps[name] ?? .null
        case .member(let target, let name, _):
            return field(try evaluate(target, scope), name)
        case .index(let target, let i):
            let base = try evaluate(target, scope), key = try evaluate(i, scope)
            switch (base, key) {
            case (.array(let a), .number(let n)):
                let k = Int(n)
                let idx = k < 0 ? a.count + k : k
                guard idx >= 0, idx < a.count else { throw EvaluationError(message: "index \(k) is out of range for a list of \(a.count)") }
                return a[idx]
            case (.object(let o), .string(let k)): return o[k] ?? .null
            case (.null, _): return .null
            default: throw EvaluationError(message: "cannot index \(base.typeName) with \(key.typeName)")
            }
        case .call(let target, let name, _, let args):
            return try call(target, name, args, scope)
        case .unary(.not, let x):
            return .bool(!(try truthyBool(try evaluate(x, scope))))
        case .unary(.negate, let x):
            guard case .number(let n) = try evaluate(x, scope) else { throw EvaluationError(message: "'-' needs a number") }
            return .number(-n)
        case .binary(let op, let l, let r):
            return try binary(op, l, r, scope)
        case .conditional(let c, let a, let b):
            return try truthyBool(try evaluate(c, scope)) ? try evaluate(a, scope) : try evaluate(b, scope)
        case .list(let items):
            var out: [JSONValue] = []
            for item in items { out.append(try evaluate(item, scope)) }
            return .array(out)
        case .map(let entries):
            var o: [String: JSONValue] = [:]
            for (k, v) in entries {
                guard case .string(let key) = try evaluate(k, scope) else { throw EvaluationError(message: "map keys must be strings") }
                o[key] = try evaluate(v, scope)
            }
            return .object(o)
        }
    }

    func field(_ base: JSONValue, _ name: String) -> JSONValue {
        if case .object(let o) = base { return o[name] ?? .null }
        return .null
    }

    /// Conditions must be booleans; a null (a field the model left out) counts as false.
    func truthyBool(_ v: JSONValue) throws(EvaluationError) -> Bool {
        switch v {
        case .bool(let b): return b
        case .null: return false
        default: throw EvaluationError(message: "expected a boolean, found \(v.typeName)")
        }
    }

    /// Template truthiness: false, null, 0, "" and empty collections are false.
    public static func truthy(_ v: JSONValue) -> Bool {
        switch v {
        case .null: false
        case .bool(let b): b
        case .number(let n): n != 0
        case .string(let s): !s.isEmpty
        case .array(let a): !a.isEmpty
        case .object(let o): !o.isEmpty
        }
    }

    func binary(_ op: Expr.BinaryOp, _ l: Expr, _ r: Expr, _ scope: Scope) throws(EvaluationError) -> JSONValue {
        switch op {
        case .and:
            guard try truthyBool(try evaluate(l, scope)) else { return .bool(false) }
            return .bool(try truthyBool(try evaluate(r, scope)))
        case .or:
            if try truthyBool(try evaluate(l, scope)) { return .bool(true) }
            return .bool(try truthyBool(try evaluate(r, scope)))
        default: break
        }
        let a = try evaluate(l, scope), b = try evaluate(r, scope)
        switch op {
        case .eq: return .bool(a == b)
        case .ne: return .bool(a != b)
        case .lt, .le, .gt, .ge:
            let c: Int
            switch (a, b) {
            case (.number(let x), .number(let y)): c = x < y ? -1 : x > y ? 1 : 0
            case (.string(let x), .string(let y)): c = x < y ? -1 : x > y ? 1 : 0
            case (.null, _), (_, .null): return .bool(false)
            default: throw EvaluationError(message: "cannot compare \(a.typeName) with \(b.typeName)")
            }
            switch op {
            case .lt: return .bool(c < 0)
            case .le: return .bool(c <= 0)
            case .gt: return .bool(c > 0)
            default: return .bool(c >= 0)
            }
        case .in:
            switch b {
            case .array(let items): return .bool(items.contains(a))
            case .object(let o): return .bool(a.stringValue.map { o[$0] != nil } ?? false)
            case .string(let s): return .bool(a.stringValue.map { s.contains($0) } ?? false)
            case .null: return .bool(false)
            default: throw EvaluationError(message: "'in' needs a list, an object or a string")
            }
        case .add:
            switch (a, b) {
            case (.number(let x), .number(let y)): return .number(x + y)
            case (.string(let x), .string(let y)): return .string(x + y)
            case (.array(let x), .array(let y)): return .array(x + y)
            default: throw EvaluationError(message: "cannot add \(a.typeName) and \(b.typeName)")
            }
        default:
            guard case .number(let x) = a, case .number(let y) = b else {
                throw EvaluationError(message: "'\(op.rawValue)' needs numbers, found \(a.typeName) and \(b.typeName)")
            }
            switch op {
            case .sub: return .number(x - y)
            case .mul: return .number(x * y)
            case .div:
                guard y != 0 else { throw EvaluationError(message: "division by zero") }
                return .number(x / y)  // real division: JSON has one number type
            default:
                guard y != 0 else { throw EvaluationError(message: "modulo by zero") }
                return .number(x.truncatingRemainder(dividingBy: y))
            }
        }
    }

    func call(_ target: Expr?, _ name: String, _ args: [Expr], _ scope: Scope) throws(EvaluationError) -> JSONValue {
        if name == "has" {
            guard let arg = args.first else { return .bool(false) }
            return .bool(try evaluate(arg, scope) != .null)
        }
        var values: [JSONValue] = []
        if let target { values.append(try evaluate(target, scope)) }
        for a in args { values.append(try evaluate(a, scope)) }
        func string(_ i: Int) throws(EvaluationError) -> String {
            guard i < values.count, case .string(let s) = values[i] else {
                throw EvaluationError(message: "\(name)() needs a string, found \(i < values.count ? values[i].typeName : "nothing")")
            }
            return s
        }
        switch name {
        case "size":
            switch values.first {
            case .string(let s)?: return .number(Double(s.unicodeScalars.count))
            case .array(let a)?: return .number(Double(a.count))
            case .object(let o)?: return .number(Double(o.count))
            case .null?, nil: return .number(0)
            case let v?: throw EvaluationError(message: "size() of \(v.typeName)")
            }
        case "contains":
            if case .array(let a)? = values.first, values.count > 1 { return .bool(a.contains(values[1])) }
            return .bool(try string(0).contains(try string(1)))
        case "startsWith": return .bool(try string(0).hasPrefix(try string(1)))
        case "endsWith": return .bool(try string(0).hasSuffix(try string(1)))
        case "matches":
            let pattern = try string(1)
            guard let re = regexes.regex(pattern) else { throw EvaluationError(message: "invalid regular expression '\(pattern)'") }
            return .bool(re.matches(try string(0)))
        case "int":
            switch values.first {
            case .number(let n)?: return .number(n.rounded(.towardZero))
            case .string(let s)?:
                guard let n = Double(s.trimmingCharacters(in: [" "])) else { throw EvaluationError(message: "int(\"\(s)\") is not a number") }
                return .number(n.rounded(.towardZero))
            case .bool(let b)?: return .number(b ? 1 : 0)
            default: throw EvaluationError(message: "int() needs a number or a string")
            }
        case "double":
            switch values.first {
            case .number(let n)?: return .number(n)
            case .string(let s)?:
                guard let n = Double(s.trimmingCharacters(in: [" "])) else { throw EvaluationError(message: "double(\"\(s)\") is not a number") }
                return .number(n)
            default: throw EvaluationError(message: "double() needs a number or a string")
            }
        case "string": return .string(TemplateRenderer.text(values.first ?? .null))
        default: throw EvaluationError(message: "unknown function \(name)()")
        }
    }
}

/// Compiled patterns shared across evaluations.
final class RegexCache: @unchecked Sendable {
    private var cache: [String: PCRERegex] = [:]
    private let lock = NSLockLike()

    func regex(_ pattern: String) -> PCRERegex? {
        lock.locked {
            if let hit = cache[pattern] { return hit }
            guard let re = try? PCRERegex(pattern) else { return nil }
            cache[pattern] = re
            return re
        }
    }
}
