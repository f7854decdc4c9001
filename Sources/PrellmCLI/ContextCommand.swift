import Foundation
import Prellm
import PrellmCompiler
import PrellmMemory
import PrellmProviderKit
import PrellmProviders
import PrellmSchema

/// `prellm context add|list|show|rm|search`: named user contexts — the user's files split into
/// chunks, embedded and kept in the embedded store — that a run can recall from by meaning.
public struct ContextOptions: Sendable {
    public enum Action: Sendable {
        case add(name: String, files: [String])
        case list
        case show(name: String)
        case remove(name: String)
        case search(name: String, query: String, topK: Int)
    }

    public var action: Action
    /// The model that embeds a new context (`provider/model`); an existing one keeps its own.
    public var embed: String?
    /// The SQLite file contexts are kept in.
    public var store: String?
    /// A config file: its `memory:` and `providers:` sections.
    public var config: String?
    public var json = false

    public init(action: Action, embed: String? = nil, store: String? = nil, config: String? = nil, json: Bool = false) {
        self.action = action
        self.embed = embed
        self.store = store
        self.config = config
        self.json = json
    }
}

public enum ContextCommand {
    /// How many texts one embeddings request carries.
    static let batch = 64

    /// What a command needs besides its action: the store, the model for new contexts, and the
    /// providers that embed.
    struct Setup {
        var store: any ContextStore
        var embed: String?
        /// `--embed` as given: naming another model than an existing context's is an error.
        var embedFlag: String?
        var directory: ProviderDirectory
    }

    struct Failure: Error {
        var message: String
        var exit: Int32
    }

    public static func run(_ options: ContextOptions, environment: [String: String]) async -> CommandOutput {
        var out = CommandOutput()
        do {
            let setup = try self.setup(options, environment: environment, stderr: &out.stderr)
            switch options.action {
            case .add(let name, let files): out.stdout = try await add(name, files, setup, json: options.json)
            case .list: out.stdout = try await list(setup, json: options.json)
            case .show(let name): out.stdout = try await show(name, setup, json: options.json)
            case .remove(let name): out.stdout = try await remove(name, setup)
            case .search(let name, let query, let k): out.stdout = try await search(name, query, k, setup, json: options.json)
            }
        } catch {
            out.stderr += "prellm context: \(error.message)\n"
            out.exitCode = error.exit
        }
        return out
    }

    // MARK: - Stages

    static func setup(_ options: ContextOptions, environment: [String: String], stderr: inout String) throws(Failure) -> Setup {
        var memory = ConfigFile.Memory()
        var overrides: [String: ProviderDirectory.Override] = [:]
        if let path = options.config {
            let (config, rendered) = ProviderSettings.load(path)
            stderr += rendered
            guard let config else { throw Failure(message: "the config file has errors", exit: CommandOutput.Exit.usage) }
            memory = config.memory ?? memory
            overrides = config.providerOverrides
        }
        let store: any ContextStore
        do { store = try ContextStores.open(memory, path: options.store, environment: environment) } catch {
            throw Failure(message: error.message, exit: CommandOutput.Exit.usage)
        }
        return Setup(
            store: store, embed: options.embed ?? memory.embed, embedFlag: options.embed,
            directory: ProviderDirectory(environment: environment, overrides: overrides))
    }

    static func add(_ name: String, _ files: [String], _ s: Setup, json: Bool) async throws(Failure) -> String {
        guard name.range(of: #"^[A-Za-z0-9][A-Za-z0-9_.-]*$"#, options: .regularExpression) != nil else {
            throw Failure(
                message: "'\(name)' is not a context name: letters, digits, '_', '.' and '-', starting with a letter or digit",
                exit: CommandOutput.Exit.usage)
        }
        guard !files.isEmpty else {
            throw Failure(message: "name the files to add: prellm context add \(name) FILE…", exit: CommandOutput.Exit.usage)
        }
        var chunks: [Chunk] = []
        for file in files { chunks += try read(file) }
        guard !chunks.isEmpty else { throw Failure(message: "the files hold no text to add", exit: CommandOutput.Exit.usage) }
        let existing = try await memory { () async throws(MemoryError) in try await s.store.context(named: name) }
        if let existing, let asked = s.embedFlag, asked != existing.model {
            throw Failure(
                message:
                    "context '\(name)' holds vectors of \(existing.model); --embed \(asked) would mix models — leave --embed out, or add to a new context",
                exit: CommandOutput.Exit.usage)
        }
        guard let model = existing?.model ?? s.embed else {
            throw Failure(
                message: "say which model embeds context '\(name)': --embed openai/text-embedding-3-small, or memory: {embed: …} in prellm.yaml",
                exit: CommandOutput.Exit.usage)
        }
        let (vectors, tokens) = try await embed(chunks.map(\.text), model: model, s)
        try await memory { () async throws(MemoryError) in try await s.store.add(chunks, vectors: vectors, to: name, model: model) }
        if json {
            return JSONValue.object([
                "context": .string(name), "added": .number(Double(chunks.count)), "files": .number(Double(files.count)), "model": .string(model),
                "dimension": .number(Double(vectors.first?.count ?? 0)), "tokens": tokens.map { .number(Double($0)) } ?? .null,
            ]).jsonText + "\n"
        }
        let counted = tokens.map { ", \($0) tokens" } ?? ""
        return
            "added \(chunks.count) chunk\(chunks.count == 1 ? "" : "s") from \(files.count) file\(files.count == 1 ? "" : "s") to '\(name)' (\(model), \(vectors.first?.count ?? 0) dimensions\(counted))\n"
    }

