import CPCRE2

/// A PCRERegex is a compiled PCRE2 pattern (UTF mode, JIT-compiled when the platform allows).
///
/// Used for `extract: pattern:`, the `matches()` function and JSON Schema `pattern`. A compiled
/// pattern is immutable and shared; each match allocates its own match data, so one instance
/// is safe to use from many tasks at once.
public final class PCRERegex: @unchecked Sendable {
    /// A CompileError says why a pattern is invalid and where (a UTF-8 offset in the pattern).
    public struct CompileError: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var offset: Int
        public var description: String { "\(message) at offset \(offset)" }
    }

    /// How a search ended: a match, none, or a stop at PCRE2's limits, where the answer is unknown.
    public enum SearchResult: Sendable, Equatable {
        case match, noMatch, tooComplex
    }

    /// Backtracking steps one search may take (PCRE2's default is 10,000,000). A pattern such
    /// as `^(a+)+$` is exponential in the subject's length; at this limit a hostile subject
    /// costs a few milliseconds, not seconds, and ordinary patterns stay far below it.
    public static let matchLimit: UInt32 = 1_000_000
    /// Nested backtracking points one search may hold (interpreter only; the JIT has its own
    /// stack). A group repeated once per few characters nests once per repetition, so this
    /// allows a megabyte-long subject; PCRE2's heap limit (20 MB) bounds the memory.
    public static let depthLimit: UInt32 = 1_000_000

    private let code: OpaquePointer
    /// The limits above; read-only once made, so shared by concurrent matches.
    private let context: OpaquePointer?
    public let pattern: String
    /// Named groups in the order of their group numbers.
    public let groupNames: [(name: String, number: Int)]
    public let isJITCompiled: Bool

    public init(_ pattern: String) throws(CompileError) {
        self.pattern = pattern
        var errorCode: Int32 = 0
        var errorOffset: Int = 0
        let bytes = Array(pattern.utf8)
        let compiled = bytes.withUnsafeBufferPointer { buf in
            pcre2_compile_8(
                buf.baseAddress ?? UnsafePointer(bitPattern: 1), buf.count, PCRE2_UTF,
                &errorCode, &errorOffset, nil)
        }
        guard let compiled else {
            throw CompileError(message: Self.message(for: errorCode), offset: errorOffset)
        }
        code = compiled
        context = pcre2_match_context_create_8(nil)
        if let context {
            pcre2_set_match_limit_8(context, Self.matchLimit)
            pcre2_set_depth_limit_8(context, Self.depthLimit)
        }
        isJITCompiled = pcre2_jit_compile_8(compiled, PCRE2_JIT_COMPLETE) == 0
        groupNames = Self.readNames(compiled)
    }

    deinit {
        pcre2_match_context_free_8(context)
        pcre2_code_free_8(code)
    }

    static func message(for code: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = pcre2_get_error_message_8(code, &buffer, buffer.count)
        return n > 0 ? String(decoding: buffer[0..<Int(n)], as: UTF8.self) : "error \(code)"
    }

    private static func readNames(_ code: OpaquePointer) -> [(String, Int)] {
        var count: UInt32 = 0
        var entrySize: UInt32 = 0
        var table: UnsafePointer<UInt8>?
        pcre2_pattern_info_8(code, UInt32(PCRE2_INFO_NAMECOUNT), &count)
        pcre2_pattern_info_8(code, UInt32(PCRE2_INFO_NAMEENTRYSIZE), &entrySize)
        pcre2_pattern_info_8(code, UInt32(PCRE2_INFO_NAMETABLE), &table)
        guard count > 0, let table else { return [] }
        var names: [(String, Int)] = []
        for i in 0..<Int(count) {
            let entry = table + i * Int(entrySize)
            let number = Int(entry[0]) << 8 | Int(entry[1])
            var end = 2
            while entry[end] != 0 { end += 1 }
            names.append((String(decoding: UnsafeBufferPointer(start: entry + 2, count: end - 2), as: UTF8.self), number))
        }
        return names.sorted { $0.1 < $1.1 }
    }

    /// True when the pattern matches anywhere in `text` (search semantics, like ECMA-262 `test`);
    /// false too when the search stops at the limits (see `search` to tell the two apart).
    public func matches(_ text: String) -> Bool { search(text) == .match }

    /// Whether the pattern matches anywhere in `text`, or `.tooComplex` when the search hit
    /// PCRE2's match, depth or heap limit (or the JIT's stack) before it could tell.
    public func search(_ text: String) -> SearchResult {
        var text = text
        let rc = text.withUTF8 { buf -> Int32 in
            guard let md = pcre2_match_data_create_from_pattern_8(code, nil) else { return PCRE2_ERROR_NOMEMORY }
            defer { pcre2_match_data_free_8(md) }
            return run(buf.baseAddress ?? UnsafePointer(bitPattern: 1)!, buf.count, from: 0, md)
        }
        if rc >= 0 { return .match }
        return Self.limitErrors.contains(rc) ? .tooComplex : .noMatch
    }

    /// One pcre2_match from `start`, under the limits.
    private func run(_ subject: UnsafePointer<UInt8>, _ length: Int, from start: Int, _ md: OpaquePointer) -> Int32 {
        let rc = pcre2_match_8(code, subject, length, start, 0, md, context)
        // The JIT's default stack (32 KB) runs out after a few thousand repetitions of a
        // capturing group — on a valid 20 KB string; the interpreter's frames are on the heap,
        // bounded by the depth and heap limits.
        guard rc == PCRE2_ERROR_JIT_STACKLIMIT else { return rc }
        return pcre2_match_8(code, subject, length, start, PCRE2_NO_JIT, md, context)
    }

    static let limitErrors: Set<Int32> = [
        PCRE2_ERROR_MATCHLIMIT, PCRE2_ERROR_DEPTHLIMIT, PCRE2_ERROR_HEAPLIMIT, PCRE2_ERROR_JIT_STACKLIMIT, PCRE2_ERROR_NOMEMORY,
    ]

    /// Every match in `text`, each as the named groups that took part in it, plus `match`, the
    /// whole matched text (a group named `match` is overwritten by it).
    public func allMatches(in text: String, limit: Int = .max) -> [[String: String]] {
        var text = text
        return text.withUTF8 { buf -> [[String: String]] in
            guard let md = pcre2_match_data_create_from_pattern_8(code, nil) else { return [] }
            defer { pcre2_match_data_free_8(md) }
            let subject = buf.baseAddress ?? UnsafePointer(bitPattern: 1)!
            var results: [[String: String]] = []
            var start = 0
            while start <= buf.count, results.count < limit {
                let rc = run(subject, buf.count, from: start, md)
                if rc < 0 { break }
                let ovector = pcre2_get_ovector_pointer_8(md)!
                var groups: [String: String] = [:]
                for (name, number) in groupNames where number < Int(rc) {
                    let s = ovector[2 * number], e = ovector[2 * number + 1]
                    if s != prellm_pcre2_unset() {
                        groups[name] = String(decoding: UnsafeBufferPointer(start: subject + s, count: e - s), as: UTF8.self)
                    }
                }
                groups["match"] = String(decoding: UnsafeBufferPointer(start: subject + ovector[0], count: ovector[1] - ovector[0]), as: UTF8.self)
                results.append(groups)
                let end = ovector[1]
                start = end == ovector[0] ? end + 1 : end
            }
            return results
        }
    }
}
