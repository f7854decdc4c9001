import Foundation
import PrellmCompiler
import PrellmProviderKit
import PrellmProviders
import PrellmRuntime
import PrellmSchema
import PrellmSyntax

/// The Swift API for embedding prellm.
///
/// ```swift
/// let result = try await Prellm.run(workflowAt: URL(fileURLWithPath: "workflows/support-triage.yaml"),
///                                   inputs: ["message": "Please cancel my plan"])
/// print(result.output)
///
/// let answer = try await Prellm.preprocessAndExecute(
///     query: "Deploy app to prod", small: "ollama/qwen2.5:3b", large: "openai/gpt-4o-mini", strategy: .structure)
/// ```
///
/// Both return the same RunResult that `prellm-run --json` prints; a workflow that does not
/// compile throws `Prellm.CompileError` with the rendered diagnostics.
public enum Prellm {
    /// The five strategies shipped in `stdlib/strategies/`.
    public enum Strategy: String, Sendable, CaseIterable {
        case classify, structure, split, enrich, passthrough

        /// The strategies that recall from a named context (their `context` input).
        public static let recalling: [Strategy] = [.structure, .enrich]
    }

    public struct CompileError: Error, Sendable, CustomStringConvertible {
        public var diagnostics: [Diagnostic]
        public var rendered: String
        public var description: String { rendered }
    }

    /// Compiles and runs a workflow file.
    public static func run(
        workflowAt url: URL, inputs: [String: JSONValue],
        environment: [String: String] = ProcessInfo.processInfo.environment,
        configure: (inout RunContext) -> Void = { _ in }
    ) async throws(CompileError) -> RunResult {
        let result = WorkflowCompiler().compile(path: url.path)
        return try await run(result, inputs: inputs, overrides: [:], memory: nil, environment: environment, configure: configure)
    }

    /// Runs a stdlib strategy: the small model preprocesses the query, the large one executes.
    /// `userContext` is literal text for the models; `context` names a context to recall from
    /// (the enrich and structure strategies), kept where `memory` says (nil:
    /// `$PRELLM_HOME/contexts.sqlite`) unless `configure` gives the run a store.
    public static func preprocessAndExecute(
        query: String, small: String, large: String, strategy: Strategy = .structure,
        userContext: String? = nil, context: String? = nil, memory: ConfigFile.Memory? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        configure: (inout RunContext) -> Void = { _ in }
    ) async throws(CompileError) -> RunResult {
        var inputs: [String: JSONValue] = ["query": .string(query)]
        if let userContext { inputs["user_context"] = .string(userContext) }
        if let context {
            guard Strategy.recalling.contains(strategy) else {
                throw CompileError(
                    diagnostics: [], rendered: "context: is for the structure and enrich strategies; \(strategy.rawValue) recalls nothing\n")
            }
            inputs["context"] = .string(context)
        }
        return try await run(
            compile(strategy), inputs: inputs, overrides: ["small": small, "large": large], memory: memory,
            environment: environment, configure: configure)
    }

    /// The compiled built-in workflow of a strategy.
    public static func compile(_ strategy: Strategy) -> CompileResult {
        WorkflowCompiler().compile(source: Source(path: "stdlib/strategies/\(strategy.rawValue).yaml", text: strategy.source))
    }

    static func run(
        _ result: CompileResult, inputs: [String: JSONValue], overrides: [String: String], memory: ConfigFile.Memory?,
        environment: [String: String], configure: (inout RunContext) -> Void
    ) async throws(CompileError) -> RunResult {
        guard let compiled = result.graph, !result.hasErrors else {
            throw CompileError(diagnostics: result.diagnostics, rendered: DiagnosticRenderer.text(result.diagnostics, sources: result.sources))
        }
        let program: StepGraph
        do { program = try compiled.replacingModels(overrides) } catch {
            throw CompileError(diagnostics: [], rendered: "the model \(error.message)\n")
        }
        var context = RunContext(models: CatalogModelAccess(directory: ProviderDirectory(environment: environment), program: program))
        configure(&context)
        if context.memory == nil, program.usesContexts {
            do { context.memory = try ContextStores.open(memory, environment: environment) } catch {
                throw CompileError(diagnostics: [], rendered: "the context store: \(error.message)\n")
            }
        }
        return await Interpreter(program).run(inputs: inputs, context: context)
    }
}
