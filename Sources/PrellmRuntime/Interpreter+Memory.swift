import PrellmCompiler
import PrellmMemory
import PrellmProviderKit
import PrellmSchema

/// The steps that reach the run's named contexts (RunContext.memory): `recall` embeds its query
/// with the context's model and searches it; `remember` splits a text into chunks, embeds them
/// and adds them. Each makes one embeddings request, reserved against the budgets like a model
/// call and priced exactly as Cost/StepCost bounds it.
extension Interpreter {
    /// A context as a step sees it: its store, its record, and the model its vectors came from.
    struct OpenedContext {
        var store: any ContextStore
        var info: ContextInfo
    }

    func recall(
        _ step: CompiledStep, _ p: RecallStep, _ frame: Frame, _ site: CallSite, ledger: RunLedger, context: RunContext
    )
        async throws(RunError) -> (JSONValue, StepRecord)
    {
        let name = try render(p.context, frame.scope, site) ?? ""
        let query = try render(p.query, frame.scope, site) ?? ""
        let opened = try await open(name, embed: p.embed, site, context: context)
        let started = context.clock.now
        let embedded = try await embed([query], opened.info.model, site, ledger: ledger, context: context)
        let hits: [ContextHit]
        do {
            hits = try await opened.store.search(name, vector: embedded.vectors[0], model: opened.info.model, topK: p.topK, minScore: p.minScore)
        } catch {
            throw RunError(.memory, error.message, step: site.path)
        }
        let chunks = hits.prefix(p.topK).map(Self.recalled)
        context.events?.record(
            .memory(
                MemoryEvent(
                    traceID: frame.traceID, step: site.path, context: name, model: opened.info.model, usage: embedded.usage,
                    costUSD: embedded.cost, latency: context.clock.now - started,
                    kind: .recalled(zip(hits, chunks).map { RecalledChunk(source: $0.chunk.source, lines: $0.chunk.lines, score: $1.score) }))))
        let value: JSONValue = .object([
            "chunks": .array(chunks.map { .object(["text": .string($0.text), "source": .string($0.source), "score": .number($0.score)]) }),
            "count": .number(Double(chunks.count)),
        ])
        return (value, record(step, site, embedded, model: opened.info.model, context: context))
    }

    func remember(
        _ step: CompiledStep, _ p: RememberStep, _ frame: Frame, _ site: CallSite, ledger: RunLedger, context: RunContext
    )
        async throws(RunError) -> (JSONValue, StepRecord)
    {
        let name = try render(p.context, frame.scope, site) ?? ""
        let text = try render(p.text, frame.scope, site) ?? ""
        let source =
            try render(p.source, frame.scope, site)
            ?? "workflow \(program.name ?? program.file), step \(site.path), run \(frame.traceID)"
        let chunks: [Chunk]
        do { chunks = try Chunker().chunks(of: text, source: source, format: .text) } catch {
            throw RunError(.memory, error.message, step: site.path)
        }
        guard chunks.count <= RememberStep.maxChunks else {
            throw RunError(
                .memory, "the text splits into \(chunks.count) chunks; one remember adds at most \(RememberStep.maxChunks)",
                step: site.path)
        }
        let opened = try await open(name, embed: p.embed, site, context: context)
        guard !chunks.isEmpty else {
            return (.object(["context": .string(name), "added": .number(0)]), site.record(step, nil, context))
        }
        let started = context.clock.now
        let embedded = try await embed(chunks.map(\.text), opened.info.model, site, ledger: ledger, context: context)
        do { try await opened.store.add(chunks, vectors: embedded.vectors, to: name, model: opened.info.model) } catch {
            throw RunError(.memory, error.message, step: site.path)
        }
        context.events?.record(
            .memory(
                MemoryEvent(
                    traceID: frame.traceID, step: site.path, context: name, model: opened.info.model, usage: embedded.usage,
                    costUSD: embedded.cost, latency: context.clock.now - started, kind: .remembered(chunks: chunks.count, source: source))))
        let value: JSONValue = .object(["context": .string(name), "added": .number(Double(chunks.count))])
        return (value, record(step, site, embedded, model: opened.info.model, context: context))
    }

