import PrellmSyntax
import Testing

/// Positions inside embedded text map back to the YAML file.
@Suite struct EmbeddedTextTests {
    func text(_ yaml: String, key: String = "t") -> EmbeddedText {
        var bag = DiagnosticBag(file: "t.yaml")
        let source = Source(path: "t.yaml", text: yaml)
        let node = YAMLReader().read(source, into: &bag)!
        return EmbeddedText(node: node[key]!, source: source)
    }

    func offset(of needle: String, in t: EmbeddedText) -> Int {
        let bytes = Array(t.value.utf8), n = Array(needle.utf8)
        for i in 0...(bytes.count - n.count) where Array(bytes[i..<i + n.count]) == n { return i }
        return -1
    }

    @Test func plainScalar() {
        let t = text("t: a {{ facts.tagret }}\n")
        #expect(t.position(at: offset(of: "tagret", in: t)) == Position(line: 1, column: 15))
    }

    @Test func doubleQuotedWithEscapes() {
        let t = text("t: \"a\\tb {{ facts.tagret }}\"\n")
        #expect(t.value.hasPrefix("a\tb"))
        #expect(t.position(at: offset(of: "tagret", in: t)) == Position(line: 1, column: 19))
    }

    @Test func singleQuotedWithDoubledQuote() {
        let t = text("t: 'it''s {{ x.tagret }}'\n")
        #expect(t.value == "it's {{ x.tagret }}")
        #expect(t.position(at: offset(of: "tagret", in: t)) == Position(line: 1, column: 16))
    }

    @Test func literalBlockScalar() {
        let t = text("a: 1\nt: |\n  first line\n  Target: {{ facts.tagret }}\n")
        #expect(t.position(at: offset(of: "tagret", in: t)) == Position(line: 4, column: 20))
    }

    @Test func foldedBlockScalar() {
        let t = text("t: >\n  one\n  two {{ x.tagret }}\n")
        #expect(t.value == "one two {{ x.tagret }}\n")
        #expect(t.position(at: offset(of: "tagret", in: t)) == Position(line: 3, column: 12))
    }

    @Test func multiByteCharactersCountAsOneColumn() {
        let t = text("t: \"zażółć {{ x.tagret }}\"\n")
        #expect(t.position(at: offset(of: "tagret", in: t)) == Position(line: 1, column: 17))
    }
}
