import ArgumentParser
import Foundation
import Prellm
import PrellmCLI
import PrellmCommandLine
import PrellmCompiler
import PrellmLanguageServer
import PrellmServer
import PrellmSyntax
import PrellmTesting

extension DiagnosticReport.Format: ExpressibleByArgument {}
extension StepGraph.Format: ExpressibleByArgument {}
extension Prellm.Strategy: ExpressibleByArgument {}
extension TestReport.Format: ExpressibleByArgument {}
extension UsageCommand.Grouping: ExpressibleByArgument {}

struct Ask: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Preprocess a query with a small model and execute it with a large one (the default command).",
        discussion: """
            prellm "Deploy app to prod" --small ollama/qwen2.5:3b --large openai/gpt-4o-mini --strategy structure
            Strategies: classify, structure, split, enrich, passthrough (stdlib/strategies/). Exit codes as for run.
            """)
    @Argument(help: "The query.") var query: String
    @Option(help: "The small model, for preprocessing.") var small = "ollama/qwen2.5:3b"
    @Option(help: "The large model, for the answer.") var large = "openai/gpt-4o-mini"
    @Option(help: "classify, structure, split, enrich or passthrough.") var strategy: Prellm.Strategy = .structure
    @Option(help: "Context about the user or the task, given to the models, as literal text.") var userContext: String?
    @Option(help: "A named context to recall from (prellm context add), for the enrich and structure strategies.") var context: String?
    @Option(help: "A prellm.yaml: provider settings, and memory: (where contexts are kept).") var config: String?
    @Flag(help: "Print one JSON object with the output, steps, usage, cost and trace id.") var json = false
    @Option(help: "Write a JSONL trace to this file.") var trace: String?
    @Flag(help: "Print the plan with a bound on tokens and cost; send nothing.") var dryRun = false
    @Flag(help: "Do not reuse cached answers.") var noCache = false
    @Option(help: "Keep cached answers in this SQLite file, across runs.") var cacheFile: String?

    func validate() throws {
        // `prellm -- lnit` sends "lnit" as it is; without the separator it is taken for a typo.
        let commands = PrellmCommand.configuration.subcommands.map { $0._commandName }
        if let refusal = AskCommand.refusal(ofQuery: query, afterSeparator: CommandLine.arguments.contains("--"), commands: commands) {
            throw ValidationError(refusal)
        }
    }

    func run() async throws {
        var run = RunOptions(file: "", json: json, trace: trace, dryRun: dryRun, noCache: noCache)
        run.cacheFile = cacheFile
        run.config = config
        run.handleInterrupts = true
        run.interactive = isatty(STDERR_FILENO) == 1 && ProcessInfo.processInfo.environment["TERM"] != "dumb"
        let out = await AskCommand.run(
            AskOptions(query: query, small: small, large: large, strategy: strategy, userContext: userContext, context: context, run: run),
            environment: ProcessInfo.processInfo.environment,
            write: { FileHandle.standardOutput.write(Data($0.utf8)) },
            progress: { FileHandle.standardError.write(Data($0.utf8)) })
        finish(out)
    }
}

/// `prellm`, or `prellm-run` when started by that name: the release archive and the image ship
/// prellm-run as a link to this binary rather than a second copy of everything in it.
@main
enum Entry {
    static func main() async {
        if PrellmRunCommand.invoked { await PrellmRunCommand.main() } else { await PrellmCommand.main() }
    }
}

struct PrellmCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prellm",
        abstract: "Compile, check and run LLM workflows written in YAML.",
        discussion: """
            Exit codes: 0 success; 1 errors found (lint), invalid data (validate), the workflow failed (run), \
            the provider failed (call); 2 usage, I/O or compile error; 130 interrupted (run).
            """,
        version: PrellmVersion.full,
        subcommands: [
            Ask.self, Lint.self, Test.self, Graph.self, Validate.self, Run.self, Models.self, Call.self, Serve.self, Keys.self, Usage.self,
            Store.self, Lsp.self, Context.self,
        ],
        defaultSubcommand: Ask.self)
}

