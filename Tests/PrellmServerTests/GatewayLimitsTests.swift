import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PrellmCompiler
import PrellmHTTP
import PrellmSchema
import PrellmServer
import ProviderStandIn
import Testing

@Suite struct GatewayLimitsTests {
    static let key = "pk-limits-test-0123456789"

    func gateway(_ standIn: ScriptedStandIn, limits: String, store: String, workflow: String? = nil) throws -> Gateway {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("prellm-lim-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("prellm.yaml").path
        if let workflow { try workflow.write(toFile: dir.appendingPathComponent("strict.yaml").path, atomically: true, encoding: .utf8) }
        try """
        prellm: 1
        \(workflow == nil ? "" : "workflows: [\(dir.path)/strict.yaml]")
        models:
          fast: {use: openai/gpt-4o-mini, max_tokens: 100}
        keys:
          - {id: team, hash: "sha256:\(SHA256.hex(Self.key))", \(limits)}
        store: {path: \(store)}
        """.write(toFile: path, atomically: true, encoding: .utf8)
        let result = WorkflowCompiler().compile(path: path)
        let config = try #require(result.config)
        #expect(!result.hasErrors, "\(result.diagnostics)")
        return try Gateway(config: config, environment: standIn.environment)
    }

    static func storePath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("prellm-store-\(UUID().uuidString).sqlite").path
    }

