import Foundation
import PrellmCompiler
import PrellmRuntime
import PrellmSchema

/// A TestReport renders outcomes for people and for CI: text, JSON, JUnit XML (as Jenkins,
/// GitLab and GitHub test reporters read it) and GitHub annotations at each test's line.
public enum TestReport {
    public enum Format: String, Sendable, CaseIterable {
        case text, json, junit, github
    }

    public struct Counts: Sendable, Equatable {
        public var passed = 0, failed = 0, errors = 0, skipped = 0
    }

    public static func counts(_ outcomes: [TestOutcome], skipped: Int) -> Counts {
        var c = Counts()
        for o in outcomes {
            switch o.status {
            case .passed: c.passed += 1
            case .failed: c.failed += 1
            case .error: c.errors += 1
            }
        }
        c.skipped = skipped
        return c
    }

    /// `N passed, N failed`, then errors and skipped where there were some.
    public static func summary(_ c: Counts) -> String {
        var s = "\(c.passed) passed, \(c.failed) failed"
        if c.errors > 0 { s += ", \(c.errors) error\(c.errors == 1 ? "" : "s")" }
        if c.skipped > 0 { s += ", \(c.skipped) skipped" }
        return s
    }

    static func title(_ o: TestOutcome) -> String {
        o.test + (o.variant.map { " [\($0)]" } ?? "")
    }

    static func money(_ d: Double?) -> String {
        guard let d else { return "cost unknown" }
        return d == 0 ? "$0" : "$" + JSONValue.number(d).jsonText
    }

    // MARK: - Text

    public static func text(_ outcomes: [TestOutcome], skipped: Int) -> String {
        var out = ""
        for o in outcomes {
            let mark =
                switch o.status {
                case .passed: "PASS"
                case .failed: "FAIL"
                case .error: "ERROR"
                }
            let figures = o.test == TestOutcome.compile ? "" : "  (\(o.latency.milliseconds) ms, \(money(o.costUSD)))"
            out += "\(mark)  \(o.file) › \(title(o))\(figures)\n"
            for f in o.failures {
                out += "      \(f.what): expected \(f.expected)\n"
                out +=
                    "      " + String(repeating: " ", count: f.what.count) + "  actual   "
                    + f.actual.replacingOccurrences(of: "\n", with: "\n        ") + "\n"
            }
        }
        return out + summary(counts(outcomes, skipped: skipped)) + "\n"
    }

    /// For `--models`: per alias choice, the pass rate, mean cost and median latency.
    public static func matrix(_ outcomes: [TestOutcome]) -> String {
        let variants = Dictionary(grouping: outcomes.filter { $0.variant != nil }, by: { $0.variant! })
        guard !variants.isEmpty else { return "" }
        var rows = [["MODEL", "PASSED", "MEAN COST", "P50 LATENCY"]]
        for (variant, group) in variants.sorted(by: { $0.key < $1.key }) {
            let passed = group.filter { $0.status == .passed }.count
            let costs = group.compactMap(\.costUSD)
            let mean = costs.count == group.count && !costs.isEmpty ? costs.reduce(0, +) / Double(costs.count) : nil
            let latencies = group.map { $0.latency.milliseconds }.sorted()
            rows.append([
                variant, "\(passed)/\(group.count) (\(passed * 100 / max(1, group.count))%)", money(mean),
                "\(latencies[latencies.count / 2]) ms",
            ])
        }
        let widths = rows[0].indices.map { i in rows.map { $0[i].count }.max()! }
        return rows.map { row in row.enumerated().map { i, c in c + String(repeating: " ", count: widths[i] - c.count) }.joined(separator: "  ") }
            .joined(separator: "\n") + "\n"
    }

    // MARK: - JSON

