import Foundation
import PrellmSchema
import ProviderStandIn
import Testing

/// A fuzz target for `prellm lint`: thousands of workflows mutated from the shipped ones and the
/// golden test files, seeded so that a failure reproduces. Whatever the input, lint must end
/// within its time with exit code 0, 1 or 2 and print valid JSON — no crash, no hang.
///
/// `PRELLM_FUZZ_SEED` and `PRELLM_FUZZ_CASES` change the run (CI uses the defaults).
@Suite struct FuzzTests {
    static let root = LintCommandTests.root

    /// SplitMix64, with the picks the mutations make.
    struct Random {
        var generator: SplitMix64
        init(state: UInt64) { generator = SplitMix64(seed: state) }
        mutating func next() -> UInt64 { generator.next() }
        mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(next() % UInt64(n)) }
        mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
    }

    /// Fragments that have broken parsers before: template and expression syntax, YAML
    /// indicators, deep openers, references and huge numbers.
    static let fragments = [
        "{{", "}}", "{%", "%}", "{% if ", "{% for x in ", "{% endif %}", "{% raw %}", "[", "]", "{", "}", "(", ")",
        " && ", " || ", "!", "'", "\"", ":", "- ", "\t", "\n", "*a", "&a ", "!!str ", "$ref: '#'", "{$ref: '#'}",
        "inputs.", ".", "9999999999999999999999", "-1", "1e309", "null", "~", "|", ">", "#", "%", "\\", "é", "\u{FEFF}",
        "{{ inputs.q", "anyOf: [", "steps:", "- id: x\n    transform: y\n", "imports: {a: a.yaml}",
    ]

    static func seeds() throws -> [(path: String, text: String)] {
        let fm = FileManager.default
        var out: [(String, String)] = []
        for dir in ["workflows", "stdlib/strategies", "docs/examples", "Tests/PrellmCompilerTests/testdata/diagnostics"] {
            let url = root.appendingPathComponent(dir)
            for name in try fm.contentsOfDirectory(atPath: url.path).sorted() where name.hasSuffix(".yaml") {
                out.append((dir + "/" + name, try String(contentsOf: url.appendingPathComponent(name), encoding: .utf8)))
            }
        }
        return out
    }

    static func mutate(_ text: String, _ r: inout Random, seeds: [(path: String, text: String)]) -> String {
        var bytes = Array(text.utf8)
        for _ in 0...r.below(4) {
            let at = r.below(bytes.count + 1)
            switch r.below(8) {
            case 0:  // delete a span
                let end = min(bytes.count, at + 1 + r.below(40))
                bytes.removeSubrange(at..<end)
            case 1:  // insert a fragment
                bytes.insert(contentsOf: Array(r.pick(fragments).utf8), at: at)
            case 2:  // repeat a fragment many times: deep nesting, long chains
                let piece = r.pick(["[", "{", "(", "{% if true %}", " && inputs.q", "!", "- ", "  ", "a.", "{{ "])
                let count = 1 + r.below(r.below(2) == 0 ? 300 : 20_000)
                bytes.insert(contentsOf: Array(String(repeating: piece, count: count).utf8), at: at)
            case 3:  // splice a line from another file
                let other = r.pick(seeds).text.split(separator: "\n", omittingEmptySubsequences: false)
                bytes.insert(contentsOf: Array((r.pick(other) + "\n").utf8), at: at)
            case 4:  // duplicate a line
                var lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
                let i = r.below(lines.count)
                lines.insert(lines[i], at: i)
                bytes = Array(lines.joined(separator: "\n").utf8)
            case 5:  // delete a line
                var lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
                if !lines.isEmpty { lines.remove(at: r.below(lines.count)) }
                bytes = Array(lines.joined(separator: "\n").utf8)
            case 6:  // flip a byte
                if at < bytes.count { bytes[at] = UInt8(32 + r.below(95)) }
            default:  // truncate
                bytes.removeSubrange(at...)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Copies the folders the seeds import from (prompts, schemas, stdlib), so a mutant's
    /// imports and `$ref`s resolve as the original's do.
    static func workspace() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("prellm-fuzz-\(UUID().uuidString)")
        for sub in ["workflows", "stdlib", "docs/examples", "Tests/PrellmCompilerTests/testdata/diagnostics"] {
            let to = dir.appendingPathComponent(sub)
            try FileManager.default.createDirectory(at: to.deletingLastPathComponent(), withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: root.appendingPathComponent(sub), to: to)
        }
        return dir
    }

    static var binary: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("prellm")
    }

    /// Lints files in one process; nil when the run is acceptable, else what went wrong.
    static func problem(linting files: [String], in dir: URL) async throws -> String? {
        let r = try await Subprocess.run(binary, ["lint", "--format", "json"] + files, directory: dir, timeout: .seconds(120))
        if r.timedOut { return "timed out" }
        if r.signalled { return "killed by signal \(r.status)" }
        if ![0, 1, 2].contains(r.status) { return "exit code \(r.status)" }
        guard case .array = try? JSONParser.parse(r.stdout) else { return "output is not a JSON array: \(r.stdout.prefix(200))" }
        return nil
    }

    @Test func mutatedWorkflowsNeverCrashOrHang() async throws {
        let env = ProcessInfo.processInfo.environment
        let seed = env["PRELLM_FUZZ_SEED"].flatMap(UInt64.init) ?? 20_261_201
        let cases = env["PRELLM_FUZZ_CASES"].flatMap(Int.init) ?? 3_000
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary.path), "no prellm binary beside the test bundle")
        let seeds = try Self.seeds()
        let dir = try Self.workspace()
        var r = Random(state: seed)
        var files: [String] = []
        for i in 0..<cases {
            let original = r.pick(seeds)
            // Beside its original, so relative imports and prompt files still resolve.
            let path = (original.path as NSString).deletingLastPathComponent + "/fuzz-\(i).yaml"
            try Self.mutate(original.text, &r, seeds: seeds).write(
                to: dir.appendingPathComponent(path), atomically: false, encoding: .utf8)
            files.append(path)
        }
        // A few processes, each linting a share; a failing share is narrowed to its file.
        let shares = stride(from: 0, to: files.count, by: 750).map { Array(files[$0..<min(files.count, $0 + 750)]) }
        for share in shares {
            guard let problem = try await Self.problem(linting: share, in: dir) else { continue }
            var culprit = "none found alone"
            for file in share where try await Self.problem(linting: [file], in: dir) != nil {
                culprit = dir.appendingPathComponent(file).path
                break
            }
            Issue.record("seed \(seed): prellm lint failed (\(problem)); first failing file: \(culprit)")
            return  // keep the workspace for the culprit
        }
        try? FileManager.default.removeItem(at: dir)
    }
}