struct Lint: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check workflow files and report every problem with its position.",
        discussion: "Folders are searched recursively for *.yaml / *.yml files with a top-level 'prellm:' key.")

    @Argument(help: "Files or folders (default: the current folder).") var paths: [String] = []
    @Option(help: "Output format: text, json, github or sarif.") var format: DiagnosticReport.Format = .text
    @Flag(help: "Treat warnings as errors.") var warningsAsErrors = false
    @Option(help: "Files to compile at once (default: one per core).") var jobs: Int?
    @Option(help: "A config file whose own providers (providers: {gpu-a: {format: …}}) the workflows may name.") var config: String?

    func validate() throws {
        if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1") }
    }

    func run() throws {
        let color = format == .text && isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
        finish(
            LintCommand.run(
                .init(paths: paths, format: format, warningsAsErrors: warningsAsErrors, color: color, jobs: jobs, config: config)))
    }
}

struct Test: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the tests: blocks of workflow files (mocks, recorded answers, assertions).",
        discussion: """
            Folders are searched as for lint. Model steps without a mock are answered from the workflow's cassette \
            (<workflow>.cassette.jsonl); --record asks the real providers and writes it, --live asks them and writes nothing.
            Exit codes: 0 all passed, 1 some failed, 2 usage error, a workflow that does not compile, or a test that could not run.
            """)

    @Argument(help: "Files or folders (default: the current folder).") var paths: [String] = []
    @Option(help: "Run only the tests whose name contains this text.") var filter: String?
    @Option(help: "Output format: text, json, junit or github.") var format: TestReport.Format = .text
    @Flag(help: "Ask the real providers for unmocked steps and write the cassette.") var record = false
    @Flag(help: "Ask the real providers for unmocked steps; write nothing.") var live = false
    @Option(help: "ALIAS=provider/model[,provider/model…]: run each test once per model for that alias.") var models: [String] = []
    @Option(help: "Tests to run at once (default: two per core).") var jobs: Int?
    @Option(help: "A config file whose providers section applies.") var config: String?

    func validate() throws {
        if record && live { throw ValidationError("--record and --live exclude each other") }
        if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1") }
    }

    func run() async throws {
        var options = TestOptions(paths: paths)
        options.filter = filter
        options.format = format
        options.source = record ? .record : live ? .live : .replay
        options.models = models
        options.jobs = jobs
        options.config = config
        finish(await TestCommand.run(options, environment: ProcessInfo.processInfo.environment))
    }
}

struct Graph: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print a workflow's compiled step graph.")
    @Argument(help: "The workflow file.") var file: String
    @Option(help: "mermaid, dot or json.") var format: StepGraph.Format = .mermaid
    func run() throws { finish(GraphCommand.run(file: file, format: format)) }
}

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate JSON data against a JSON Schema 2020-12 contract.",
        discussion: "Exit codes: 0 all valid, 1 some invalid, 2 usage or I/O error.")
    @Option(help: "The schema (JSON, or YAML by extension).") var schema: String
    @Flag(help: "Validate each line of standard input; print one JSON result per line.") var jsonl = false
    @Argument(help: "JSON files to validate.") var files: [String] = []

    func run() throws {
        if jsonl {
            let lines = AnyIterator { readLine(strippingNewline: true) }
            finish(ValidateCommand.runLines(schema: schema, lines: lines) { print($0) })
        }
        finish(ValidateCommand.run(schema: schema, files: files))
    }
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a workflow (same as prellm-run).",
        discussion: "Exit codes: 0 done, 1 the workflow failed, 2 usage or compile error, 130 interrupted.")
    @OptionGroup var options: RunArguments
    func run() async throws { finish(await options.execute()) }
}

struct Lsp: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the Language Server Protocol over stdio, for editors: the compiler's diagnostics as you type.")
    func run() throws {
        // An editor that went away must not kill the server with SIGPIPE mid-write.
        signal(SIGPIPE, SIG_IGN)
        Foundation.exit(LanguageServer(version: PrellmVersion.current).run())
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve configured models and workflows as an OpenAI-compatible API.",
        discussion: "Endpoints: \(Gateway.endpoints.joined(separator: ", ")). One JSON log line per request on stderr.")
    @Option(help: "The config file (optional with --model or --workflow: without it every setting is at its default).")
    var config: String?
    @Option(help: "Serve a model under a name: NAME=PROVIDER/MODEL, e.g. fast=openai/gpt-4o-mini (repeatable).") var model: [String] = []
    @Option(help: "Serve a workflow file as workflow/NAME (repeatable).") var workflow: [String] = []
    @Option(help: "Listen on this address (default: PRELLM_HOST, else the config's server.host, else 127.0.0.1).") var host: String?
    @Option(help: "Listen on this port (default: PRELLM_PORT, else the config's server.port, else 4000).") var port: Int?
    @Flag(help: "Reload when the config, a served workflow or a provider key file changes (SIGHUP always reloads).") var watch = false
    func run() async throws {
        // A log reader that went away must not kill the gateway (a write then fails instead).
        signal(SIGPIPE, SIG_IGN)
        Gateway.runTasksOnEventLoops()
        // Written from a thread of its own: a slow reader of stderr must not stall requests.
        let log = LogWriter(fd: 2)
        let out = await ServeCommand.run(
            config: config ?? "prellm.yaml", configGiven: config != nil, host: host, port: port, models: model, workflows: workflow,
            watch: watch, environment: ProcessInfo.processInfo.environment, log: log.write)
        log.flush()
        finish(out)
    }
}