    func post(_ client: some TestClientProtocol) async throws -> TestResponse {
        try await client.execute(
            uri: "/v1/chat/completions", method: .post,
            headers: [.contentType: "application/json", .authorization: "Bearer \(Self.key)"],
            body: ByteBuffer(string: #"{"model": "fast", "messages": [{"role": "user", "content": "Hi"}]}"#))
    }

    func postWorkflow(_ client: some TestClientProtocol) async throws -> TestResponse {
        try await client.execute(
            uri: "/v1/chat/completions", method: .post,
            headers: [.contentType: "application/json", .authorization: "Bearer \(Self.key)"],
            body: ByteBuffer(string: #"{"model": "workflow/strict", "messages": [{"role": "user", "content": "Hi"}]}"#))
    }

    /// $0.15 / $0.60 per million tokens; each request reserves its bound, three attempts (the
    /// call and two retries) of 5 prompt + 100 output tokens ≈ $0.00018, and really costs 1 + 100
    /// tokens ≈ $0.00006. A $0.0006 daily budget holds at most nine such requests.
    @Test func aBudgetHoldsUnder100ConcurrentRequests() async throws {
        let standIn = try ScriptedStandIn(["gpt-4o-mini": [Reply.openAI("ok", promptTokens: 1, completionTokens: 100)]])
        let store = Self.storePath()
        let app = Application(router: try gateway(standIn, limits: "usd_per_day: 0.0006", store: store).makeRouter())
        // Real sockets, many at once: the libcurl client opens up to 64 connections to the gateway,
        // so requests really are admitted concurrently (the test client has one channel).
        let all = try await app.test(.live) { client in
            let url = "http://127.0.0.1:\(try #require(client.port))/v1/chat/completions"
            let http = PrellmHTTP.HTTPClient(maxConnectionsPerHost: 64)
            return try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for _ in 0..<100 {
                    group.addTask {
                        let r = try await http.send(
                            PrellmHTTP.HTTPRequest(
                                url: url, headers: [("content-type", "application/json"), ("authorization", "Bearer \(Self.key)")],
                                body: Array(#"{"model": "fast", "messages": [{"role": "user", "content": "Hi"}]}"#.utf8)))
                        return (r.head.status, String(decoding: r.body, as: UTF8.self))
                    }
                }
                var out: [Int] = []
                for try await (status, body) in group {
                    out.append(status)
                    if status == 403 { #expect(body.contains("would exceed its daily budget of $0.0006")) }
                }
                return out
            }
        }
        let ok = all.filter { $0 == 200 }.count
        #expect(ok >= 1 && ok <= 9, "\(ok) requests were admitted")
        #expect(all.filter { $0 == 403 }.count == 100 - ok)
        #expect(standIn.requests.count == ok)
        let (day, month) = UsagePeriod.of(Date())
        let spent = try await SQLiteGatewayStore(path: store).spent(key: "team", day: day, month: month)
        #expect(spent.day <= 0.0006)
        #expect(spent.day > 0)
    }

    /// A workflow that fails after paying for its calls is charged for them: a failed request
    /// is not a free one.
    @Test func aFailedWorkflowIsChargedForItsCalls() async throws {
        let standIn = try ScriptedStandIn(["gpt-4o-mini": [Reply.openAI("not a number", promptTokens: 1000, completionTokens: 100)]])
        let store = Self.storePath()
        let workflow = """
            prellm: 1
            inputs: {query: {type: string}}
            models: {m: {use: openai/gpt-4o-mini, max_tokens: 100}}
            contracts:
              answer: {type: object, required: [n], properties: {n: {type: integer}}}
            steps:
              - id: ask
                call: {model: m, prompt: "{{ inputs.query }}", output: answer}
            output: "{{ ask.n }}"
            """
        let app = Application(router: try gateway(standIn, limits: "usd_per_day: 1", store: store, workflow: workflow).makeRouter())
        try await app.test(.live) { client in
            let r = try await postWorkflow(client)
            #expect(r.status == .badGateway, "\(String(buffer: r.body))")
        }
        let calls = standIn.requests.count
        #expect(calls >= 1)
        let (day, month) = UsagePeriod.of(Date())
        let spent = try await SQLiteGatewayStore(path: store).spent(key: "team", day: day, month: month)
        // $0.15 / $0.60 per million: 1,000 in + 100 out is $0.00021 a call.
        #expect(abs(spent.day - Double(calls) * 0.00021) < 1e-9, "\(spent.day) for \(calls) calls")
    }

    /// A workflow request reserves its program's bound: one that could cost more than the key
    /// has left is refused before any call, even if its calls would have been cheap.
    @Test func aWorkflowIsReservedAtItsBound() async throws {
        let standIn = try ScriptedStandIn(["gpt-4o-mini": [Reply.openAI("ok", promptTokens: 1, completionTokens: 1)]])
        let workflow = """
            prellm: 1
            inputs: {query: {type: string}}
            models: {m: {use: openai/gpt-4o-mini, max_tokens: 1000}}
            steps:
              - id: ask
                call: {model: m, prompt: "{{ inputs.query }}"}
                retry: 4
            """
        // Five attempts of up to 1,000 output tokens at $0.60 per million: $0.003 and a little.
        let app = Application(router: try gateway(standIn, limits: "usd_per_day: 0.002", store: Self.storePath(), workflow: workflow).makeRouter())
        try await app.test(.router) { client in
            let r = try await postWorkflow(client)
            #expect(r.status == .forbidden)
            #expect(String(buffer: r.body).contains("would exceed its daily budget of $0.002"), "\(String(buffer: r.body))")
        }
        #expect(standIn.requests.isEmpty)
    }

    /// A workflow whose cost has no bound cannot be used by a key with a budget.
    @Test func anUnboundedWorkflowIsRefusedToAKeyWithABudget() async throws {
        let standIn = try ScriptedStandIn(["gpt-4o-mini": [Reply.openAI(#"{"tasks": ["a", "b"]}"#)]])
        let workflow = """
            prellm: 1
            inputs: {query: {type: string}}
            models: {m: {use: openai/gpt-4o-mini, max_tokens: 100}}
            contracts:
              Plan: {type: object, required: [tasks], properties: {tasks: {type: array, items: {type: string}}}}
            steps:
              - id: plan
                extract: {model: m, text: "{{ inputs.query }}", into: Plan}
              - id: each
                map:
                  over: "{{ plan.tasks }}"
                  step:
                    call: {model: m, prompt: "{{ item }}"}
            """
        let app = Application(router: try gateway(standIn, limits: "usd_per_day: 1", store: Self.storePath(), workflow: workflow).makeRouter())
        try await app.test(.router) { client in
            let r = try await postWorkflow(client)
            #expect(r.status == .forbidden)
            #expect(String(buffer: r.body).contains("has no bound on its cost"), "\(String(buffer: r.body))")
        }
        #expect(standIn.requests.isEmpty)
    }

    /// Two requests a minute, or 250 tokens a minute when each request counts 5 + 100 tokens (its
    /// prompt's estimate and `max_tokens`): either way the third is refused.
    @Test(arguments: [
        ("rpm: 2", "over its rate limit of 2 requests per minute"),
        ("tpm: 250", "over its rate limit of 250 tokens per minute"),
    ])
    func rateLimits(limit: String, message: String) async throws {
        let standIn = try ScriptedStandIn(["gpt-4o-mini": [Reply.openAI("ok", promptTokens: 1, completionTokens: 100)]])
        let app = Application(router: try gateway(standIn, limits: limit, store: Self.storePath()).makeRouter())
        // The three requests must fall in one UTC minute (the windows are whole minutes): on a
        // loaded machine the test takes seconds, so it does not start near a minute's end.
        while RateWindow.secondsLeft(Date()) < 20 { try await Task.sleep(for: .milliseconds(500)) }
        try await app.test(.live) { client in
            #expect(try await post(client).status == .ok)
            #expect(try await post(client).status == .ok)
            let third = try await post(client)
            #expect(third.status == .tooManyRequests)
            #expect(third.headers[.retryAfter] != nil)
            #expect(String(buffer: third.body).contains(message))
        }
        #expect(standIn.requests.count == 2)
    }

    @Test func spendSurvivesARestart() async throws {
        let standIn = try ScriptedStandIn(["gpt-4o-mini": [Reply.openAI("ok", promptTokens: 1, completionTokens: 100)]])
        let store = Self.storePath()
        // A call is reserved at its bound, every attempt it may take (one model, two retries): $0.00018;
        // it is settled at what it used, $0.00006. The second then no longer fits.
        let limits = "usd_per_month: 0.0002"
        try await Application(router: try gateway(standIn, limits: limits, store: store).makeRouter()).test(.router) { client in
            let r = try await post(client)
            #expect(r.status == .ok)
        }
        // A new gateway on the same store: the month's spend is still there.
        try await Application(router: try gateway(standIn, limits: limits, store: store).makeRouter()).test(.router) { client in
            let r = try await post(client)
            #expect(r.status == .forbidden)
            #expect(String(buffer: r.body).contains("monthly budget"))
        }
    }
}

@Suite struct KeyRevocationTests {
    @Test func aRevokedKeyStopsWorkingAtOnce() async throws {
        let standIn = try ScriptedStandIn(["gpt-4o-mini": [Reply.openAI("ok")]])
        let store = GatewayLimitsTests.storePath()
        let gateway = try GatewayLimitsTests().gateway(standIn, limits: "rpm: 100", store: store)
        try await Application(router: gateway.makeRouter()).test(.router) { client in
            let before = try await GatewayLimitsTests().post(client)
            #expect(before.status == .ok)
            #expect(try await SQLiteGatewayStore(path: store).revoke(key: "team"))
            // Another connection to the file revoked it, perhaps before the gateway's watch had
            // begun (it starts with the first request): the gateway hears of it within a second
            // on a quiet machine, and this waits longer, since the suites share two cores.
            let revoked = ContinuousClock.now
            var after = try await GatewayLimitsTests().post(client)
            while after.status == .ok, ContinuousClock.now - revoked < .seconds(30) {
                try await Task.sleep(for: .milliseconds(100))
                after = try await GatewayLimitsTests().post(client)
            }
            #expect(after.status == .unauthorized)
            #expect(String(buffer: after.body).contains("has been revoked"))
        }
    }
}
