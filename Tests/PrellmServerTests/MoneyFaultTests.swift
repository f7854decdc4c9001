import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PrellmCompiler
import PrellmSchema
import PrellmServer
import ProviderStandIn
import Testing

/// A key's budget holds against upstreams that misreport usage, tokenizers that count more
/// than an estimate, and aliases that price one model two ways.
@Suite struct MoneyFaultTests {
    static let key = "pk-money-test-0123456789"

    func gateway(_ standIn: ScriptedStandIn, models: String, limits: String, store: String) throws -> Gateway {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("prellm-money-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("prellm.yaml").path
        try """
        prellm: 1
        models:
        \(models)
        keys:
          - {id: team, hash: "sha256:\(SHA256.hex(Self.key))", \(limits)}
        store: {path: \(store)}
        """.write(toFile: path, atomically: true, encoding: .utf8)
        let result = WorkflowCompiler().compile(path: path)
        #expect(!result.hasErrors, "\(result.diagnostics)")
        return try Gateway(config: try #require(result.config), environment: standIn.environment)
    }

    static func storePath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("prellm-money-\(UUID().uuidString).sqlite").path
    }

    /// Sends `body` until the key is refused or `times` requests were made; the statuses.
    func spend(_ app: some ApplicationProtocol, model: String, prompt: String, times: Int) async throws -> [HTTPResponse.Status] {
        try await app.test(.router) { client in
            var statuses: [HTTPResponse.Status] = []
            for _ in 0..<times {
                let body = #"{"model": "\#(model)", "messages": [{"role": "user", "content": \#(JSONValue.string(prompt).jsonText)}]}"#
                let r = try await client.execute(
                    uri: "/v1/chat/completions", method: .post,
                    headers: [.contentType: "application/json", .authorization: "Bearer \(Self.key)"], body: ByteBuffer(string: body))
                statuses.append(r.status)
                if r.status == .forbidden { break }
            }
            return statuses
        }
    }

    func spent(_ store: String) async throws -> Double {
        let (day, month) = UsagePeriod.of(Date())
        return try await SQLiteGatewayStore(path: store).spent(key: "team", day: day, month: month).day
    }

    /// An upstream reporting −1,000,000 tokens drove a ledger to −$3,000, after which a small
    /// key was admitted every time. Now the report is refused and the call charged its worst case.
    @Test func negativeUsageIsRefusedAndChargedAtTheWorstCase() async throws {
        let standIn = try ScriptedStandIn(["gpt-4o-mini": [Reply.openAI("ok", promptTokens: -1_000_000, completionTokens: 5)]])
        let store = Self.storePath()
        let app = Application(
            router: try gateway(
                standIn, models: "  fast: {use: openai/gpt-4o-mini, max_tokens: 100, price: {input: 1000, output: 1000}}",
                limits: "usd_per_day: 1", store: store
            ).makeRouter())
        let statuses = try await spend(app, model: "fast", prompt: "Hi", times: 40)
        #expect(!statuses.contains(.ok), "an answer with impossible usage is not passed on: \(statuses)")
        #expect(statuses.last == .forbidden, "the key ran out: \(statuses)")
        let total = try await spent(store)
        #expect(total > 0 && total <= 1, "spent \(total)")
    }

    /// 1,000 one-letter words: 1,999 bytes, counted as 1,999 tokens upstream (a letter and a
    /// space each). A bytes/4 estimate reserved 500 a call; the reservation is now a bound (no
    /// tokenizer makes a token of less than a byte), so the key cannot go past its budget.
    @Test func aPromptCountedAboveTheOldEstimateDoesNotOverspend() async throws {
        let prompt = Array(repeating: "a", count: 1000).joined(separator: " ")
        let standIn = try ScriptedStandIn(["gpt-4o-mini": [Reply.openAI("ok", promptTokens: 1999, completionTokens: 10)]])
        let store = Self.storePath()
        let app = Application(
            router: try gateway(
                standIn, models: "  fast: {use: openai/gpt-4o-mini, max_tokens: 10, price: {input: 130, output: 130}}",
                limits: "usd_per_day: 1", store: store
            ).makeRouter())
        let statuses = try await spend(app, model: "fast", prompt: prompt, times: 20)
        #expect(statuses.last == .forbidden, "\(statuses)")
        let total = try await spent(store)
        #expect(total <= 1.0, "a $1.00 key spent \(total)")
    }

    /// Two aliases on one model id, priced 1 $/M and 1,000 $/M, in either order in the file:
    /// each request is reserved and billed at the price of the alias it named.
    @Test(arguments: [("cheap", 1.0), ("dear", 1000.0)], [false, true])
    func eachAliasIsBilledAtItsOwnPrice(alias: (name: String, price: Double), dearFirst: Bool) async throws {
        let standIn = try ScriptedStandIn(["gpt-4o-mini": [Reply.openAI("ok", promptTokens: 11, completionTokens: 10)]])
        let store = Self.storePath()
        let cheap = "  cheap: {use: openai/gpt-4o-mini, max_tokens: 10, price: {input: 1, output: 1}}"
        let dear = "  dear: {use: openai/gpt-4o-mini, max_tokens: 10, price: {input: 1000, output: 1000}}"
        let app = Application(
            router: try gateway(
                standIn, models: dearFirst ? dear + "\n" + cheap : cheap + "\n" + dear, limits: "usd_per_day: 1", store: store
            ).makeRouter())
        let statuses = try await spend(app, model: alias.name, prompt: "Hi", times: 1)
        #expect(statuses == [.ok])
        let total = try await spent(store)
        let expected = 21 * alias.price / 1e6
        #expect(abs(total - expected) < 1e-12, "billed \(total), not 21 tokens at $\(alias.price)/M")
    }

    /// Embeddings too: a negative usage report is refused and charged the reservation's worst
    /// case (6 tokens for "hello": 5 bytes and 1), at the alias's price.
    @Test func negativeEmbeddingUsageIsRefusedAndChargedAtTheWorstCase() async throws {
        let standIn = try ScriptedStandIn(["text-embedding-3-small": [Reply.openAIEmbeddings(dimensions: 3, promptTokens: -5)]])
        let store = Self.storePath()
        let app = Application(
            router: try gateway(
                standIn, models: "  embed: {use: openai/text-embedding-3-small, price: {input: 1000, output: 0}}",
                limits: "usd_per_day: 1", store: store
            ).makeRouter())
        let status = try await app.test(.router) { client in
            try await client.execute(
                uri: "/v1/embeddings", method: .post,
                headers: [.contentType: "application/json", .authorization: "Bearer \(Self.key)"],
                body: ByteBuffer(string: #"{"model": "embed", "input": "hello"}"#)
            ).status
        }
        #expect(status == .badGateway)
        let total = try await spent(store)
        #expect(abs(total - 6 * 1000 / 1e6) < 1e-12, "charged \(total)")
    }
}
