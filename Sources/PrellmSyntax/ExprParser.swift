/// The ExprParser is a recursive-descent parser for the expression language.
///
/// Grammar, loosest binding first (documented in docs/language.md):
///
///     expr    = or [ "?" expr ":" expr ]
///     or      = and { "||" and }
///     and     = rel { "&&" rel }
///     rel     = add [ ("==" | "!=" | "<" | "<=" | ">" | ">=" | "in") add ]
///     add     = mul { ("+" | "-") mul }
///     mul     = unary { ("*" | "/" | "%") unary }
///     unary   = { "!" | "-" } member
///     member  = primary { "." IDENT [ "(" args ")" ] | "[" expr "]" }
///     primary = literal | IDENT [ "(" args ")" ] | "(" expr ")" | "[" args "]" | "{" entries "}"
///
/// Comparisons do not chain (`a < b < c` is an error, as in CEL). Nesting is bounded so that
/// hostile input fails with a diagnostic rather than exhausting the stack: the parser's own
/// recursion (`maxDepth`), and the height of the tree it builds (`maxHeight`), which every
/// later pass recurses through — a chain of 5,000 `&&` is flat text but a tree 5,000 deep.
public struct ExprParser {
    static let maxDepth = 64
    public static let maxHeight = 128
    var lexer: ExprLexer
    var token: ExprLexer.Token
    var depth = 0

    /// Parses `range` of `bytes` as one whole expression.
    public static func parse(_ bytes: [UInt8], range: Range<Int>) throws(ExprError) -> Expr {
        var p = try ExprParser(bytes: bytes, range: range)
        if case .end = p.token.kind {
            throw ExprError(range: range, message: "empty expression")
        }
        let e = try p.expr()
        try p.expectEnd()
        return e
    }

    public static func parse(_ text: String) throws(ExprError) -> Expr {
        let bytes = Array(text.utf8)
        return try parse(bytes, range: 0..<bytes.count)
    }

    /// Parses `expr { "|" IDENT [ "(" args ")" ] }`, the body of a `{{ }}`.
    public static func parseWithFilters(_ bytes: [UInt8], range: Range<Int>) throws(ExprError) -> (Expr, [Filter]) {
        var p = try ExprParser(bytes: bytes, range: range)
        if case .end = p.token.kind {
            throw ExprError(range: range, message: "empty expression", hint: "put an expression between {{ and }}")
        }
        let e = try p.expr()
        var filters: [Filter] = []
        while p.isPunct("|") {
            try p.advance()
            guard case .identifier(let name) = p.token.kind else {
                throw ExprError(range: p.token.range, message: "expected a filter name after '|'")
            }
            let nameRange = p.token.range
            try p.advance()
            var args: [Expr] = []
            if p.isPunct("(") {
                try p.advance()
                args = try p.arguments(closing: ")")
            }
            filters.append(Filter(name: name, nameRange: nameRange, args: args))
        }
        try p.expectEnd()
        return (e, filters)
    }

    init(bytes: [UInt8], range: Range<Int>) throws(ExprError) {
        lexer = ExprLexer(bytes: bytes, range: range)
        token = try lexer.next()
    }

    mutating func advance() throws(ExprError) { token = try lexer.next() }

    func isPunct(_ p: String) -> Bool { token.kind == .punct(p) }

    mutating func expect(_ p: String) throws(ExprError) {
        guard isPunct(p) else {
            throw ExprError(range: token.range, message: "expected '\(p)', found \(describe(token))")
        }
        try advance()
    }

    func expectEnd() throws(ExprError) {
        guard case .end = token.kind else {
            var hint: String?
            if case .punct("|") = token.kind { hint = "filters go only inside {{ }}; use '||' for 'or'" }
            if case .punct("=") = token.kind { hint = "use '==' to compare" }
            throw ExprError(range: token.range, message: "unexpected \(describe(token)) after the expression", hint: hint)
        }
    }

    func describe(_ t: ExprLexer.Token) -> String {
        switch t.kind {
        case .identifier(let n): "'\(n)'"
        case .int(let v): "'\(v)'"
        case .double(let v): "'\(v)'"
        case .string: "a string"
        case .punct(let p): "'\(p)'"
        case .end: "the end of the expression"
        }
    }

