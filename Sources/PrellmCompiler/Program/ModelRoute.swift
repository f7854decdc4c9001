import PrellmProviderKit
import PrellmSyntax

/// A ModelRoute is where a model step's calls go: the models a policy may try, in the order
/// it is written, with the alias's parameters. Routes are resolved when the program is built,
/// so a step carries its route and no name is looked up at run time. The gateway builds one
/// per configured model name the same way. Immutable and shared: every step on an alias, and
/// every call in flight on it, holds the same one.
public final class ModelRoute: Sendable {
    /// The alias (`large`), or the `provider/model` a step names directly.
    public let name: String
    public let choices: [Workflow.ModelChoice]
    public let policy: Workflow.RoutingPolicy
    public let parameters: Workflow.ModelParameters
    /// True when the route replaces an alias's models (`--large`): the replacement does not
    /// inherit the alias's price.
    public let isOverride: Bool

    public init(
        name: String, choices: [Workflow.ModelChoice], policy: Workflow.RoutingPolicy,
        parameters: Workflow.ModelParameters, isOverride: Bool = false
    ) {
        self.name = name
        self.choices = choices
        self.policy = policy
        self.parameters = parameters
        self.isOverride = isOverride
    }

    public convenience init(_ alias: Workflow.ModelAlias) {
        self.init(name: alias.name.value, choices: alias.choices, policy: alias.policy, parameters: alias.parameters)
    }

    /// A route to one `provider/model` named directly, with no parameters.
    public convenience init(direct choice: Workflow.ModelChoice) {
        self.init(name: choice.id, choices: [choice], policy: .single, parameters: .init())
    }

    /// The output limit sent with every call on this route and counted by every bound: the
    /// alias's `max_tokens`, else `defaultMaxTokens`. It is always sent, so that what a call
    /// can cost is known before it is made.
    public var maxTokens: Int { parameters.maxTokens ?? Self.defaultMaxTokens }
    public static let defaultMaxTokens = 4096

    /// The `provider/model` ids in the order written.
    public var models: [String] { choices.map(\.id) }

    /// The price the alias gives its models (`price: {input, output}`), which wins over the catalog's.
    public var price: ModelPrice? {
        guard !isOverride, let input = parameters.inputPricePerMTok, let output = parameters.outputPricePerMTok else { return nil }
        return ModelPrice(input: input, output: output)
    }

    /// The price of one of this route's models: the alias's own, else what `lookup` knows.
    public func price(of model: String, lookup: (String) -> ModelPrice?) -> ModelPrice? {
        price ?? lookup(model)
    }

    /// The same route sending every call to `model` instead (the one-shot form's `--small`,
    /// `--large`): the alias's parameters stay, its price does not.
    public func replaced(by model: Workflow.ModelChoice) -> ModelRoute {
        ModelRoute(name: name, choices: [model], policy: .single, parameters: parameters, isOverride: true)
    }
}
