import Prellm
import PrellmCompiler

/// The one-shot form: `prellm "Deploy app to prod" --small ollama/qwen2.5:3b --large
/// openai/gpt-4o-mini --strategy structure` runs a built-in strategy on a query.
public struct AskOptions: Sendable {
    public var query: String
    public var small: String
    public var large: String
    public var strategy: Prellm.Strategy
    public var userContext: String?
    public var run: RunOptions

    public init(query: String, small: String, large: String, strategy: Prellm.Strategy, userContext: String? = nil, run: RunOptions) {
        self.query = query
        self.small = small
        self.large = large
        self.strategy = strategy
        self.userContext = userContext
        self.run = run
    }
}

public enum AskCommand {
    public static func run(
        _ options: AskOptions, environment: [String: String], write: @escaping @Sendable (String) -> Void,
        progress: @escaping @Sendable (String) -> Void
    ) async -> CommandOutput {
        var run = options.run
        run.file = "stdlib/strategies/\(options.strategy.rawValue).yaml"
        run.inputs = ["query=" + options.query] + (options.userContext.map { ["user_context=" + $0] } ?? [])
        return await RunCommand.execute(
            Prellm.compile(options.strategy), run, modelOverrides: ["small": options.small, "large": options.large],
            environment: environment, write: write, progress: progress)
    }
}
