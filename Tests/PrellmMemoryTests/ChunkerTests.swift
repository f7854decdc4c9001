import Foundation
import PrellmMemory
import ProviderStandIn
import Testing

@Suite struct ChunkerTests {
    static let markdown = """
        # Conventions

        We write Python 3.12 and type every public function.

        ## Testing

        pytest, one file per module.

        ```python
        def test_x():

            assert x()
        ```

        ## Deploys
        Only on weekdays, before 15:00 CET.
        """

    @Test func markdownIsCutAtHeadingsAndKeepsTheTrail() throws {
        let chunks = try Chunker(maxCharacters: 200).chunks(of: Self.markdown, source: "team.md", format: .markdown)
        #expect(chunks.map(\.lines) == [1...3, 5...13, 15...16], "\(chunks)")
        #expect(chunks[0].text == "# Conventions\n\nWe write Python 3.12 and type every public function.")
        // A section's chunk starts with its heading; the fenced code stays whole, blank line and all.
        #expect(chunks[1].text.hasPrefix("## Testing\n\npytest"))
        #expect(chunks[1].text.contains("def test_x():\n\n    assert x()"))
        #expect(chunks.allSatisfy { $0.source == "team.md" })
    }

    @Test func aSectionTooLongForOneChunkCarriesItsHeadingTrail() throws {
        let body = (1...30).map { "Rule \($0): keep functions short and names plain." }.joined(separator: "\n\n")
        let text = "# Conventions\n\n## Python\n\n" + body + "\n"
        let chunks = try Chunker(maxCharacters: 300).chunks(of: text, source: "c.md", format: .markdown)
        #expect(chunks.count > 3)
        #expect(chunks.dropFirst().allSatisfy { $0.text.hasPrefix("Conventions > Python\n\n") || $0.text.hasPrefix("## Python") }, "\(chunks)")
        #expect(chunks.allSatisfy { $0.text.count <= 300 + "Conventions > Python\n\n".count })
    }

    @Test func textIsPackedByParagraphs() throws {
        let text = "one\ntwo\n\nthree\n\n\nfour\n"
        let chunks = try Chunker(maxCharacters: 100).chunks(of: text, source: "n.txt", format: .text)
        #expect(chunks == [Chunk(text: "one\ntwo\n\nthree\n\n\nfour", source: "n.txt", lines: 1...7)])
        let small = try Chunker(maxCharacters: 80).chunks(
            of: String(repeating: "word ", count: 12) + "\n\n" + String(repeating: "more ", count: 12), source: "n.txt", format: .text)
        #expect(small.map(\.lines) == [1...1, 3...3])
    }

    @Test func yamlIsCutAtTopLevelKeys() throws {
        let text = "# the stack\nlanguage: python\nlinters:\n  - ruff\n  - mypy\n---\nlocale: pl_PL\n"
        let chunks = try Chunker(maxCharacters: 80).chunks(of: text, source: "s.yaml", format: .yaml)
        #expect(chunks.count == 1 && chunks[0].lines == 1...7)
        let tight = try Chunker(maxCharacters: 80).chunks(
            of: text + String(repeating: "x: \(String(repeating: "y", count: 70))\n", count: 2), source: "s.yaml", format: .yaml)
        #expect(tight.map(\.lines.lowerBound) == [1, 8, 9], "\(tight)")
    }

    @Test func jsonIsCutAtTopLevelMembersAndMustParse() throws {
        let long = String(repeating: "z", count: 60)
        let text = "{\n  \"a\": \"\(long)\",\n  \"b\": {\n    \"c\": \"}\"\n  },\n  \"d\": [1, 2]\n}\n"
        let chunks = try Chunker(maxCharacters: 80).chunks(of: text, source: "d.json", format: .json)
        #expect(chunks.map(\.lines) == [1...2, 3...7], "\(chunks)")
        #expect(throws: Chunker.Failure.self) { try Chunker().chunks(of: "{\"a\": ", source: "bad.json", format: .json) }
    }

    @Test func aLineLongerThanTheLimitIsCut() throws {
        let line = String(repeating: "abcdefghij", count: 100)
        let chunks = try Chunker(maxCharacters: 200).chunks(of: line, source: "min.json", format: .text)
        #expect(chunks.count == 5 && chunks.allSatisfy { $0.text.count == 200 && $0.lines == 1...1 })
        #expect(chunks.map(\.text).joined() == line)
    }

    /// Every non-blank line of a file is in the chunk that claims its line number.
    @Test func everyLineIsCoveredByTheChunkThatSpansIt() throws {
        var rng = SplitMix64(seed: 7)
        for _ in 0..<50 {
            let lines = (0..<Int.random(in: 1...60, using: &rng)).map { _ -> String in
                switch Int.random(in: 0..<6, using: &rng) {
                case 0: ""
                case 1: "## Heading \(Int.random(in: 0..<9, using: &rng))"
                default: String(repeating: "w ", count: Int.random(in: 1...40, using: &rng))
                }
            }
            let text = lines.joined(separator: "\n")
            for format in [Chunker.Format.markdown, .text] {
                let chunks = try Chunker(maxCharacters: 120).chunks(of: text, source: "r", format: format)
                for (i, line) in lines.enumerated() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
                    #expect(
                        chunks.contains { $0.lines.contains(i + 1) && $0.text.contains(line.trimmingCharacters(in: .whitespaces)) },
                        "line \(i + 1) of\n\(text)")
                }
            }
        }
    }

    @Test func formatsFollowTheFileName() {
        #expect(Chunker.Format(path: "a/README.md") == .markdown)
        #expect(Chunker.Format(path: "x.YML") == .yaml)
        #expect(Chunker.Format(path: "x.json") == .json && Chunker.Format(path: "notes.txt") == .text)
        #expect(Chunker.Format(path: "binary.png") == nil)
    }
}