    public static func json(_ outcomes: [TestOutcome], skipped: Int) -> JSONValue {
        let c = counts(outcomes, skipped: skipped)
        return .object([
            "tests": .array(
                outcomes.map { o in
                    .object([
                        "file": .string(o.file), "name": .string(o.test), "model": o.variant.map(JSONValue.string) ?? .null,
                        "status": .string(o.status.rawValue),
                        "failures": .array(
                            o.failures.map { .object(["what": .string($0.what), "expected": .string($0.expected), "actual": .string($0.actual)]) }),
                        "cost_usd": o.costUSD.map(JSONValue.number) ?? .null, "latency_ms": .number(Double(o.latency.milliseconds)),
                    ])
                }),
            "passed": .number(Double(c.passed)), "failed": .number(Double(c.failed)), "errors": .number(Double(c.errors)),
            "skipped": .number(Double(c.skipped)),
        ])
    }

    // MARK: - JUnit

    /// One `testsuite` per file, one `testcase` per test and model; a failure's message names
    /// what failed, its text has expected and actual.
    public static func junit(_ outcomes: [TestOutcome]) -> String {
        let files = Dictionary(grouping: outcomes, by: \.file).sorted { $0.key < $1.key }
        let c = counts(outcomes, skipped: 0)
        let total = outcomes.reduce(0.0) { $0 + $1.latency.seconds }
        var x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        x +=
            "<testsuites name=\"prellm test\" tests=\"\(outcomes.count)\" failures=\"\(c.failed)\" errors=\"\(c.errors)\" time=\"\(time(total))\">\n"
        for (n, (file, group)) in files.enumerated() {
            let g = counts(group, skipped: 0)
            let t = group.reduce(0.0) { $0 + $1.latency.seconds }
            x +=
                "  <testsuite name=\"\(escape(file))\" id=\"\(n)\" tests=\"\(group.count)\" failures=\"\(g.failed)\" errors=\"\(g.errors)\" skipped=\"0\" time=\"\(time(t))\">\n"
            for o in group {
                x += "    <testcase name=\"\(escape(title(o)))\" classname=\"\(escape(file))\" time=\"\(time(o.latency.seconds))\""
                guard !o.failures.isEmpty else {
                    x += "/>\n"
                    continue
                }
                x += ">\n"
                let tag = o.status == .error ? "error" : "failure"
                for f in o.failures {
                    let message = "\(f.what): expected \(f.expected), actual \(f.actual)"
                    x += "      <\(tag) message=\"\(escape(message))\" type=\"\(escape(f.what))\">"
                    x += escape("expected: \(f.expected)\nactual: \(f.actual)") + "</\(tag)>\n"
                }
                x += "    </testcase>\n"
            }
            x += "  </testsuite>\n"
        }
        return x + "</testsuites>\n"
    }

    static func time(_ s: Double) -> String { String(format: "%.3f", s) }

    /// XML text and attribute escaping; characters XML 1.0 cannot hold at all are dropped.
    static func escape(_ s: String) -> String {
        var out = ""
        for u in s.unicodeScalars {
            switch u {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "\n": out += "&#10;"
            case "\t", "\r": out += "&#\(u.value);"
            default:
                if u.value < 0x20 || (0xFFFE...0xFFFF).contains(u.value) { continue }
                out.unicodeScalars.append(u)
            }
        }
        return out
    }

    // MARK: - GitHub

    /// An `::error` annotation at each failed test's line, then the summary.
    public static func github(_ outcomes: [TestOutcome], skipped: Int) -> String {
        var out = ""
        for o in outcomes where o.status != .passed {
            let detail = o.failures.map { "\($0.what): expected \($0.expected), actual \($0.actual)" }.joined(separator: "; ")
            out +=
                "::error file=\(property(o.file)),line=\(o.span.start.line),col=\(o.span.start.column),title=\(property("prellm test: " + title(o)))::\(data(detail))\n"
        }
        return out + summary(counts(outcomes, skipped: skipped)) + "\n"
    }

    static func data(_ s: String) -> String {
        s.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: "\r", with: "%0D").replacingOccurrences(of: "\n", with: "%0A")
    }

    static func property(_ s: String) -> String {
        data(s).replacingOccurrences(of: ":", with: "%3A").replacingOccurrences(of: ",", with: "%2C")
    }
}
