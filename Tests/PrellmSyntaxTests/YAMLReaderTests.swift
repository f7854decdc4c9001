import PrellmSyntax
import Testing

@Suite struct YAMLReaderTests {
    func read(_ text: String, limits: YAMLReader.Limits = .init()) -> (YAMLNode?, [Diagnostic]) {
        var bag = DiagnosticBag(file: "t.yaml")
        let node = YAMLReader(limits: limits).read(Source(path: "t.yaml", text: text), into: &bag)
        return (node, bag.sorted)
    }

    @Test func keepsSpansOfEveryNode() throws {
        let (node, diags) = read("prellm: 1\nsteps:\n  - id: a\n    transform: \"x {{ y }}\"\n")
        #expect(diags.isEmpty)
        let steps = try #require(node?["steps"]?.sequence)
        let transform = try #require(steps[0]["transform"])
        #expect(transform.span.start == Position(line: 4, column: 16))
        #expect(transform.span.end == Position(line: 4, column: 27))
        #expect(transform.scalar?.style == .doubleQuoted)
    }

    @Test func resolvesScalarsLikeYAML12Core() throws {
        let (node, _) = read("a: 1\nb: \"1\"\nc: 1.5\nd: true\ne: yes\nf: ~\ng: !!str 2\n")
        let n = try #require(node)
        #expect(n["a"]?.resolved == .int(1))
        #expect(n["b"]?.resolved == .string("1"))
        #expect(n["c"]?.resolved == .float(1.5))
        #expect(n["d"]?.resolved == .bool(true))
        #expect(n["e"]?.resolved == .string("yes"))  // YAML 1.2: yes is a string
        #expect(n["f"]?.resolved == .null)
        #expect(n["g"]?.resolved == .string("2"))
    }

    @Test func aliasBombIsAnErrorNotAnExplosion() {
        var text = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        var prev = "a"
        for level in 1...12 {
            let name = "l\(level)"
            text += "\(name): &\(name) [" + Array(repeating: "*\(prev)", count: 10).joined(separator: ",") + "]\n"
            prev = name
        }
        let (node, diags) = read(text)
        #expect(node == nil)
        #expect(diags.map(\.code) == [.aliasLimit])
    }

    @Test func smallAliasesAreExpanded() throws {
        let (node, diags) = read("base: &b {model: small, text: hi}\nstep: *b\n")
        #expect(diags.isEmpty)
        #expect(node?["step"]?["model"]?.scalar?.value == "small")
        #expect(node?["step"]?.span.start == Position(line: 2, column: 7))
    }

    @Test func deepNestingIsBounded() {
        let text = "x: " + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let (node, diags) = read(text)
        #expect(node == nil)
        #expect(diags.first?.code == .nestingLimit)
    }

    @Test func duplicateKeysPointAtTheFirst() throws {
        let (_, diags) = read("a: 1\nb: 2\na: 3\n")
        let d = try #require(diags.first)
        #expect(d.code == .duplicateKey)
        #expect(d.span.start == Position(line: 3, column: 1))
        #expect(d.related.first?.span.start == Position(line: 1, column: 1))
    }

    @Test func syntaxErrorsHavePositions() throws {
        let (node, diags) = read("a: [1, 2\nb: 3\n")
        #expect(node == nil)
        let d = try #require(diags.first)
        #expect(d.code == .yamlSyntax)
        #expect(d.span.start.line >= 2)
    }

    @Test func fileSizeIsBounded() {
        var limits = YAMLReader.Limits()
        limits.maxBytes = 100
        let (node, diags) = read(String(repeating: "a: 1\n", count: 100), limits: limits)
        #expect(node == nil)
        #expect(diags.first?.code == .fileTooLarge)
    }

    @Test func emptyFileIsNullNotACrash() {
        let (node, diags) = read("")
        #expect(diags.isEmpty)
        #expect(node == nil)
    }

    @Test func invalidUTF8IsAnError() {
        var bag = DiagnosticBag(file: "t.yaml")
        let text = String(decoding: [0x61, 0x3A, 0x20, 0xFF, 0xFE, 0x0A], as: UTF8.self)
        _ = YAMLReader().read(Source(path: "t.yaml", text: text), into: &bag)
        // Swift repairs invalid UTF-8 when it makes the String; what reaches libyaml is valid.
        #expect(!bag.items.contains { $0.code == .aliasLimit })
    }
}

/// libyaml's messages become prellm's own, with the fix.
@Suite struct YAMLErrorTextTests {
    func first(_ text: String) -> Diagnostic? {
        var bag = DiagnosticBag(file: "w.yaml")
        _ = YAMLReader().read(Source(path: "w.yaml", text: text), into: &bag)
        return bag.sorted.first
    }

    @Test(arguments: [
        ("a:\n  if: \"security\" in tags\n  b: 1\n", "quote the whole expression: if: '\"security\" in tags'"),
        ("a:\n  - 'x' == inputs.q\n  - y\n", "quote the whole expression: - \"'x' == inputs.q\""),
        ("a:\n  if: 'it''s' in tags\n", "quote the whole expression: if: \"'it''s' in tags\""),
    ])
    func anExpressionThatStartsWithAQuote(_ text: String, _ hint: String) throws {
        let d = try #require(first(text))
        #expect(d.message == "this value starts with a quote, so YAML reads only the quoted part and then finds more text")
        #expect(d.hint == hint)
    }

    @Test func aBangExpressionIsNamedAndKeptAsText() throws {
        var bag = DiagnosticBag(file: "w.yaml")
        let node = YAMLReader().read(Source(path: "w.yaml", text: "assert:\n  - !value.risky\n  - !secret x\n"), into: &bag)
        #expect(bag.sorted.map(\.hint) == ["quote the whole expression: \"!value.risky\"", "prellm files use plain YAML; remove the tag"])
        #expect(node?["assert"]?.sequence?.first?.scalar?.value == "!value.risky")
    }

    @Test func aTabInTheIndentation() throws {
        let d = try #require(first("a:\n\tb: 1\n"))
        #expect(d.message == "a tab is used for indentation here; YAML indents with spaces only")
    }
}