    /// A file's chunks, by the format its name says.
    static func read(_ file: String) throws(Failure) -> [Chunk] {
        guard let format = Chunker.Format(path: file) else {
            throw Failure(message: "\(file): not a format contexts take (.md, .txt, .json, .yaml)", exit: CommandOutput.Exit.usage)
        }
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw Failure(
                message: "\(file): " + (FileManager.default.fileExists(atPath: file) ? "not UTF-8 text" : "no such file"),
                exit: CommandOutput.Exit.usage)
        }
        do { return try Chunker().chunks(of: text, source: file, format: format) } catch {
            throw Failure(message: error.message, exit: CommandOutput.Exit.usage)
        }
    }

    /// The texts' vectors from the model, in batches; the tokens the provider counted (nil when
    /// it counts none).
    static func embed(_ texts: [String], model: String, _ s: Setup) async throws(Failure) -> ([[Double]], Int?) {
        let resolved: (provider: any ChatProvider, model: String)
        do { resolved = try s.directory.resolve(model) } catch { throw Failure(message: error.message, exit: CommandOutput.Exit.usage) }
        guard let embedder = resolved.provider as? any EmbeddingProvider else {
            throw Failure(message: "\(model): \(resolved.provider.name) serves no embeddings", exit: CommandOutput.Exit.usage)
        }
        var vectors: [[Double]] = []
        var tokens: Int? = 0
        var start = 0
        while start < texts.count {
            let part = Array(texts[start..<min(texts.count, start + batch)])
            let r: EmbeddingResponse
            do { r = try await embedder.embed(EmbeddingRequest(model: resolved.model, inputs: part)) } catch {
                throw Failure(message: "\(model): \(error.message)", exit: CommandOutput.Exit.failure)
            }
            guard r.vectors.count == part.count else {
                throw Failure(message: "\(model) answered \(r.vectors.count) vectors for \(part.count) texts", exit: CommandOutput.Exit.failure)
            }
            vectors += r.vectors
            tokens = r.usage.flatMap { u in tokens.map { $0 + u.inputTokens } }
            start += part.count
        }
        return (vectors, tokens)
    }

    static func list(_ s: Setup, json: Bool) async throws(Failure) -> String {
        let all = try await memory { () async throws(MemoryError) in try await s.store.contexts() }
        if json {
            return JSONValue.array(
                all.map {
                    .object([
                        "name": .string($0.name), "model": .string($0.model), "dimension": .number(Double($0.dimension)),
                        "chunks": .number(Double($0.chunks)), "sources": .array($0.sources.map { .string($0) }),
                    ])
                }
            ).jsonText + "\n"
        }
        guard !all.isEmpty else { return "no contexts yet: prellm context add NAME FILE…\n" }
        return all.map { "\($0.name)  \($0.chunks) chunks from \($0.sources.count) files  \($0.model) (\($0.dimension))\n" }.joined()
    }

    static func show(_ name: String, _ s: Setup, json: Bool) async throws(Failure) -> String {
        let chunks = try await memory { () async throws(MemoryError) in try await s.store.chunks(of: name) }
        if json { return JSONValue.array(chunks.map(chunkJSON)).jsonText + "\n" }
        return chunks.map { "\(place($0))\n" + indent($0.text) }.joined(separator: "\n")
    }

    static func remove(_ name: String, _ s: Setup) async throws(Failure) -> String {
        let removed = try await memory { () async throws(MemoryError) in try await s.store.remove(name) }
        guard removed else {
            let names = (try? await s.store.contexts().map(\.name)) ?? []
            throw Failure(message: MemoryError.missing(name, among: names).message, exit: CommandOutput.Exit.failure)
        }
        return "removed context '\(name)'\n"
    }

    static func search(_ name: String, _ query: String, _ k: Int, _ s: Setup, json: Bool) async throws(Failure) -> String {
        guard let info = try await memory({ () async throws(MemoryError) in try await s.store.context(named: name) }) else {
            let names = (try? await s.store.contexts().map(\.name)) ?? []
            throw Failure(message: MemoryError.missing(name, among: names).message, exit: CommandOutput.Exit.failure)
        }
        let (vectors, _) = try await embed([query], model: info.model, s)
        let hits = try await memory { () async throws(MemoryError) in
            try await s.store.search(name, vector: vectors[0], model: info.model, topK: k, minScore: -1)
        }
        if json {
            return JSONValue.array(
                hits.map { h in
                    var o = chunkJSON(h.chunk).objectValue ?? [:]
                    o["score"] = .number((h.score * 10_000).rounded() / 10_000)
                    return .object(o)
                }
            ).jsonText + "\n"
        }
        return hits.map { String(format: "%.3f  ", $0.score) + place($0.chunk) + "\n" + indent($0.chunk.text) }.joined(separator: "\n")
    }

    // MARK: - Helpers

    static func memory<T>(_ body: () async throws(MemoryError) -> T) async throws(Failure) -> T {
        do { return try await body() } catch { throw Failure(message: error.message, exit: CommandOutput.Exit.failure) }
    }

    static func place(_ c: Chunk) -> String {
        "\(c.source):\(c.lines.lowerBound)" + (c.lines.count > 1 ? "-\(c.lines.upperBound)" : "")
    }

    static func indent(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { "    " + $0 }.joined(separator: "\n") + "\n"
    }

    static func chunkJSON(_ c: Chunk) -> JSONValue {
        .object([
            "text": .string(c.text), "source": .string(c.source),
            "lines": .array([.number(Double(c.lines.lowerBound)), .number(Double(c.lines.upperBound))]),
        ])
    }
}
