import PrellmProviders
import Testing

@Suite struct SSEDecoderTests {
    func decode(_ text: String, pieceSize: Int) -> [SSEDecoder.Event] {
        var d = SSEDecoder()
        var out: [SSEDecoder.Event] = []
        let bytes = Array(text.utf8)
        var i = 0
        while i < bytes.count {
            d.feed(Array(bytes[i..<min(bytes.count, i + pieceSize)])) { out.append($0) }
            i += pieceSize
        }
        return out
    }

    static let sample = "event: message_start\r\ndata: {\"a\":1}\r\n\r\n: a comment\r\ndata: line one\r\ndata: line two\r\n\r\ndata:no space\n\nevent: ping\n\ndata: café ☕\r\r"

    @Test(arguments: [1, 2, 3, 5, 8, 1000])
    func anyChunkingGivesTheSameEvents(_ size: Int) {
        #expect(decode(Self.sample, pieceSize: size) == [
            .init(event: "message_start", data: "{\"a\":1}"),
            .init(data: "line one\nline two"),
            .init(data: "no space"),
            .init(event: "ping", data: ""),
            .init(data: "café ☕"),
        ])
    }

    @Test func anIncompleteEventIsNotDispatched() {
        #expect(decode("data: {\"partial\": tr", pieceSize: 4).isEmpty)
    }

    @Test func ndjsonLines() {
        var d = NDJSONDecoder()
        var lines: [String] = []
        for piece in ["{\"a\":", "1}\n{\"b\"", ":2}\r\n\n", "{\"c\":3}"] {
            d.feed(Array(piece.utf8)) { lines.append(String(decoding: $0, as: UTF8.self)) }
        }
        d.finish { lines.append(String(decoding: $0, as: UTF8.self)) }
        #expect(lines == ["{\"a\":1}", "{\"b\":2}", "{\"c\":3}"])
    }
}
