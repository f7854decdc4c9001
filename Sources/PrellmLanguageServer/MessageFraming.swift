import Foundation
import PrellmSchema

/// LSP's base protocol: each JSON-RPC message is preceded by a `Content-Length: N` header and a
/// blank line. A MessageReader takes them off a byte stream, refusing a header without a length
/// or a body past `maxBytes` (an editor never sends one; a runaway writer must not fill memory).
public struct MessageReader {
    public static let maxBytes = 64 << 20
    private var buffer: [UInt8] = []
    private let read: () -> [UInt8]

    public enum Failure: Error, Equatable { case ended, badHeader(String), tooLarge(Int) }

    /// `read` returns the next bytes, or none at the end of the stream.
    public init(read: @escaping () -> [UInt8]) { self.read = read }

    /// The next message's body.
    public mutating func next() throws(Failure) -> [UInt8] {
        let headerEnd = try fill { $0.firstRange(of: [13, 10, 13, 10]).map(\.upperBound) }
        let header = String(decoding: buffer[..<headerEnd], as: UTF8.self)
        buffer.removeFirst(headerEnd)
        let length = try Self.contentLength(header)
        guard length <= Self.maxBytes else { throw .tooLarge(length) }
        _ = try fill { $0.count >= length ? length : nil }
        let body = Array(buffer[..<length])
        buffer.removeFirst(length)
        return body
    }

    /// Reads until `ready` finds what it needs in the buffer.
    private mutating func fill(_ ready: ([UInt8]) -> Int?) throws(Failure) -> Int {
        while true {
            if let n = ready(buffer) { return n }
            if buffer.count > Self.maxBytes + 4096 { throw .tooLarge(buffer.count) }
            let more = read()
            if more.isEmpty { throw .ended }
            buffer += more
        }
    }

    static func contentLength(_ header: String) throws(Failure) -> Int {
        for line in header.split(separator: "\r\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "content-length" else { continue }
            guard let n = Int(parts[1].trimmingCharacters(in: .whitespaces)), n >= 0 else {
                throw .badHeader("Content-Length is not a number: \(parts[1])")
            }
            return n
        }
        throw .badHeader("no Content-Length in the header")
    }

    /// A message as the base protocol frames it.
    public static func frame(_ message: JSONValue) -> [UInt8] {
        let body = Array(message.jsonText.utf8)
        return Array("Content-Length: \(body.count)\r\n\r\n".utf8) + body
    }
}
