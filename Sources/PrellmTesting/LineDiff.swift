/// A line diff of two short texts (requests of a few dozen lines), by longest common
/// subsequence: `-` lines only in the first, `+` lines only in the second, context unmarked.
enum LineDiff {
    /// How many lines differ.
    static func distance(_ a: [String], _ b: [String]) -> Int {
        a.count + b.count - 2 * lcs(a, b)[0][0]
    }

    static func lcs(_ a: [String], _ b: [String]) -> [[Int]] {
        var t = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in stride(from: a.count - 1, through: 0, by: -1) {
            for j in stride(from: b.count - 1, through: 0, by: -1) {
                t[i][j] = a[i] == b[j] ? t[i + 1][j + 1] + 1 : max(t[i + 1][j], t[i][j + 1])
            }
        }
        return t
    }

    /// The changed lines with `context` unchanged lines around each change.
    static func render(_ a: [String], _ b: [String], context: Int = 2) -> String {
        let t = lcs(a, b)
        var lines: [(mark: Character, text: String)] = []
        var (i, j) = (0, 0)
        while i < a.count || j < b.count {
            if i < a.count, j < b.count, a[i] == b[j] {
                lines.append((" ", a[i])); i += 1; j += 1
            } else if j < b.count, i == a.count || t[i][j + 1] >= t[i + 1][j] {
                lines.append(("+", b[j])); j += 1
            } else {
                lines.append(("-", a[i])); i += 1
            }
        }
        let changed = lines.indices.filter { lines[$0].mark != " " }
        var keep = Set<Int>()
        for c in changed { for k in max(0, c - context)...min(lines.count - 1, c + context) { keep.insert(k) } }
        var out: [String] = []
        var last = -1
        for k in keep.sorted() {
            if last >= 0, k > last + 1 { out.append("  …") }
            out.append("\(lines[k].mark) \(lines[k].text)")
            last = k
        }
        return out.joined(separator: "\n")
    }
}
