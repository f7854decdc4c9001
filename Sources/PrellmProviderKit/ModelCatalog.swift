import PrellmSchema

/// A ModelCatalog knows, for `provider/model` strings, the context window, the capabilities
/// and the price. It is read from `stdlib/models.json` (built into the binary); prices can be
/// overridden per model. A model it does not list gets its provider's default capabilities
/// and an unknown price — so its cost is unknown, never zero.
public struct ModelCatalog: Sendable {
    public struct Entry: Sendable, Equatable {
        public var id: String
        public var provider: String
        public var model: String
        public var capabilities: ModelCapabilities
        public var price: ModelPrice?
        /// True when the catalog lists the model (rather than falling back to provider defaults).
        public var isKnown: Bool
    }

    public private(set) var entries: [String: Entry] = [:]
    var providerDefaults: [String: (ModelCapabilities, ModelPrice?)] = [:]

    public static let builtin: ModelCatalog = {
        do { return try ModelCatalog(json: JSONParser.parse(builtinJSON)) } catch {
            fatalError("the built-in model catalog is invalid: \(error)")  // guarded by a test
        }
    }()

    public init(json: JSONValue) throws(CatalogError) {
        guard let providers = json["providers"]?.objectValue, let models = json["models"]?.objectValue else {
            throw CatalogError(message: "a model catalog needs 'providers' and 'models' objects")
        }
        for (name, p) in providers {
            providerDefaults[name] = (Self.capabilities(p, base: ModelCapabilities()), try Self.price(p["price"], name))
        }
        for (id, m) in models {
            guard let slash = id.firstIndex(of: "/") else { throw CatalogError(message: "'\(id)' is not provider/model") }
            let provider = String(id[..<slash])
            guard let (caps, defaultPrice) = providerDefaults[provider] else {
                throw CatalogError(message: "'\(id)' names provider '\(provider)', which the catalog does not list")
            }
            var c = Self.capabilities(m, base: caps)
            c.contextWindow = m["context_window"]?.numberValue.map { Int($0) }
            entries[id] = Entry(
                id: id, provider: provider, model: String(id[id.index(after: slash)...]), capabilities: c,
                price: try Self.price(m["price"], id) ?? defaultPrice, isKnown: true)
        }
    }

    public struct CatalogError: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    static func capabilities(_ j: JSONValue, base: ModelCapabilities) -> ModelCapabilities {
        var c = base
        if let b = j["json_mode"]?.boolValue { c.jsonMode = b }
        if let b = j["structured_output"]?.boolValue { c.structuredOutput = b }
        if let b = j["tools"]?.boolValue { c.tools = b }
        if let b = j["vision"]?.boolValue { c.vision = b }
        if let b = j["streaming"]?.boolValue { c.streaming = b }
        if let b = j["reasoning"]?.boolValue { c.reasoning = b }
        if j["embedding"]?.boolValue == true {
            c.embedding = true
            c.embeddingDimensions = j["dimensions"]?.int
            (c.jsonMode, c.structuredOutput, c.tools, c.vision, c.streaming) = (false, false, false, false, false)
        }
        return c
    }

    static func price(_ j: JSONValue?, _ what: String) throws(CatalogError) -> ModelPrice? {
        guard let j else { return nil }
        guard let input = j["input"]?.numberValue, let output = j["output"]?.numberValue, input >= 0, output >= 0 else {
            throw CatalogError(message: "the price of '\(what)' needs non-negative 'input' and 'output'")
        }
        return ModelPrice(input: input, output: output, cachedInput: j["cached_input"]?.numberValue)
    }

    /// The entry for a model, or the provider's defaults (unknown price unless the provider is
    /// self-hosted) for a model the catalog does not list. Nil for an unknown provider.
    public func entry(for id: String) -> Entry? {
        if let e = entries[id] { return e }
        guard let slash = id.firstIndex(of: "/") else { return nil }
        let provider = String(id[..<slash])
        guard var (caps, price) = providerDefaults[provider] else { return nil }
        caps.isKnown = false
        return Entry(id: id, provider: provider, model: String(id[id.index(after: slash)...]), capabilities: caps, price: price, isKnown: false)
    }

    /// The same catalog with some prices replaced (from a workflow or a config file).
    public func overriding(prices: [String: ModelPrice]) -> ModelCatalog {
        var copy = self
        for (id, price) in prices {
            if var e = copy.entry(for: id) { e.price = price; copy.entries[id] = e }
        }
        return copy
    }

    /// The cost of a call, or nil when the price is unknown.
    public func cost(of usage: Usage, model id: String) -> Double? {
        entry(for: id)?.price?.cost(of: usage)
    }

    public var sortedEntries: [Entry] { entries.values.sorted { $0.id < $1.id } }
}
