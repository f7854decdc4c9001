@testable import PrellmSyntax
import Testing

@Suite struct DiagnosticRendererTests {
    @Test func aShortLineIsShownWhole() {
        let source = Source(path: "w.yaml", text: "steps: [a, b]\n")
        let text = DiagnosticRenderer.excerpt(source, Span(start: Position(line: 1, column: 9), end: Position(line: 1, column: 10)))
        #expect(text == "   |\n 1 | steps: [a, b]\n   |         ^\n")
    }

    /// A 10,000-character line is cut to a window with the caret still under the span.
    @Test func aLongLineIsCutAroundTheSpan() {
        let line = String(repeating: "x", count: 5000) + "BAD" + String(repeating: "y", count: 5000)
        let source = Source(path: "w.yaml", text: line + "\n")
        let text = DiagnosticRenderer.excerpt(source, Span(start: Position(line: 1, column: 5001), end: Position(line: 1, column: 5004)))
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines[1].count <= 6 + DiagnosticRenderer.maxLineWidth + 2)
        #expect(lines[1].hasPrefix(" 1 | …x") && lines[1].hasSuffix("y…"))
        let caret = lines[2].distance(from: lines[2].startIndex, to: lines[2].firstIndex(of: "^")!)
        let under = lines[1].dropFirst(caret).prefix(3)
        #expect(under == "BAD")
        #expect(lines[2].filter { $0 == "^" }.count == 3)
    }
}
