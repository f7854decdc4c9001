import PrellmSyntax
import Testing

@Suite struct TemplateParserTests {
    func kinds(_ nodes: [Template.Node]) -> [String] {
        nodes.map {
            switch $0 {
            case .text(let t): "text(\(t))"
            case .output(_, let filters, _): "output|" + filters.map(\.name).joined(separator: "|")
            case .ifBlock(let b, let o, _): "if(\(b.count)\(o == nil ? "" : "+else"))"
            case .forBlock(let v, _, _, let body, _): "for(\(v): \(kinds(body).joined(separator: ",")))"
            }
        }
    }

    @Test func outputsFiltersAndBlocks() throws {
        let t = try TemplateParser.parse(
            "Hi {{ name | upper | truncate(3) }}!{% if a %}A{% elif b %}B{% else %}C{% endif %}{% for x in xs %}{{ x }}{% endfor %}")
        #expect(kinds(t.nodes) == ["text(Hi )", "output|upper|truncate", "text(!)", "if(2+else)", "for(x: output|)"])
    }

    @Test func rawBlocksAreText() throws {
        let t = try TemplateParser.parse(#"JSON: {% raw %}{"a": "{{ not }}", "b": "{% if %}"}{% endraw %} end"#)
        #expect(kinds(t.nodes) == [#"text(JSON: )"#, #"text({"a": "{{ not }}", "b": "{% if %}"})"#, "text( end)"])
    }

    @Test func commentsAndWhitespaceControl() throws {
        let t = try TemplateParser.parse("a  {#- note -#}  b\n  {{- x -}}  \nc")
        #expect(kinds(t.nodes) == ["text(a)", "text(b)", "output|", "text(c)"])
    }

    @Test func closingBracesInStringsDoNotCloseTheTag() throws {
        let t = try TemplateParser.parse("{{ x | default('}}') }}")
        #expect(kinds(t.nodes) == ["output|default"])
    }

    @Test(arguments: [
        ("{{ x", "'{{' is never closed", true),
        ("{% if x %}a", "{% if %} is never closed", true),
        ("{% endif %}", "unexpected {% endif %}", true),
        ("{% fi %}", "unexpected {% fi %}", true),
        ("{% for x xs %}{% endfor %}", "expected 'in' after the loop variable", true),
        ("{{ }}", "empty expression", false),
        ("{{ a + }}", "the expression ends too early", false),
        ("{% else x %}", "unexpected {% else %}", true),
    ])
    func errors(_ input: String, _ message: String, _ inTags: Bool) {
        do {
            _ = try TemplateParser.parse(input)
            Issue.record("\(input) parsed")
        } catch {
            #expect(error.message == message)
            #expect(error.inTemplateTags == inTags)
        }
    }
}