/// The options every `prellm context` subcommand shares.
struct ContextStoreOptions: ParsableArguments {
    @Option(
        help: "The SQLite file contexts are kept in (default: memory.store of --config, else $PRELLM_HOME/contexts.sqlite, ~/.prellm by default).")
    var store: String?
    @Option(help: "A config file: its memory: (embed, store) and providers: sections.") var config: String?
    @Flag(help: "Print JSON.") var json = false

    func run(_ action: ContextOptions.Action, embed: String? = nil) async -> Never {
        let options = ContextOptions(action: action, embed: embed, store: store, config: config, json: json)
        finish(await ContextCommand.run(options, environment: ProcessInfo.processInfo.environment))
    }
}

struct Context: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Named user contexts: your files, split into chunks and embedded, for workflows to recall from by meaning.",
        discussion: """
            prellm context add team docs/conventions.md stack.yaml --embed openai/text-embedding-3-small
            prellm context search team "how do we name test files?"
            A context keeps the embedding model it was made with; adding or searching with another is an error.
            """,
        subcommands: [Add.self, List.self, Show.self, Remove.self, Search.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add files (Markdown, text, JSON, YAML) to a context, creating it if need be.")
        @Argument(help: "The context's name.") var name: String
        @Argument(help: "The files.") var files: [String]
        @Option(help: "The model that embeds a new context (provider/model); default: memory.embed of --config.") var embed: String?
        @OptionGroup var common: ContextStoreOptions
        func run() async throws { await common.run(.add(name: name, files: files), embed: embed) }
    }
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the contexts with their sizes and models.")
        @OptionGroup var common: ContextStoreOptions
        func run() async throws { await common.run(.list) }
    }
    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a context's chunks with where each came from.")
        @Argument(help: "The context's name.") var name: String
        @OptionGroup var common: ContextStoreOptions
        func run() async throws { await common.run(.show(name: name)) }
    }
    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove a context and its chunks.")
        @Argument(help: "The context's name.") var name: String
        @OptionGroup var common: ContextStoreOptions
        func run() async throws { await common.run(.remove(name: name)) }
    }
    struct Search: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The chunks of a context closest in meaning to a query.")
        @Argument(help: "The context's name.") var name: String
        @Argument(help: "The query.") var query: String
        @Option(help: "How many chunks.") var top: Int = 5
        @OptionGroup var common: ContextStoreOptions
        func validate() throws { guard (1...100).contains(top) else { throw ValidationError("--top must be 1 to 100") } }
        func run() async throws { await common.run(.search(name: name, query: query, topK: top)) }
    }
}

struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage gateway keys, in the gateway's store (with the config file's keys).",
        subcommands: [Create.self, List.self, Revoke.self, Rotate.self])
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the keys with their limits and today's and this month's spend.")
        @Option(help: "The config file.") var config: String = "prellm.yaml"
        func run() async throws { finish(await KeysCommand.list(config: config)) }
    }
    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key; every gateway on the store refuses it within a second.")
        @Argument(help: "The key's id.") var id: String
        @Option(help: "The config file.") var config: String = "prellm.yaml"
        func run() async throws { finish(await KeysCommand.revoke(id: id, config: config)) }
    }
    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a gateway key and print it once.",
            discussion: """
                With --config the key goes into that config's store and works at once on every gateway using it; without,                 the hash line for a config file's keys is printed instead.
                """)
        @Option(help: "The key's id.") var id: String = "team"
        @Option(help: "The config file whose store keeps the key.") var config: String?
        @Option(help: "Model names the key may use, comma-separated (default: all).") var models: String?
        @Option(help: "Requests per minute.") var rpm: Int?
        @Option(help: "Tokens per minute.") var tpm: Int?
        @Option(help: "US dollars per UTC day.") var usdPerDay: Double?
        @Option(help: "US dollars per UTC month.") var usdPerMonth: Double?

        func validate() throws {
            let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
            guard !id.isEmpty, id.count <= 64, id.allSatisfy(allowed.contains) else {
                throw ValidationError("--id must be 1 to 64 letters, digits, '-', '_' or '.'")
            }
            for (name, v) in [("--rpm", rpm), ("--tpm", tpm)] where (v ?? 1) < 1 { throw ValidationError("\(name) must be at least 1") }
            for (name, v) in [("--usd-per-day", usdPerDay), ("--usd-per-month", usdPerMonth)] where !((v ?? 1) >= 0 && (v ?? 1).isFinite) {
                throw ValidationError("\(name) must be a non-negative amount")
            }
            if config == nil, models != nil || rpm != nil || tpm != nil || usdPerDay != nil || usdPerMonth != nil {
                throw ValidationError("limits go with --config (the store keeps them); a config file's key takes them in the config")
            }
        }

        func run() async throws {
            let limits = KeysCommand.Limits(
                models: models.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }, rpm: rpm, tpm: tpm,
                usdPerDay: usdPerDay, usdPerMonth: usdPerMonth)
            finish(await KeysCommand.create(id: id, config: config, limits: limits))
        }
    }
    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Give a key a new secret; the old one keeps working for the overlap, then stops.")
        @Argument(help: "The key's id.") var id: String
        @Option(help: "The config file.") var config: String = "prellm.yaml"
        @Option(help: "How long the old secret keeps working (e.g. 1h, 30m, 0s).") var overlap: String = "1h"
        func run() async throws { finish(await KeysCommand.rotate(id: id, config: config, overlap: overlap)) }
    }
}

struct Usage: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Sum the gateway's spend records by model, key or day.")
    @Option(help: "The config file.") var config: String = "prellm.yaml"
    @Option(help: "Only this key's spend.") var key: String?
    @Option(help: "From this UTC day, YYYY-MM-DD (default: the first of this month).") var since: String?
    @Option(help: "model, key or day.") var by: UsageCommand.Grouping = .model
    func run() async throws { finish(await UsageCommand.run(config: config, key: key, since: since, by: by)) }
}

struct Store: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The gateway's store.", subcommands: [Migrate.self])
    struct Migrate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Apply the schema migrations the store lacks (prellm serve applies them too, at start).")
        @Option(help: "The config file.") var config: String = "prellm.yaml"
        func run() async throws { finish(await UsageCommand.migrate(config: config)) }
    }
}

struct Models: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List known models with their capabilities and prices.")
    @Flag(help: "Print JSON.") var json = false
    func run() throws { finish(ModelsCommand.run(json: json)) }
}

struct Call: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send one message to a model and stream the answer.",
        discussion: """
            Keys and endpoints come from the environment: OPENAI_API_KEY / OPENAI_BASE_URL, ANTHROPIC_API_KEY / \
            ANTHROPIC_BASE_URL, GEMINI_API_KEY / GEMINI_BASE_URL, OPENROUTER_API_KEY, GROQ_API_KEY, … and OLLAMA_HOST \
            (a key may also be read from the file named by <VARIABLE>_FILE). Exit codes: 0 answered, 1 the provider \
            failed, 2 usage or configuration error (such as a missing key).
            """)
    @Argument(help: "provider/model, e.g. openai/gpt-4o-mini or ollama/qwen2.5:3b") var model: String
    @Argument(help: "The message.") var text: String
    @Option(help: "A system prompt.") var system: String?
    @Option(help: "The most tokens to generate.") var maxTokens: Int?
    @Option(help: "Sampling temperature.") var temperature: Double?
    @Flag(help: "Wait for the whole answer instead of streaming it.") var noStream = false
    @Flag(help: "Ask for a JSON object.") var json = false
    @Option(help: "A config file whose 'providers' section overrides the environment.") var config: String?

    func run() async throws {
        let options = CallOptions(
            model: model, text: text, system: system, maxTokens: maxTokens, temperature: temperature,
            stream: !noStream, json: json, config: config)
        let out = await CallCommand.run(options, environment: ProcessInfo.processInfo.environment) { text in
            FileHandle.standardOutput.write(Data(text.utf8))
        }
        finish(out)
    }
}
