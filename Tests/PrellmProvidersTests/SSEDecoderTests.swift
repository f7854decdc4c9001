import PrellmProviders
import Testing

@Suite struct SSEDecoderTests {
    func decode(_ text: String, pieceSize: Int) throws -> [SSEDecoder.Event] {
        var d = SSEDecoder()
        var out: [SSEDecoder.Event] = []
        let bytes = Array(text.utf8)
        var i = 0
        while i < bytes.count {
            try d.feed(Array(bytes[i..<min(bytes.count, i + pieceSize)])) { out.append($0) }
            i += pieceSize
        }
        return out
    }

    static let sample =
        "event: message_start\r\ndata: {\"a\":1}\r\n\r\n: a comment\r\ndata: line one\r\ndata: line two\r\n\r\ndata:no space\n\nevent: ping\n\ndata: café ☕\r\r"

    @Test(arguments: [1, 2, 3, 5, 8, 1000])
    func anyChunkingGivesTheSameEvents(_ size: Int) throws {
        #expect(
            try decode(Self.sample, pieceSize: size) == [
                .init(event: "message_start", data: "{\"a\":1}"),
                .init(data: "line one\nline two"),
                .init(data: "no space"),
                .init(event: "ping", data: ""),
                .init(data: "café ☕"),
            ])
    }

    @Test func anIncompleteEventIsNotDispatched() throws {
        #expect(try decode("data: {\"partial\": tr", pieceSize: 4).isEmpty)
    }

    @Test func ndjsonLines() throws {
        var d = NDJSONDecoder()
        var lines: [String] = []
        for piece in ["{\"a\":", "1}\n{\"b\"", ":2}\r\n\n", "{\"c\":3}"] {
            try d.feed(Array(piece.utf8)) { lines.append(String(decoding: $0, as: UTF8.self)) }
        }
        d.finish { lines.append(String(decoding: $0, as: UTF8.self)) }
        #expect(lines == ["{\"a\":1}", "{\"b\":2}", "{\"c\":3}"])
    }

    /// A stream that never ends its event (or line) is an error at the limit, not a buffer that
    /// grows until memory runs out.
    @Test func anEndlessEventIsAnError() {
        var sse = SSEDecoder(maxEventBytes: 1000)
        #expect(throws: OversizedEvent.self) {
            for _ in 0..<100 { try sse.feed(Array("data: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n".utf8)) { _ in } }
        }
        var ndjson = NDJSONDecoder(maxLineBytes: 1000)
        #expect(throws: OversizedEvent.self) {
            for _ in 0..<100 { try ndjson.feed(Array(repeating: UInt8(ascii: "x"), count: 64)) { _ in } }
        }
    }
}