    mutating func expr() throws(ExprError) -> Expr {
        depth += 1
        defer { depth -= 1 }
        if depth > Self.maxDepth {
            throw ExprError(range: token.range, message: "expression nested more than \(Self.maxDepth) levels deep")
        }
        let cond = try or()
        guard isPunct("?") else { return try bounded(cond, at: cond.range) }
        try advance()
        let a = try expr()
        try expect(":")
        let b = try expr()
        return try bounded(Expr(.conditional(cond, a, b), cond.range.lowerBound..<b.range.upperBound), at: b.range)
    }

    mutating func or() throws(ExprError) -> Expr {
        var l = try and()
        while isPunct("||") {
            try advance()
            let r = try and()
            l = try bounded(Expr(.binary(.or, l, r), l.range.lowerBound..<r.range.upperBound), at: r.range)
        }
        return l
    }

    mutating func and() throws(ExprError) -> Expr {
        var l = try rel()
        while isPunct("&&") {
            try advance()
            let r = try rel()
            l = try bounded(Expr(.binary(.and, l, r), l.range.lowerBound..<r.range.upperBound), at: r.range)
        }
        return l
    }

    func relOp() -> Expr.BinaryOp? {
        switch token.kind {
        case .punct(let p): [.eq, .ne, .lt, .le, .gt, .ge].first { $0.rawValue == p }
        case .identifier("in"): .in
        default: nil
        }
    }

    mutating func rel() throws(ExprError) -> Expr {
        let l = try add()
        guard let op = relOp() else { return l }
        try advance()
        let r = try add()
        if let again = relOp() {
            throw ExprError(
                range: token.range, message: "comparisons do not chain ('\(op.rawValue)' then '\(again.rawValue)')",
                hint: "join them with '&&'")
        }
        return Expr(.binary(op, l, r), l.range.lowerBound..<r.range.upperBound)
    }

    mutating func add() throws(ExprError) -> Expr {
        var l = try mul()
        while isPunct("+") || isPunct("-") {
            let op: Expr.BinaryOp = isPunct("+") ? .add : .sub
            try advance()
            let r = try mul()
            l = try bounded(Expr(.binary(op, l, r), l.range.lowerBound..<r.range.upperBound), at: r.range)
        }
        return l
    }

    mutating func mul() throws(ExprError) -> Expr {
        var l = try unary()
        while isPunct("*") || isPunct("/") || isPunct("%") {
            let op: Expr.BinaryOp = isPunct("*") ? .mul : isPunct("/") ? .div : .mod
            try advance()
            let r = try unary()
            l = try bounded(Expr(.binary(op, l, r), l.range.lowerBound..<r.range.upperBound), at: r.range)
        }
        return l
    }

    mutating func unary() throws(ExprError) -> Expr {
        if isPunct("!") || isPunct("-") {
            let start = token.range.lowerBound
            let op: Expr.UnaryOp = isPunct("!") ? .not : .negate
            try advance()
            depth += 1
            defer { depth -= 1 }
            if depth > Self.maxDepth { throw ExprError(range: token.range, message: "expression nested too deeply") }
            let e = try unary()
            if op == .negate, case .literal(.int(let v)) = e.kind { return Expr(.literal(.int(-v)), start..<e.range.upperBound) }
            if op == .negate, case .literal(.double(let v)) = e.kind { return Expr(.literal(.double(-v)), start..<e.range.upperBound) }
            return Expr(.unary(op, e), start..<e.range.upperBound)
        }
        return try member()
    }

    /// A primary and its postfix chain. The parser recurses through here at every level of
    /// parentheses, so each postfix form is its own function: a debug build gives a function
    /// a stack slot for every local of every branch.
    mutating func member() throws(ExprError) -> Expr {
        var e = try primary()
        while true {
            if isPunct(".") {
                e = try field(of: e)
            } else if isPunct("[") {
                e = try subscripted(e)
            } else {
                return e
            }
        }
    }

