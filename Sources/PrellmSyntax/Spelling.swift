/// Did-you-mean suggestions by edit distance, as starlark-go's `internal/spell` does it:
/// the nearest candidate wins if it is close enough relative to the length of the name.
public enum Spelling {
    public static func nearest<S: Sequence>(_ name: String, in candidates: S, maxDistance: Int? = nil) -> String? where S.Element == String {
        let lowered = Array(name.lowercased().unicodeScalars)
        var best: (String, Int)?
        for candidate in candidates where candidate != name {
            let d = distance(lowered, Array(candidate.lowercased().unicodeScalars))
            let limit = maxDistance ?? max(1, (max(lowered.count, candidate.unicodeScalars.count) + 1) / 3)
            if d <= limit, best == nil || d < best!.1 { best = (candidate, d) }
        }
        return best?.0
    }

    /// The hint text for a suggestion, or nil.
    public static func hint<S: Sequence>(_ name: String, in candidates: S) -> String? where S.Element == String {
        nearest(name, in: candidates).map { "did you mean '\($0)'?" }
    }

    /// Optimal string alignment distance (Levenshtein plus adjacent transpositions).
    static func distance(_ a: [Unicode.Scalar], _ b: [Unicode.Scalar]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var prev2 = [Int](repeating: 0, count: b.count + 1)
        var prev = Array(0...b.count)
        var cur = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            cur[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    cur[j] = min(cur[j], prev2[j - 2] + 1)
                }
            }
            (prev2, prev, cur) = (prev, cur, prev2)
        }
        return prev[b.count]
    }
}
