import Foundation
import PrellmSchema
import ProviderStandIn
import Testing

/// A fuzz target for `prellm validate`: schemas and data mutated from the command's test files
/// and the official JSON-Schema-Test-Suite (when it is beside the repository), with hostile
/// keyword values (huge and negative counts, `multipleOf: 0`, backtracking patterns, branching
/// references) spliced in. Seeded, so a failure reproduces. Whatever the input, validate must
/// end in time with exit code 0, 1 or 2 — no signal, no timeout — inside a 2 GB address space.
///
/// `PRELLM_FUZZ_SEED` and `PRELLM_FUZZ_VALIDATE_CASES` change the run; the default is a few
/// seconds, for `swift test`.
@Suite struct ValidateFuzzTests {
    typealias Random = FuzzTests.Random

    static let hostileValues: [JSONValue] = [
        .number(1e300), .number(-1e300), .number(1e19), .number(-1), .number(0), .number(1.5),
        .number(9_007_199_254_740_993), .number(-0.0), .string("^(a+)+$"), .string("(a|a)*$"), .string("("),
        .bool(true), .bool(false), .null, .array([]), .object([:]), .object(["$ref": "#"]),
        .object(["$dynamicRef": "#m"]), .object(["$ref": "#/$defs/x"]),
    ]
    static let keywords = [
        "minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties", "minContains",
        "maxContains", "multipleOf", "maximum", "minimum", "exclusiveMaximum", "pattern", "uniqueItems", "enum",
        "const", "type", "required", "items", "prefixItems", "contains", "allOf", "anyOf", "oneOf", "not",
        "patternProperties", "additionalProperties", "unevaluatedItems", "unevaluatedProperties", "$ref",
        "$dynamicRef", "$dynamicAnchor", "$defs", "$id", "dependentRequired", "propertyNames", "if", "then",
    ]

    /// Schemas (and sample data for each) to start from.
    static func seeds() throws -> [(schema: JSONValue, data: [JSONValue])] {
        var out: [(JSONValue, [JSONValue])] = []
        let validate = FuzzTests.root.appendingPathComponent("Tests/PrellmCLITests/testdata/validate")
        for name in try FileManager.default.contentsOfDirectory(atPath: validate.path).sorted() where name.hasSuffix(".json") {
            guard let v = try? JSONParser.parse(String(contentsOf: validate.appendingPathComponent(name), encoding: .utf8)) else { continue }
            out.append((v, []))
        }
        let suite = FuzzTests.root.deletingLastPathComponent().appendingPathComponent("shared/suites/JSON-Schema-Test-Suite/tests/draft2020-12")
        for name in (try? FileManager.default.contentsOfDirectory(atPath: suite.path).sorted()) ?? [] where name.hasSuffix(".json") {
            let groups = try JSONParser.parse(String(contentsOf: suite.appendingPathComponent(name), encoding: .utf8))
            for g in groups.arrayValue ?? [] {
                guard let schema = g["schema"] else { continue }
                out.append((schema, (g["tests"]?.arrayValue ?? []).compactMap { $0["data"] }))
            }
        }
        return out
    }

    /// A few random edits to a value: a keyword set to a hostile value, a node replaced, a
    /// schema doubled under `allOf`/`anyOf` (branching), or a node wrapped deeper.
    static func mutate(_ v: JSONValue, _ r: inout Random, depth: Int = 0) -> JSONValue {
        switch v {
        case .object(var o) where depth < 40:
            for k in o.keys where r.below(3) == 0 { o[k] = mutate(o[k]!, &r, depth: depth + 1) }
            switch r.below(6) {
            case 0: o[r.pick(keywords)] = r.pick(hostileValues)
            case 1: o[r.pick(keywords)] = .array([.object(o), .object(o)])
            case 2: o["$defs"] = .object(["x": .object(["anyOf": .array([.object(["$ref": "#"]), .object(o)])])])
            case 3: o["$dynamicAnchor"] = "m"
            default: break
            }
            return .object(o)
        case .array(var a) where depth < 40 && !a.isEmpty:
            let i = r.below(a.count)
            a[i] = mutate(a[i], &r, depth: depth + 1)
            if r.below(4) == 0 { a += Array(repeating: a[i], count: r.below(3_000)) }
            return .array(a)
        default:
            return r.below(4) == 0 ? r.pick(hostileValues) : v
        }
    }

