import PrellmSyntax
import Testing

@Suite struct SpellingTests {
    @Test(arguments: [
        ("tagret", ["target", "missing"], "target"),
        ("deplyo", ["deploy", "rollback", "status"], "deploy"),
        ("modle", ["model", "text", "labels"], "model"),
        ("clasify", ["classify", "call"], "classify"),
        ("Target", ["target"], "target"),
    ])
    func suggests(_ name: String, _ candidates: [String], _ expected: String) {
        #expect(Spelling.nearest(name, in: candidates) == expected)
    }

    @Test func staysQuietWhenNothingIsClose() {
        #expect(Spelling.nearest("region", in: ["query", "user_context"]) == nil)
        #expect(Spelling.nearest("a", in: ["xyz"]) == nil)
    }
}