    /// The named context, which must exist (a missing one is an error naming those that do),
    /// built with the model the step's `embed:` names, if it names one.
    func open(_ name: String, embed: String?, _ site: CallSite, context: RunContext) async throws(RunError) -> OpenedContext {
        guard name.utf8.count <= RememberStep.maxContextName, !name.isEmpty else {
            throw RunError(
                .memory, "'\(name.prefix(40))\(name.count > 40 ? "…" : "")' is not a context name: 1 to \(RememberStep.maxContextName) characters",
                step: site.path)
        }
        guard let store = context.memory else {
            throw RunError(
                .memory, "this run has no context store, so it cannot reach context '\(name)': configure memory: in prellm.yaml",
                step: site.path)
        }
        let info: ContextInfo?
        do { info = try await store.context(named: name) } catch { throw RunError(.memory, error.message, step: site.path) }
        guard let info else {
            let names = (try? await store.contexts().map(\.name)) ?? []
            throw RunError(.memory, MemoryError.missing(name, among: names).message, step: site.path)
        }
        if let embed, embed != info.model {
            throw RunError(
                .memory, "context '\(name)' was embedded with \(info.model), but the step names embed: \(embed)", step: site.path)
        }
        return OpenedContext(store: store, info: info)
    }

    /// What one embeddings request gave and cost.
    struct Embedded {
        var vectors: [[Double]]
        var usage: Usage
        var cost: Double?
    }

    /// One embeddings request: reserved (its inputs' estimate, at the model's price) against
    /// every budget that applies, then settled at what the provider counted.
    func embed(
        _ texts: [String], _ model: String, _ site: CallSite, ledger: RunLedger, context: RunContext
    ) async throws(RunError)
        -> Embedded
    {
        let resolved: (provider: any ChatProvider, model: String)
        do { resolved = try context.models.provider(for: model) } catch {
            throw RunError(.modelsFailed, "\(model): \(error.message)", step: site.path, causes: [error.kind])
        }
        guard let embedder = resolved.provider as? any EmbeddingProvider else {
            throw RunError(.memory, "\(model): \(resolved.provider.name) serves no embeddings", step: site.path)
        }
        let estimate = texts.reduce(0) { $0 + TokenEstimate.promptTokens(bytes: $1.utf8.count, messages: 0) }
        let price = context.models.price(for: model)
        let reservation = try ledger.reserve(
            model: model, promptTokens: estimate, maxTokens: 0, price: price, scopes: site.scopes, stepName: site.path)
        let response: EmbeddingResponse
        do { response = try await embedder.embed(EmbeddingRequest(model: resolved.model, inputs: texts)) } catch {
            ledger.release(reservation)
            throw RunError(.modelsFailed, "\(model): \(error.message)", step: site.path, causes: [error.kind])
        }
        // A provider that counts nothing (Gemini) is charged the estimate, never nothing.
        let usage = response.usage ?? Usage(inputTokens: estimate, outputTokens: 0)
        ledger.settle(reservation, usage: usage, price: price)
        guard response.vectors.count == texts.count, let n = response.vectors.first?.count, n > 0,
            response.vectors.allSatisfy({ $0.count == n })
        else {
            throw RunError(
                .modelsFailed, "\(model) answered \(response.vectors.count) vectors for \(texts.count) texts", step: site.path,
                causes: [.invalidResponse])
        }
        return Embedded(vectors: response.vectors, usage: usage, cost: price?.cost(of: usage))
    }

    /// A hit as the step gives it: text and source cut to the lengths the compiler bounds the
    /// output by (RecallStep), whatever the store holds.
    static func recalled(_ hit: ContextHit) -> (text: String, source: String, score: Double) {
        let place = "\(hit.chunk.source):\(hit.chunk.lines.lowerBound)-\(hit.chunk.lines.upperBound)"
        let score = (hit.score * 10_000).rounded() / 10_000
        return (cut(hit.chunk.text, RecallStep.maxTextLength), cut(place, RecallStep.maxSourceLength), min(1, max(-1, score)))
    }

    static func cut(_ s: String, _ scalars: Int) -> String {
        s.unicodeScalars.count <= scalars ? s : String(String.UnicodeScalarView(s.unicodeScalars.prefix(scalars)))
    }

    func record(_ step: CompiledStep, _ site: CallSite, _ e: Embedded, model: String, context: RunContext) -> StepRecord {
        var r = site.record(step, nil, context)
        (r.modelUsed, r.usage, r.costUSD) = (model, e.usage, e.cost)
        return r
    }
}
