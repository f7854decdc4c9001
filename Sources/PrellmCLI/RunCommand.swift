import Foundation
import PrellmCompiler
import PrellmSchema
import PrellmSyntax

/// `prellm run FILE` / `prellm-run FILE`: compile the workflow and check its inputs.
///
/// Executing the steps needs the interpreter and the providers, which this build does not
/// have yet; until then the command stops after the checks, says so, and exits 2 rather
/// than pretending to run anything.
public struct RunOptions: Sendable {
    public var file: String
    public var inputs: [String]
    public var inputsFile: String?

    public init(file: String, inputs: [String] = [], inputsFile: String? = nil) {
        self.file = file
        self.inputs = inputs
        self.inputsFile = inputsFile
    }
}

public enum RunCommand {
    public static func run(_ options: RunOptions) -> CommandOutput {
        var out = CommandOutput()
        let result = WorkflowCompiler().compile(path: options.file)
        if !result.diagnostics.isEmpty {
            out.stderr += DiagnosticRenderer.text(result.diagnostics, sources: result.sources)
        }
        guard let workflow = result.workflow, result.graph != nil else {
            out.exitCode = CommandOutput.Exit.usage
            return out
        }
        var values: [String: JSONValue] = [:]
        if let path = options.inputsFile {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                out.stderr += "prellm run: cannot read inputs file '\(path)'\n"
                out.exitCode = CommandOutput.Exit.usage
                return out
            }
            do {
                guard case .object(let o) = try JSONParser.parse(text) else {
                    out.stderr += "prellm run: '\(path)' must hold a JSON object of input names to values\n"
                    out.exitCode = CommandOutput.Exit.usage
                    return out
                }
                values = o
            } catch {
                out.stderr += "prellm run: \(path):\(error.line):\(error.column): \(error.message)\n"
                out.exitCode = CommandOutput.Exit.usage
                return out
            }
        }
        for pair in options.inputs {
            guard let eq = pair.firstIndex(of: "=") else {
                out.stderr += "prellm run: --input takes name=value, found '\(pair)'\n"
                out.exitCode = CommandOutput.Exit.usage
                return out
            }
            let name = String(pair[..<eq]), raw = String(pair[pair.index(after: eq)...])
            let declared = workflow.inputs.first { $0.name.value == name }
            // A value is text unless the input is declared with a non-string type.
            if let declared, declared.type != .string, !declared.type.isStringLike, let parsed = try? JSONParser.parse(raw) {
                values[name] = parsed
            } else {
                values[name] = .string(raw)
            }
        }
        var problems: [String] = []
        for name in values.keys.sorted() where !workflow.inputs.contains(where: { $0.name.value == name }) {
            problems.append("unknown input '\(name)'" + (Spelling.hint(name, in: workflow.inputs.map(\.name.value)).map { " (\($0))" } ?? ""))
        }
        for input in workflow.inputs {
            guard let v = values[input.name.value] else {
                if !input.hasDefault { problems.append("input '\(input.name.value)' is required: pass --input \(input.name.value)=…") }
                continue
            }
            for e in JSONSchema(input.schema).validate(v) {
                problems.append("input '\(input.name.value)'\(e.instanceLocation): \(e.message)")
            }
        }
        if !problems.isEmpty {
            out.stderr += problems.map { "prellm run: \($0)\n" }.joined()
            out.exitCode = CommandOutput.Exit.usage
            return out
        }
        out.stderr += "prellm run: '\(options.file)' compiles and its inputs are valid, but this build cannot execute steps yet (the interpreter is not part of it); nothing was sent to any model\n"
        out.exitCode = CommandOutput.Exit.usage
        return out
    }
}
