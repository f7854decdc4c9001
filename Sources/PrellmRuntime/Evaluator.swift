import PrellmCompiler
import PrellmRegex
import PrellmSchema
import PrellmSyntax
import Synchronization

/// The Evaluator computes checked expressions at run time over JSON values.
///
/// The compiler has already proved what it can (names exist, types fit, reads happen after
/// writes) and resolved every name to a slot; what remains are facts only a run knows: a field
/// a model left out is `null`, an index past the end is an error, `has(x)` is false for a step
/// that was skipped. Semantics follow CEL where the language adopts it: `&&`/`||`
/// short-circuit, numbers compare by value, `+` on strings concatenates. ExtentAnalysis (in
/// the compiler) bounds what each case can produce; the two are kept case for case.
public struct Evaluator: Sendable {
    /// What an expression can read: the inputs, the outputs of steps that ran, and locals.
    public struct Scope: Sendable {
        /// Inputs by position, and their names for the `inputs` object (built only when read).
        public var inputs: [JSONValue]
        public var names: [String]
        /// Outputs by step position; nil for a step that has not run or was skipped.
        public var steps: [JSONValue?]
        /// The locals stack: a map's item and index, a validate step's value, loop variables.
        public var locals: [JSONValue] = []

        public init(inputs: [JSONValue], names: [String], steps: [JSONValue?], locals: [JSONValue] = []) {
            self.inputs = inputs
            self.names = names
            self.steps = steps
            self.locals = locals
        }

        /// The inputs as one object, as `inputs` reads them.
        public var inputObject: JSONValue {
            var o: [String: JSONValue] = [:]
            for (name, v) in zip(names, inputs) { o[name] = v }
            return .object(o)
        }
    }

    public struct EvaluationError: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    let regexes = RegexCache()

    public init() {}

    public func evaluate(_ e: CheckedExpr, _ scope: Scope) throws(EvaluationError) -> JSONValue {
        switch e {
        case .constant(let v): return v
        case .inputs: return scope.inputObject
        case .input(let i): return i < scope.inputs.count ? scope.inputs[i] : .null
        case .step(let k): return k < scope.steps.count ? scope.steps[k] ?? .null : .null
        case .local(let slot): return slot < scope.locals.count ? scope.locals[slot] : .null
        case .field(let target, let name):
            if case .object(let o) = try evaluate(target, scope) { return o[name] ?? .null }
            return .null
        case .index(let target, let i):
            let base = try evaluate(target, scope), key = try evaluate(i, scope)
            switch (base, key) {
            case (.array(let a), .number(let n)):
                // NaN, an infinity or a number past Int's range is no position at all.
                guard let k = JSONValue.number(n).int else { throw EvaluationError(message: "\(JSONValue.number(n).jsonText) is not a list index") }
                let idx = k < 0 ? a.count + k : k
                guard idx >= 0, idx < a.count else { throw EvaluationError(message: "index \(k) is out of range for a list of \(a.count)") }
                return a[idx]
            case (.object(let o), .string(let k)): return o[k] ?? .null
            case (.null, _): return .null
            default: throw EvaluationError(message: "cannot index \(base.typeName) with \(key.typeName)")
            }
        case .has(let x):
            return .bool(try evaluate(x, scope) != .null)
        case .function(let f, let args):
            return try call(f, args, scope)
        case .not(let x):
            return .bool(!(try truthyBool(try evaluate(x, scope))))
        case .negate(let x):
            guard case .number(let n) = try evaluate(x, scope) else { throw EvaluationError(message: "'-' needs a number") }
            return .number(-n)
        case .binary(let op, let l, let r):
            return try binary(op, l, r, scope)
        case .conditional(let c, let a, let b):
            return try truthyBool(try evaluate(c, scope)) ? try evaluate(a, scope) : try evaluate(b, scope)
        case .list(let items):
            var out: [JSONValue] = []
            out.reserveCapacity(items.count)
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

    /// Conditions must be booleans; a null (a field the model left out) counts as false.
    public func truthyBool(_ v: JSONValue) throws(EvaluationError) -> Bool {
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

    func binary(_ op: Expr.BinaryOp, _ l: CheckedExpr, _ r: CheckedExpr, _ scope: Scope) throws(EvaluationError) -> JSONValue {
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

    func call(_ f: CheckedExpr.Function, _ args: [CheckedExpr], _ scope: Scope) throws(EvaluationError) -> JSONValue {
        var values: [JSONValue] = []
        values.reserveCapacity(args.count)
        for a in args { values.append(try evaluate(a, scope)) }
        func string(_ i: Int) throws(EvaluationError) -> String {
            guard i < values.count, case .string(let s) = values[i] else {
                throw EvaluationError(message: "\(f.name)() needs a string, found \(i < values.count ? values[i].typeName : "nothing")")
            }
            return s
        }
        switch f {
        case .size:
            switch values.first {
            case .string(let s)?: return .number(Double(s.unicodeScalars.count))
            case .array(let a)?: return .number(Double(a.count))
            case .object(let o)?: return .number(Double(o.count))
            case .null?, nil: return .number(0)
            case let v?: throw EvaluationError(message: "size() of \(v.typeName)")
            }
        case .contains:
            if case .array(let a)? = values.first, values.count > 1 { return .bool(a.contains(values[1])) }
            return .bool(try string(0).contains(try string(1)))
        case .startsWith: return .bool(try string(0).hasPrefix(try string(1)))
        case .endsWith: return .bool(try string(0).hasSuffix(try string(1)))
        case .matches(let compiled):
            let subject = try string(0)
            if let compiled { return .bool(compiled.matches(subject)) }
            let pattern = try string(1)
            guard let re = regexes.regex(pattern) else { throw EvaluationError(message: "invalid regular expression '\(pattern)'") }
            return .bool(re.matches(subject))
        case .int:
            switch values.first {
            case .number(let n)?: return .number(n.rounded(.towardZero))
            case .string(let s)?:
                guard let n = Double(s.trimmingCharacters(in: [" "])) else { throw EvaluationError(message: "int(\"\(s)\") is not a number") }
                return .number(n.rounded(.towardZero))
            case .bool(let b)?: return .number(b ? 1 : 0)
            default: throw EvaluationError(message: "int() needs a number or a string")
            }
        case .double:
            switch values.first {
            case .number(let n)?: return .number(n)
            case .string(let s)?:
                guard let n = Double(s.trimmingCharacters(in: [" "])) else { throw EvaluationError(message: "double(\"\(s)\") is not a number") }
                return .number(n)
            default: throw EvaluationError(message: "double() needs a number or a string")
            }
        case .string: return .string(TemplateRenderer.text(values.first ?? .null))
        }
    }
}

/// Patterns given at run time (`matches(s, inputs.pattern)`), compiled once each and shared.
/// A literal pattern is compiled by the checker and never reaches this cache.
final class RegexCache: Sendable {
    private let cache = Mutex<[String: PCRERegex]>([:])
    /// Enough for any workflow's dynamic patterns; a hostile stream of distinct ones cannot grow it without bound.
    static let limit = 256

    func regex(_ pattern: String) -> PCRERegex? {
        if let hit = cache.withLock({ $0[pattern] }) { return hit }
        guard let re = try? PCRERegex(pattern) else { return nil }
        cache.withLock { c in
            if c.count >= Self.limit { c.removeAll(keepingCapacity: true) }
            c[pattern] = re
        }
        return re
    }
}
