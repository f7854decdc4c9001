import Prellm
import PrellmCompiler
import PrellmSyntax

/// The one-shot form: `prellm "Deploy app to prod" --small ollama/qwen2.5:3b --large
/// openai/gpt-4o-mini --strategy structure` runs a built-in strategy on a query.
public struct AskOptions: Sendable {
    public var query: String
    public var small: String
    public var large: String
    public var strategy: Prellm.Strategy
    /// Literal text about the user or task (`--user-context`).
    public var userContext: String?
    /// A named context the strategy recalls from (`--context`).
    public var context: String?
    public var run: RunOptions

    public init(
        query: String, small: String, large: String, strategy: Prellm.Strategy, userContext: String? = nil, context: String? = nil,
        run: RunOptions
    ) {
        self.query = query
        self.small = small
        self.large = large
        self.strategy = strategy
        self.userContext = userContext
        self.context = context
        self.run = run
    }
}

public enum AskCommand {
    /// Why a query will not be sent: a single word that is, or is near, one of `commands` (`prellm
    /// lnit`) is almost surely a typo, and sending it would pay two models to answer "lnit".
    /// Nil when it is a real query, or was given after `--`. `commands` are the front end's own
    /// subcommands, so that the list cannot fall behind them.
    public static func refusal(ofQuery query: String, afterSeparator: Bool, commands: [String]) -> String? {
        guard !afterSeparator, !query.isEmpty, !query.contains(where: \.isWhitespace) else { return nil }
        guard let near = Spelling.nearest(query.lowercased(), in: commands + ["help"], maxDistance: query.count <= 5 ? 1 : 2) else {
            return nil
        }
        return "'\(query)' is not a prellm command; did you mean '\(near)'? To send it to the models as a query, write: prellm -- \(query)"
    }

    public static func run(
        _ options: AskOptions, environment: [String: String], write: @escaping @Sendable (String) -> Void,
        progress: @escaping @Sendable (String) -> Void
    ) async -> CommandOutput {
        var run = options.run
        run.file = "stdlib/strategies/\(options.strategy.rawValue).yaml"
        run.inputs = ["query=" + options.query] + (options.userContext.map { ["user_context=" + $0] } ?? [])
        if let context = options.context {
            guard Prellm.Strategy.recalling.contains(options.strategy) else {
                var out = CommandOutput()
                out.stderr =
                    "prellm: --context is for the \(Prellm.Strategy.recalling.map(\.rawValue).joined(separator: " and ")) strategies; \(options.strategy.rawValue) recalls nothing (--user-context gives any strategy literal text)\n"
                out.exitCode = CommandOutput.Exit.usage
                return out
            }
            run.inputs.append("context=" + context)
        }
        return await RunCommand.execute(
            Prellm.compile(options.strategy), run, modelOverrides: ["small": options.small, "large": options.large],
            environment: environment, write: write, progress: progress)
    }
}
