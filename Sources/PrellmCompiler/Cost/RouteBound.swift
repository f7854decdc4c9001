import PrellmProviderKit
import PrellmSyntax

extension ModelRoute {
    /// A route to the `provider/model` a caller names directly (a gateway request when no
    /// aliases are configured); nil when the name is not of that form or the provider is not
    /// one of `providers`.
    public convenience init?(naming text: String, providers: [String] = ConfigFile.builtinProviders) {
        var scratch = DiagnosticBag(file: "")
        guard let choice = WorkflowDecoder.parseModel(text, .unknown, providers: providers, into: &scratch) else { return nil }
        self.init(direct: choice)
    }

    /// The bound of one logical call on this route, the same rule CostBound applies to a step:
    /// every model the route can reach, each with its retries, at the dearest model's price.
    public func callBound(
        promptTokens: Int, maxTokens: Int, retries: Int = Step.RetryPolicy.defaultAttempts,
        price lookup: (String) -> ModelPrice?
    ) -> (calls: Int, tokens: Int, usd: Double?) {
        let attempts = choices.count * (1 + retries)
        var worst: Double? = 0
        for m in models {
            guard let p = price(of: m, lookup: lookup) else { worst = nil; break }
            worst = Swift.max(worst!, p.cost(of: Usage(inputTokens: promptTokens, outputTokens: maxTokens)))
        }
        // Checked: sizes come from requests, and a bound must never trap.
        let tokens = add(promptTokens, maxTokens).flatMap { mul(attempts, $0) } ?? Size.limit
        return (attempts, tokens, worst.map { $0 * Double(attempts) })
    }
}