    /// Data that has been slow or wrong before: many equal small objects, long strings that
    /// backtrack, overflowing numbers (written as text), deep arrays.
    static func hostileData(_ r: inout Random) -> String {
        let n = 1 + r.below(20_000)
        switch r.below(6) {
        case 0: return "[" + (0..<n).map { _ in #"{"a":1}"# }.joined(separator: ",") + "]"
        case 1: return "[" + Array(repeating: "\"" + String(repeating: "a", count: 30) + "b\"", count: min(n, 2_000)).joined(separator: ",") + "]"
        case 2: return "{" + (0..<min(n, 2_000)).map { "\"\(String(repeating: "a", count: 25))b\($0)\":1" }.joined(separator: ",") + "}"
        case 3: return r.pick(["1e999", "-1e400", "[1e308, 1e309]", "0.0000001", "9007199254740993"])
        case 4: return String(repeating: "[", count: 400) + String(repeating: "]", count: 400)
        default: return "[" + (0..<n).map { "\($0 % 7)" }.joined(separator: ",") + "]"
        }
    }

    /// Validates in one process under `ulimit -v`; the exit code, or what went wrong.
    static func run(schema: String, data: [String], in dir: URL) async throws -> Result<Int32, Failure> {
        let script = #"ulimit -v 2000000 && exec "$0" validate --schema "$@""#
        let r = try await Subprocess.run(
            URL(fileURLWithPath: "/bin/sh"), ["-c", script, FuzzTests.binary.path, schema] + data, directory: dir,
            timeout: .seconds(60))
        if r.timedOut { return .failure(Failure(what: "timed out")) }
        if r.signalled { return .failure(Failure(what: "killed by signal \(r.status)")) }
        if ![0, 1, 2].contains(r.status) { return .failure(Failure(what: "exit code \(r.status): \(r.stderr.prefix(300))")) }
        return .success(r.status)
    }

    struct Failure: Error {
        var what: String
    }

    @Test func mutatedSchemasAndDataNeverCrashHangOrBlowUp() async throws {
        let env = ProcessInfo.processInfo.environment
        let seed = env["PRELLM_FUZZ_SEED"].flatMap(UInt64.init) ?? 20_261_202
        let cases = env["PRELLM_FUZZ_VALIDATE_CASES"].flatMap(Int.init) ?? 24
        try #require(FileManager.default.isExecutableFile(atPath: FuzzTests.binary.path), "no prellm binary beside the test bundle")
        let seeds = try Self.seeds()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("prellm-validate-fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var r = Random(state: seed)
        var exits: [Int32: Int] = [:]
        for i in 0..<cases {
            let original = r.pick(seeds)
            let schema = "schema-\(i).json"
            try Self.mutate(original.schema, &r).jsonText.write(to: dir.appendingPathComponent(schema), atomically: false, encoding: .utf8)
            var data: [String] = []
            for j in 0..<4 {
                let text = j < 2 && !original.data.isEmpty ? Self.mutate(r.pick(original.data), &r).jsonText : Self.hostileData(&r)
                data.append("data-\(i)-\(j).json")
                try text.write(to: dir.appendingPathComponent(data[j]), atomically: false, encoding: .utf8)
            }
            switch try await Self.run(schema: schema, data: data, in: dir) {
            case .success(let status): exits[status, default: 0] += 1
            case .failure(let f):
                Issue.record("seed \(seed): prellm validate failed (\(f.what)) on \(dir.path)/\(schema) with \(data.joined(separator: " "))")
                return  // keep the files
            }
        }
        // Exit 2 is a refused schema; a mutator that produced only those would test little.
        print("validate fuzz, seed \(seed): exit codes \(exits.sorted { $0.key < $1.key })")
        try? FileManager.default.removeItem(at: dir)
    }
}
