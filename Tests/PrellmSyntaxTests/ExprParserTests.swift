import PrellmSyntax
import Testing

@Suite struct ExprParserTests {
    /// Prints the tree with explicit parentheses, to check precedence.
    func show(_ e: Expr) -> String {
        switch e.kind {
        case .literal(let l):
            switch l {
            case .null: return "null"
            case .bool(let b): return "\(b)"
            case .int(let i): return "\(i)"
            case .double(let d): return "\(d)"
            case .string(let s): return "\"\(s)\""
            }
        case .identifier(let n): return n
        case .member(let t, let n, _): return "\(show(t)).\(n)"
        case .index(let t, let i): return "\(show(t))[\(show(i))]"
        case .call(let t, let n, _, let args):
            return (t.map { show($0) + "." } ?? "") + n + "(" + args.map(show).joined(separator: ", ") + ")"
        case .unary(let op, let x): return "(\(op.rawValue)\(show(x)))"
        case .binary(let op, let l, let r): return "(\(show(l)) \(op.rawValue) \(show(r)))"
        case .conditional(let c, let a, let b): return "(\(show(c)) ? \(show(a)) : \(show(b)))"
        case .list(let items): return "[" + items.map(show).joined(separator: ", ") + "]"
        case .map(let entries): return "{" + entries.map { "\(show($0.key)): \(show($0.value))" }.joined(separator: ", ") + "}"
        }
    }

    @Test(arguments: [
        ("a || b && c", "(a || (b && c))"),
        ("1 + 2 * 3 - 4", "((1 + (2 * 3)) - 4)"),
        ("!a.b == c", "((!a.b) == c)"),
        ("intent.label == \"deploy\" && facts.count > 3", "((intent.label == \"deploy\") && (facts.count > 3))"),
        ("x in [1, 2, 3]", "(x in [1, 2, 3])"),
        ("a ? b : c ? d : e", "(a ? b : (c ? d : e))"),
        ("facts.missing[0].name", "facts.missing[0].name"),
        ("size(xs) > 0 && s.startsWith('a')", "((size(xs) > 0) && s.startsWith(\"a\"))"),
        ("-3 + -x", "(-3 + (-x))"),
        ("{'a': 1}", "{\"a\": 1}"),
        ("1.5e3 * 2", "(1500.0 * 2)"),
    ])
    func precedence(_ input: String, _ expected: String) throws {
        #expect(show(try ExprParser.parse(input)) == expected)
    }

    @Test(arguments: [
        ("a = b", "unexpected '='"),
        ("a < b < c", "comparisons do not chain ('<' then '<')"),
        ("(a", "expected ')', found the end of the expression"),
        ("'abc", "unterminated string"),
        ("a.", "expected a field name after '.', found the end of the expression"),
        ("", "empty expression"),
        ("a | b", "unexpected '|' after the expression"),
        ("3x", "invalid number"),
        ("'\\q'", "unknown escape '\\q'"),
    ])
    func errors(_ input: String, _ message: String) {
        #expect(throws: ExprError.self) { try ExprParser.parse(input) }
        do { _ = try ExprParser.parse(input) } catch { #expect(error.message == message) }
    }

    @Test func deepNestingIsAnErrorNotACrash() {
        let input = String(repeating: "(", count: 10_000) + "1" + String(repeating: ")", count: 10_000)
        #expect(throws: ExprError.self) { try ExprParser.parse(input) }
        let nots = String(repeating: "!", count: 10_000) + "a"
        #expect(throws: ExprError.self) { try ExprParser.parse(nots) }
    }

    @Test func rangesCoverTheSource() throws {
        let e = try ExprParser.parse("  facts.tagret == 1")
        guard case .binary(_, let l, _) = e.kind, case .member(_, _, let nameRange) = l.kind else {
            Issue.record("unexpected tree")
            return
        }
        #expect(nameRange == 8..<14)
    }
}