    /// `.name` or `.name(args)` after `e`.
    mutating func field(of e: Expr) throws(ExprError) -> Expr {
        try advance()
        guard case .identifier(let name) = token.kind else {
            throw ExprError(range: token.range, message: "expected a field name after '.', found \(describe(token))")
        }
        let nameRange = token.range
        try advance()
        guard isPunct("(") else {
            return try bounded(Expr(.member(e, name: name, nameRange: nameRange), e.range.lowerBound..<nameRange.upperBound), at: nameRange)
        }
        try advance()
        let args = try arguments(closing: ")")
        return try bounded(
            Expr(.call(target: e, name: name, nameRange: nameRange, args: args), e.range.lowerBound..<lexerOffset), at: nameRange)
    }

    /// `[i]` after `e`.
    mutating func subscripted(_ e: Expr) throws(ExprError) -> Expr {
        try advance()
        let i = try expr()
        let close = token.range.upperBound
        try expect("]")
        return try bounded(Expr(.index(e, i), e.range.lowerBound..<close), at: i.range)
    }

    /// The node, unless it makes the tree deeper than `maxHeight`: then an error at the part
    /// that crossed the limit.
    func bounded(_ e: Expr, at range: Range<Int>) throws(ExprError) -> Expr {
        guard e.height > Self.maxHeight else { return e }
        throw ExprError(
            range: range, message: "the expression is more than \(Self.maxHeight) levels deep here (each operator of a chain adds one)",
            hint: "split it: work out parts in earlier steps, or test membership with 'x in [\"a\", \"b\"]'")
    }

    /// The end offset of the token just consumed.
    var lastEnd = 0
    var lexerOffset: Int { lastEnd }

    mutating func arguments(closing: String) throws(ExprError) -> [Expr] {
        var args: [Expr] = []
        if isPunct(closing) {
            lastEnd = token.range.upperBound
            try advance()
            return args
        }
        while true {
            args.append(try expr())
            if isPunct(",") {
                try advance()
                if isPunct(closing) { break }  // trailing comma
                continue
            }
            break
        }
        lastEnd = token.range.upperBound
        try expect(closing)
        return args
    }

    mutating func primary() throws(ExprError) -> Expr {
        let t = token
        switch t.kind {
        case .int(let v): try advance(); return Expr(.literal(.int(v)), t.range)
        case .double(let v): try advance(); return Expr(.literal(.double(v)), t.range)
        case .string(let s): try advance(); return Expr(.literal(.string(s)), t.range)
        case .identifier(let name): return try named(name, t.range)
        case .punct("("): return try parenthesized(t.range)
        case .punct("["):
            try advance()
            let items = try arguments(closing: "]")
            return Expr(.list(items), t.range.lowerBound..<lastEnd)
        case .punct("{"): return try mapLiteral(t.range)
        case .end:
            throw ExprError(range: t.range, message: "the expression ends too early")
        default:
            throw ExprError(range: t.range, message: "unexpected \(describe(t))")
        }
    }

    /// A literal word, a name, or a call `name(args)`.
    mutating func named(_ name: String, _ range: Range<Int>) throws(ExprError) -> Expr {
        try advance()
        switch name {
        case "true": return Expr(.literal(.bool(true)), range)
        case "false": return Expr(.literal(.bool(false)), range)
        case "null": return Expr(.literal(.null), range)
        case "in": throw ExprError(range: range, message: "unexpected 'in'")
        default: break
        }
        guard isPunct("(") else { return Expr(.identifier(name), range) }
        try advance()
        let args = try arguments(closing: ")")
        return Expr(.call(target: nil, name: name, nameRange: range, args: args), range.lowerBound..<lastEnd)
    }

    /// `( expr )`, whose range takes in the parentheses.
    mutating func parenthesized(_ open: Range<Int>) throws(ExprError) -> Expr {
        try advance()
        let e = try expr()
        let close = token.range.upperBound
        try expect(")")
        return Expr(e.kind, open.lowerBound..<close)
    }

    /// `{ key: value, … }`.
    mutating func mapLiteral(_ open: Range<Int>) throws(ExprError) -> Expr {
        try advance()
        var entries: [(key: Expr, value: Expr)] = []
        while !isPunct("}") {
            let k = try expr()
            try expect(":")
            let v = try expr()
            entries.append((k, v))
            if isPunct(",") { try advance() } else { break }
        }
        let close = token.range.upperBound
        try expect("}")
        return Expr(.map(entries), open.lowerBound..<close)
    }
}
