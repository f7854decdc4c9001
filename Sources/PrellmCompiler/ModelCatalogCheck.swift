import PrellmProviderKit
import PrellmSyntax

/// ModelCatalogCheck reads the model catalog (`stdlib/models.json`: capabilities and prices)
/// so that two mistakes are found before any token is spent rather than at the first call:
///
/// - a model name one typo away from a catalogued one (`openai/gpt-4o-mnii`), which would
///   reach the provider as a 404, or run with an unknown price (a warning: new models are
///   legitimately missing from the catalog, so only near misses are flagged);
/// - a model without a known price under a USD budget, which the runtime refuses (an error,
///   unless `allow_unpriced: true` or the alias gives a `price`).
struct ModelCatalogCheck {
    let catalog: ModelCatalog
    var providers = WorkflowDecoder.knownProviders

    /// An alias named as a catalogued model (`gpt-4o: anthropic/claude-haiku-4-5`) takes that
    /// name over: say which one a request for it gets.
    func warnIfShadowing(_ alias: Workflow.ModelAlias, _ bag: inout DiagnosticBag) {
        let name = alias.name.value
        let shadowed = catalog.entries.keys.sorted().filter { $0.split(separator: "/", maxSplits: 1).last.map(String.init) == name }
        let targets = Set(alias.choices.map(\.id))
        guard let other = shadowed.first(where: { !targets.contains($0) }) else { return }
        bag.add(
            .aliasShadowsModel, alias.name.span,
            "alias '\(name)' has the name of the catalogued model \(other); '\(name)' means this alias (\(alias.choices.map(\.id).joined(separator: ", "))) here",
            hint: "to reach \(other) itself, name it in full: \(other)")
    }

    func check(models: [Workflow.ModelAlias], budget: Workflow.Budget?, steps: [Step], into bag: inout DiagnosticBag) {
        let runLimit = Self.limit(budget)
        var aliasLimits: [String: Double] = [:]
        var direct: [(Workflow.ModelChoice, Double?)] = []
        for step in Self.flattened(steps) {
            if let embed = step.embed { checkEmbedding(embed, &bag) }
            guard let name = step.model else { continue }
            // The step's budget and the run's both apply; the tighter one names the limit.
            let limit = [step.options.budget.flatMap(Self.limit), runLimit].compactMap { $0 }.min()
            if name.value.contains("/") {
                var scratch = DiagnosticBag(file: bag.file)  // a malformed string is reported by the checker
                if let choice = WorkflowDecoder.parseModel(name.value, name.span, providers: providers, into: &scratch) {
                    direct.append((choice, limit))
                }
            } else if let limit {
                aliasLimits[name.value] = min(aliasLimits[name.value] ?? limit, limit)
            }
        }
        for alias in models { warnIfShadowing(alias, &bag) }
        for alias in models {
            let priced = alias.parameters.inputPricePerMTok != nil && alias.parameters.outputPricePerMTok != nil
            for choice in alias.choices {
                check(
                    choice, limit: priced ? nil : aliasLimits[alias.name.value] ?? runLimit,
                    priceHint: "give model '\(alias.name.value)' a price ({input: …, output: …} in $ per million tokens)", &bag)
            }
        }
        for (choice, limit) in direct {
            check(choice, limit: limit, priceHint: "declare it under 'models:' with a price ({input: …, output: …} in $ per million tokens)", &bag)
        }
    }

    func check(_ choice: Workflow.ModelChoice, limit: Double?, priceHint: String, _ bag: inout DiagnosticBag) {
        guard let entry = catalog.entry(for: choice.id), !entry.isKnown, entry.price == nil else { return }
        let near = nearMiss(choice)
        if let limit {
            bag.add(
                .unpricedUnderBudget, choice.span,
                "'\(choice.id)' has no known price, so it cannot run under a USD budget (max_usd \(limit == limit.rounded() && abs(limit) < 1e15 ? String(Int(limit)) : "\(limit)"))",
                hint: (near.map { "did you mean '\($0)'? Otherwise " } ?? "") + priceHint + " or set allow_unpriced: true in the budget")
        } else if let near {
            bag.add(
                .modelNotInCatalog, choice.span,
                "'\(choice.id)' is not in the model catalog, so its price and capabilities are unknown",
                hint: "did you mean '\(near)'?")
        }
    }

    /// The `embed:` of a recall or remember step: a catalogued chat model cannot have built a
    /// context; a near miss of a catalogued embedding model is likely a typo.
    func checkEmbedding(_ name: Workflow.Name, _ bag: inout DiagnosticBag) {
        var scratch = DiagnosticBag(file: bag.file)  // a malformed string is reported by the checker
        guard let choice = WorkflowDecoder.parseModel(name.value, name.span, providers: providers, into: &scratch),
            let entry = catalog.entry(for: choice.id)
        else { return }
        if entry.isKnown, !entry.capabilities.embedding {
            let embedders = catalog.entries.keys.filter { catalog.entries[$0]?.capabilities.embedding == true }.sorted()
            bag.add(
                .badValue, name.span, "\(choice.id) is a chat model; 'embed' names the embedding model a context was built with",
                hint: "embedding models are \(embedders.joined(separator: ", "))")
        } else if !entry.isKnown, let near = nearMiss(choice) {
            bag.add(
                .modelNotInCatalog, choice.span, "'\(choice.id)' is not in the model catalog, so its price is unknown",
                hint: "did you mean '\(near)'?")
        }
    }

    /// The USD limit a budget puts on its models, unless it allows unpriced ones.
    static func limit(_ budget: Workflow.Budget?) -> Double? {
        guard let budget, !budget.allowUnpriced else { return nil }
        return budget.maxUSD
    }

    /// Steps with the sub-steps of `map`s.
    static func flattened(_ steps: [Step]) -> [Step] {
        steps.flatMap { step -> [Step] in
            if case .map(_, _, _, _, let sub?) = step.body { return [step] + flattened([sub]) }
            return [step]
        }
    }

    /// A catalogued model of the same provider at most one edit away (two for long names).
    func nearMiss(_ choice: Workflow.ModelChoice) -> String? {
        let candidates = catalog.entries.keys.filter { $0.hasPrefix(choice.provider + "/") }
        return Spelling.nearest(choice.id, in: candidates.sorted(), maxDistance: choice.id.count >= 16 ? 2 : 1)
    }
}
