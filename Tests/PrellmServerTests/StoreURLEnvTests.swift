import Foundation
import PrellmCompiler
import PrellmServer
import PrellmSyntax
import Testing

/// `store: {url_env: VAR}`: the PostgreSQL URL, password and all, from the environment.
@Suite struct StoreURLEnvTests {
    static func config(_ store: String) -> CompileResult {
        WorkflowCompiler().compile(source: Source(path: "/tmp/prellm-test/prellm.yaml", text: "prellm: 1\nserver: {}\nstore: \(store)\n"))
    }

    @Test func theVariableHoldsTheURL() async throws {
        let config = try #require(Self.config("{url_env: PRELLM_STORE_URL}").config)
        #expect(config.storeURLEnv == "PRELLM_STORE_URL")
        do {
            _ = try await Gateway.openStore(config, environment: [:])
            Issue.record("an unset variable was accepted")
        } catch {
            #expect(error.message == "store.url_env names PRELLM_STORE_URL, which is not set")
        }
        // A value that is not a PostgreSQL URL is refused without being quoted (it may hold a password).
        do {
            _ = try await Gateway.openStore(config, environment: ["PRELLM_STORE_URL": "mysql://root:hunter2@db/x"])
            Issue.record("a MySQL URL was accepted")
        } catch {
            #expect(!error.message.contains("hunter2") && error.message.contains("must hold a PostgreSQL URL"))
        }
        guard let server = try await PostgresServer.available() else { return }
        let store = try await Gateway.openStore(config, environment: ["PRELLM_STORE_URL": try server.database()])
        #expect(await store.isReachable())
    }

    @Test func oneWayToNameTheStore() {
        let both = Self.config("{url: \"postgres://a@b/c\", url_env: X}")
        #expect(both.diagnostics.map(\.message) == ["give one of 'path', 'url' and 'url_env'"])
        let bad = Self.config("{url_env: \"not a name\"}")
        #expect(bad.diagnostics.first?.message.hasPrefix("'url_env' names an environment variable") == true)
    }
}
