extension ResponseWriter {
    /// Sends `text` as a chunked stream in pieces of `size` bytes (splitting lines, even CRLF
    /// pairs and UTF-8 sequences, wherever the cut falls), pausing `pauseMs` between pieces.
    public func stream(
        _ text: String, pieces size: Int = 7, pauseMs: Int = 0, contentType: String = "text/event-stream",
        cutAfter: Int? = nil
    ) {
        startChunked(contentType: contentType)
        let bytes = Array(text.utf8)
        var i = 0
        while i < bytes.count {
            if let cutAfter, i >= cutAfter { cut(); return }
            let end = min(bytes.count, i + size)
            let piece = Array(bytes[i..<end])
            write(String(piece.count, radix: 16) + "\r\n")
            write(piece)
            write("\r\n")
            if pauseMs > 0 { pause(pauseMs) }
            i = end
        }
        end()
    }

    /// A JSON error response.
    public func error(status: Int, body: String, headers: [(String, String)] = []) {
        respond(status: status, headers: [("Content-Type", "application/json")] + headers, body: body)
    }
}
