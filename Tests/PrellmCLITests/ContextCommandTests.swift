import Foundation
import Prellm
import PrellmCLI
import PrellmMemory
import PrellmSchema
import ProviderStandIn
import Testing

/// `prellm context` against a real embeddings endpoint (the OpenAI stand-in over loopback) and
/// a real SQLite file: add files, list, show, search by meaning, refuse another model, remove.
@Suite struct ContextCommandTests {
    static let conventions = """
        # Team conventions

        ## Testing
        Tests use pytest; one test file per module, named test_module.py.

        ## Deploys
        Deploys go out on weekdays before 15:00 CET, never on Fridays.
        """
    static let stack = "language: python 3.12\nlinters:\n  - ruff\n  - mypy\nlocale: pl_PL, Gdansk office\n"

    /// A new empty folder for one test's files and store.
    static func folder() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("prellm-context-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test func addSearchShowAndRemove() async throws {
        let standIn = try ScriptedStandIn(["text-embedding-3-small": [Reply.wordEmbeddings(dimensions: 256)]])
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let md = dir.appendingPathComponent("conventions.md").path, yaml = dir.appendingPathComponent("stack.yaml").path
        try Self.conventions.write(toFile: md, atomically: true, encoding: .utf8)
        try Self.stack.write(toFile: yaml, atomically: true, encoding: .utf8)
        let env = ["OPENAI_BASE_URL": standIn.baseURL, "OPENAI_API_KEY": "sk-test", "PRELLM_HOME": dir.appendingPathComponent("home").path]
        func run(_ action: ContextOptions.Action, embed: String? = nil, json: Bool = false) async -> CommandOutput {
            await ContextCommand.run(ContextOptions(action: action, embed: embed, json: json), environment: env)
        }

        // A new context needs a model.
        let unnamed = await run(.add(name: "gdansk", files: [md]))
        #expect(unnamed.exitCode == 2 && unnamed.stderr.contains("say which model embeds context 'gdansk'"), "\(unnamed.stderr)")
        let added = await run(.add(name: "gdansk", files: [md, yaml]), embed: "openai/text-embedding-3-small")
        #expect(added.exitCode == 0, "\(added.stderr)")
        #expect(added.stdout.hasPrefix("added 4 chunks from 2 files to 'gdansk' (openai/text-embedding-3-small, 256 dimensions"), "\(added.stdout)")
        // The default store is under PRELLM_HOME.
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("home/contexts.sqlite").path))

        let found = await run(.search(name: "gdansk", query: "are deploys allowed on Fridays?", topK: 1), json: true)
        let hit = try JSONParser.parse(found.stdout)[0]
        #expect(hit?["source"] == .string(md) && hit?["lines"] == .array([.number(6), .number(7)]), "\(found.stdout)\(found.stderr)")
        #expect(hit?["text"]?.stringValue?.hasPrefix("## Deploys") == true)
        let linters = await run(.search(name: "gdansk", query: "ruff or mypy linters", topK: 2))
        #expect(linters.stdout.contains("stack.yaml:1-5") || linters.stdout.contains("stack.yaml:2-4"), "\(linters.stdout)")

        // Adding with another model is refused; the context keeps its own.
        let mixed = await run(.add(name: "gdansk", files: [yaml]), embed: "ollama/nomic-embed-text")
        #expect(
            mixed.exitCode != 0
                && mixed.stderr.contains("holds vectors of openai/text-embedding-3-small; --embed ollama/nomic-embed-text would mix models"),
            "\(mixed.stderr)")
        let more = await run(.add(name: "gdansk", files: [yaml]))
        #expect(more.exitCode == 0, "\(more.stderr)")

        let listed = await run(.list)
        #expect(listed.stdout == "gdansk  5 chunks from 2 files  openai/text-embedding-3-small (256)\n", "\(listed.stdout)")
        let shown = await run(.show(name: "gdansk"))
        #expect(shown.stdout.contains("conventions.md:1\n    # Team conventions"), "\(shown.stdout)")
        let missing = await run(.search(name: "gdnask", query: "x", topK: 1))
        #expect(missing.exitCode == 1 && missing.stderr.contains("no context named 'gdnask'; contexts: gdansk"), "\(missing.stderr)")
        #expect(await run(.remove(name: "gdansk")).stdout == "removed context 'gdansk'\n")
        #expect(await run(.list).stdout.hasPrefix("no contexts yet"))
        // Every request carried the key, none of it reached the output.
        #expect(!(added.stdout + added.stderr + listed.stdout).contains("sk-test"))
    }

    @Test func filesAreCheckedBeforeAnythingIsEmbedded() async throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let env = ["PRELLM_HOME": dir.path]
        let png = dir.appendingPathComponent("logo.png").path
        try "x".write(toFile: png, atomically: true, encoding: .utf8)
        let options = { (files: [String]) in ContextOptions(action: .add(name: "t", files: files), embed: "openai/text-embedding-3-small") }
        let wrongFormat = await ContextCommand.run(options([png]), environment: env)
        #expect(wrongFormat.exitCode == 2 && wrongFormat.stderr.contains("logo.png: not a format contexts take"), "\(wrongFormat.stderr)")
        let absent = await ContextCommand.run(options([dir.appendingPathComponent("none.md").path]), environment: env)
        #expect(absent.stderr.contains("none.md: no such file"), "\(absent.stderr)")
        let badName = await ContextCommand.run(ContextOptions(action: .add(name: "../x", files: [png])), environment: env)
        #expect(badName.stderr.contains("'../x' is not a context name"), "\(badName.stderr)")
    }

    /// `memory:` in a config names the model for new contexts and the store, beside the config.
    @Test func theConfigSaysWhichModelAndWhere() async throws {
        let standIn = try ScriptedStandIn(["text-embedding-3-small": [Reply.wordEmbeddings(dimensions: 32)]])
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("prellm.yaml").path, notes = dir.appendingPathComponent("notes.txt").path
        try "prellm: 1\nmemory: {embed: openai/text-embedding-3-small, store: ctx/contexts.sqlite}\n".write(
            toFile: config, atomically: true, encoding: .utf8)
        try "We deploy with Argo CD.\n".write(toFile: notes, atomically: true, encoding: .utf8)
        let env = ["OPENAI_BASE_URL": standIn.baseURL, "OPENAI_API_KEY": "sk-test", "PRELLM_HOME": dir.appendingPathComponent("home").path]
        let out = await ContextCommand.run(ContextOptions(action: .add(name: "ops", files: [notes]), config: config), environment: env)
        #expect(out.exitCode == 0 && out.stdout.contains("(openai/text-embedding-3-small, 32 dimensions"), "\(out.stdout)\(out.stderr)")
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("ctx/contexts.sqlite").path))

        try "prellm: 1\nmemory: {embd: openai/text-embedding-3-small}\n".write(toFile: config, atomically: true, encoding: .utf8)
        let typo = await ContextCommand.run(ContextOptions(action: .list, config: config), environment: env)
        #expect(typo.exitCode == 2 && typo.stderr.contains("embd"), "\(typo.stderr)")
    }

    static let workedExample = LintCommandTests.root.appendingPathComponent("workflows/refactor-with-conventions.yaml").path

    /// Where the worked example's two chat models are answered: the stand-in, in Ollama's and OpenAI's formats.
    func ollamaAndOpenAI(_ standIn: ScriptedStandIn) -> [String: String] {
        ["OLLAMA_HOST": standIn.baseURL, "OPENAI_BASE_URL": standIn.baseURL + "/v1"]
    }

    static let plan = #"{"intent": "deploy", "target": "prod", "constraints": ["never on Fridays"], "missing": []}"#

    /// `prellm "…" --context NAME`: the structure strategy recalls from the context the
    /// `prellm context` commands made; a missing one is named with those that exist.
    @Test func theOneShotRecallsFromANamedContext() async throws {
        let standIn = try ScriptedStandIn([
            "text-embedding-3-small": [Reply.wordEmbeddings(dimensions: 256)],
            "tiny": [Reply.ollama(Self.plan)], "gpt-4o-mini": [Reply.openAI("Wait for Monday.")],
        ])
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let md = dir.appendingPathComponent("conventions.md").path
        try Self.conventions.write(toFile: md, atomically: true, encoding: .utf8)
        let env = ["OPENAI_BASE_URL": standIn.baseURL + "/v1", "OPENAI_API_KEY": "sk-test", "OLLAMA_HOST": standIn.baseURL, "PRELLM_HOME": dir.path]
        let added = await ContextCommand.run(
            ContextOptions(action: .add(name: "ops", files: [md]), embed: "openai/text-embedding-3-small"), environment: env)
        #expect(added.exitCode == 0, "\(added.stderr)")
        func ask(_ context: String, strategy: Prellm.Strategy = .structure) async -> CommandOutput {
            await AskCommand.run(
                AskOptions(
                    query: "can we deploy on Friday?", small: "ollama/tiny", large: "openai/gpt-4o-mini", strategy: strategy, context: context,
                    run: RunOptions(file: "", json: true, noCache: true)),
                environment: env, write: { _ in }, progress: { _ in })
        }
        let out = await ask("ops")
        #expect(out.exitCode == 0 && out.stdout.contains("Wait for Monday."), "\(out.stdout)\(out.stderr)")
        let large = standIn.requests.last { $0.path == "/v1/chat/completions" }?.bodyText ?? ""
        #expect(large.contains("never on Fridays"), "\(large)")

        let sent = standIn.requests.count
        let missing = await ask("opz")
        #expect(missing.exitCode == 1 && missing.stderr.contains("no context named 'opz'; contexts: ops"), "\(missing.stderr)")
        #expect(standIn.requests.count == sent, "nothing is sent for a context that is not there")
        let split = await ask("ops", strategy: .split)
        #expect(split.exitCode == 2 && split.stderr.contains("--context is for the structure and enrich strategies"), "\(split.stderr)")
    }

    /// The same commands with the contexts in a real ChromaDB server, named by the config, and
    /// a run that recalls from it.
    @Test func aChromaStoreFromTheConfig() async throws {
        guard let chroma = try await ChromaServer.database() else { return }
        let standIn = try ScriptedStandIn([
            "text-embedding-3-small": [Reply.wordEmbeddings(dimensions: 256)],
            "qwen2.5-coder:7b": [Reply.ollama(Self.plan)], "gpt-4o": [Reply.openAI("Not on a Friday.")],
        ])
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("prellm.yaml").path, md = dir.appendingPathComponent("conventions.md").path
        try "prellm: 1\nmemory:\n  embed: openai/text-embedding-3-small\n  store: {chroma: \"\(chroma.url)\", database: \(chroma.database)}\n".write(
            toFile: config, atomically: true, encoding: .utf8)
        try Self.conventions.write(toFile: md, atomically: true, encoding: .utf8)
        let env = ["OPENAI_BASE_URL": standIn.baseURL, "OPENAI_API_KEY": "sk-test", "PRELLM_HOME": dir.path]
        func run(_ action: ContextOptions.Action) async -> CommandOutput {
            await ContextCommand.run(ContextOptions(action: action, config: config, json: true), environment: env)
        }
        let added = await run(.add(name: "gdansk", files: [md]))
        #expect(added.exitCode == 0, "\(added.stderr)")
        let found = await run(.search(name: "gdansk", query: "are deploys allowed on Fridays?", topK: 1))
        let hit = try JSONParser.parse(found.stdout)[0]
        #expect(hit?["text"]?.stringValue?.hasPrefix("## Deploys") == true, "\(found.stdout)\(found.stderr)")
        #expect(await run(.list).stdout.contains(#""name":"gdansk""#))
        // prellm run recalls from the same server: the worked example, its context named.
        let recalled = await RunCommand.run(
            RunOptions(
                file: Self.workedExample, inputs: ["request=may I deploy on Fridays?", "code=deploy()", "context=gdansk"], json: true,
                noCache: true, config: config),
            environment: env.merging(ollamaAndOpenAI(standIn)) { a, _ in a }, write: { _ in }, progress: { _ in })
        #expect(recalled.exitCode == 0, "\(recalled.stderr)")
        let steps = try JSONParser.parse(recalled.stdout)["steps"]?.arrayValue ?? []
        let chunk = steps.first?["output"]?["chunks"]?[0]?["text"]?.stringValue ?? ""
        #expect(chunk.hasPrefix("## Deploys"), "\(recalled.stdout)")
        // Nothing went to the embedded store.
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("contexts.sqlite").path))
        #expect(await run(.remove(name: "gdansk")).exitCode == 0)
    }
}
