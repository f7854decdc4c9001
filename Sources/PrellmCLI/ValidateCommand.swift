import Foundation
import PrellmCompiler
import PrellmSchema
import PrellmSyntax

/// `prellm validate --schema SCHEMA [DATA…]` and `--jsonl`: the contract validator as a tool.
public enum ValidateCommand {
    /// Loads a schema from JSON (or YAML, by extension), with the files its `$ref`s name
    /// (relative to it, as in workflow contracts) and the built-in draft 2020-12
    /// meta-schemas; reports why it cannot be used.
    static func loadSchema(_ path: String, into out: inout CommandOutput) -> JSONSchema? {
        guard let value = loadDocument(path, into: &out) else { return nil }
        let base = URL(fileURLWithPath: path).standardized.absoluteString
        var documents: [String: JSONValue] = [:]
        var schema = JSONSchema(value, baseURI: base)
        // Each round loads what the last one could not resolve; files are few, so a cap on
        // rounds and files guards only against a pathological chain.
        for _ in 0..<maxFiles {
            let missing = schema.missingDocuments()
            if missing.isEmpty { break }
            for uri in missing {
                if JSONSchema.metaschemas[uri] != nil {
                    documents.merge(JSONSchema.metaschemas) { a, _ in a }
                } else if let file = URL(string: uri), file.isFileURL {
                    guard documents.count < maxFiles, let loaded = loadDocument(file.path, into: &out) else { return nil }
                    documents[uri] = loaded
                } else {
                    out.stderr += "prellm validate: \(path): $ref to '\(uri)' points at the network; schemas are read from files only\n"
                    return nil
                }
            }
            schema = JSONSchema(value, baseURI: base, documents: documents)
        }
        if let (ref, at) = schema.unresolvedReferences().first {
            out.stderr += "prellm validate: \(path): $ref '\(ref)' at '\(at.isEmpty ? "/" : at)' does not resolve\n"
            return nil
        }
        // Checked before any data: `minLength: -1` or `multipleOf: 0` would otherwise pass
        // every value without a word.
        let problems = schema.keywordProblems()
        if !problems.isEmpty {
            for p in problems.prefix(20) { out.stderr += "prellm validate: \(path): \(p)\n" }
            if problems.count > 20 { out.stderr += "prellm validate: \(path): \(problems.count - 20) more schema errors\n" }
            return nil
        }
        if let cycle = schema.referenceCycle() {
            out.stderr += "prellm validate: \(path): at '\(cycle.at.isEmpty ? "/" : cycle.at)': \(cycle.message)\n"
            return nil
        }
        return schema
    }

    static let maxFiles = 64

    /// One schema document, JSON or (by extension) YAML.
    static func loadDocument(_ path: String, into out: inout CommandOutput) -> JSONValue? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            out.stderr += "prellm validate: cannot read schema '\(path)'\n"
            return nil
        }
        if path.hasSuffix(".yaml") || path.hasSuffix(".yml") {
            var bag = DiagnosticBag(file: path)
            guard let node = YAMLReader().read(Source(path: path, text: text), into: &bag) else {
                out.stderr += DiagnosticRenderer.text(bag.sorted, sources: [path: Source(path: path, text: text)])
                return nil
            }
            return ContractSchema.json(node)
        }
        do { return try JSONParser.parse(text) } catch {
            out.stderr += "prellm validate: \(path):\(error.line):\(error.column): invalid JSON: \(error.message)\n"
            return nil
        }
    }

    public static func run(schema schemaPath: String, files: [String]) -> CommandOutput {
        var out = CommandOutput()
        guard let schema = loadSchema(schemaPath, into: &out) else {
            out.exitCode = CommandOutput.Exit.usage
            return out
        }
        if files.isEmpty {
            out.stderr += "prellm validate: name data files, or use --jsonl to read JSON lines from standard input\n"
            out.exitCode = CommandOutput.Exit.usage
            return out
        }
        var invalid = 0
        for file in files {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                out.stderr += "prellm validate: cannot read '\(file)'\n"
                out.exitCode = CommandOutput.Exit.usage
                return out
            }
            let value: JSONValue
            do { value = try JSONParser.parse(text) } catch {
                out.stdout += "\(file):\(error.line):\(error.column): invalid JSON: \(error.message)\n"
                invalid += 1
                continue
            }
            let errors = schema.validate(value)
            if errors.isEmpty {
                out.stdout += "\(file): valid\n"
            } else {
                invalid += 1
                for e in errors {
                    out.stdout +=
                        "\(file): \(e.instanceLocation.isEmpty ? "/" : e.instanceLocation): \(e.message) [\(e.keywordLocation.isEmpty ? "/" : e.keywordLocation)]\n"
                }
            }
        }
        out.exitCode = invalid > 0 ? CommandOutput.Exit.failure : CommandOutput.Exit.ok
        return out
    }

    /// Validates each line of `input`, printing one `{"valid": …, "errors": […]}` line per line.
    public static func runLines(schema schemaPath: String, lines: some Sequence<String>, emit: (String) -> Void) -> CommandOutput {
        var out = CommandOutput()
        guard let schema = loadSchema(schemaPath, into: &out) else {
            out.exitCode = CommandOutput.Exit.usage
            return out
        }
        var invalid = false
        for line in lines {
            let errors: [JSONValue]
            do {
                let value = try JSONParser.parse(line)
                errors = schema.validate(value).map {
                    .object([
                        "instanceLocation": .string($0.instanceLocation), "keywordLocation": .string($0.keywordLocation),
                        "message": .string($0.message),
                    ])
                }
            } catch {
                errors = [
                    .object([
                        "instanceLocation": .string(""), "keywordLocation": .string(""),
                        "message": .string("invalid JSON at column \(error.column): \(error.message)"),
                    ])
                ]
            }
            invalid = invalid || !errors.isEmpty
            emit(JSONValue.object(["valid": .bool(errors.isEmpty), "errors": .array(errors)]).jsonText)
        }
        out.exitCode = invalid ? CommandOutput.Exit.failure : CommandOutput.Exit.ok
        return out
    }
}
