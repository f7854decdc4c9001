// swift-tools-version:6.1
import PackageDescription

// Modules follow the pipeline; imports only flow downwards:
//   PrellmSyntax → PrellmCompiler → PrellmCLI → prellm / prellm-run
//   PrellmSchema (JSON Schema) and PrellmRegex (PCRE2) are leaves the compiler uses.
//   PrellmProviderKit (types, no I/O) ← PrellmProviders (wire formats) → PrellmHTTP (libcurl).
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny")
]

let package = Package(
    name: "prellm",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "prellm", targets: ["prellm"]),
        .executable(name: "prellm-run", targets: ["prellm-run"]),
        .library(name: "Prellm", targets: ["Prellm"]),
        .library(name: "PrellmCompiler", targets: ["PrellmCompiler"]),
        .library(name: "PrellmSchema", targets: ["PrellmSchema"]),
        .library(name: "PrellmMemory", targets: ["PrellmMemory"]),
        .library(name: "PrellmProviders", targets: ["PrellmProviders", "PrellmProviderKit", "PrellmHTTP"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.81.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.34.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CYAML", pkgConfig: "yaml-0.1",
            providers: [.apt(["libyaml-dev"])]),
        .systemLibrary(
            name: "CPCRE2", pkgConfig: "libpcre2-8",
            providers: [.apt(["libpcre2-dev"])]),
        .systemLibrary(
            name: "CCurl", pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(
            name: "CSQLite", pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]),
        .target(name: "PrellmHTTP", dependencies: ["CCurl"], swiftSettings: strict),
        // Writes the git revision `prellm --version` prints into PrellmCLI before each build.
        .plugin(name: "BuildRevision", capability: .buildTool()),
        .target(name: "PrellmProviderKit", dependencies: ["PrellmSchema"], swiftSettings: strict),
        .target(
            name: "PrellmProviders", dependencies: ["PrellmProviderKit", "PrellmHTTP", "PrellmSchema"],
            swiftSettings: strict),
        .target(name: "PrellmRegex", dependencies: ["CPCRE2"], swiftSettings: strict),
        .target(name: "PrellmSyntax", dependencies: ["CYAML"], swiftSettings: strict),
        .target(name: "PrellmSchema", dependencies: ["PrellmRegex"], swiftSettings: strict),
        .target(
            name: "PrellmCompiler",
            dependencies: ["PrellmSyntax", "PrellmSchema", "PrellmRegex", "PrellmProviderKit"],
            swiftSettings: strict),
        // One SQLite connection behind a lock: the answer cache, the gateway's ledger and the
        // context store are built on it.
        .target(name: "PrellmSQLite", dependencies: ["CSQLite"], swiftSettings: strict),
        // Named user contexts: chunks of the user's files with their vectors, searched by meaning.
        .target(name: "PrellmMemory", dependencies: ["PrellmSQLite", "PrellmSchema", "PrellmProviderKit", "PrellmHTTP"], swiftSettings: strict),
        .target(
            name: "PrellmRuntime",
            dependencies: ["PrellmCompiler", "PrellmSyntax", "PrellmSchema", "PrellmRegex", "PrellmProviderKit", "PrellmSQLite", "PrellmMemory"],
            swiftSettings: strict),
        // Traces over OTLP/HTTP, hand-encoded: a RunEventSink beside the JSONL trace.
        .target(
            name: "PrellmTelemetry", dependencies: ["PrellmRuntime", "PrellmProviderKit", "PrellmHTTP", "PrellmSchema"],
            swiftSettings: strict),
        .target(
            name: "Prellm",
            dependencies: [
                "PrellmCompiler", "PrellmSchema", "PrellmSyntax", "PrellmProviders", "PrellmProviderKit", "PrellmRuntime", "PrellmMemory",
            ],
            swiftSettings: strict),
        .target(
            name: "PrellmServer",
            dependencies: [
                "Prellm", "PrellmCompiler", "PrellmSchema", "PrellmSyntax", "PrellmProviders", "PrellmProviderKit",
                "PrellmRuntime", "PrellmSQLite", "PrellmTelemetry", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strict),
        .target(
            name: "PrellmTesting",
            dependencies: ["PrellmCompiler", "PrellmRuntime", "PrellmProviderKit", "PrellmSchema", "PrellmSyntax"],
            swiftSettings: strict),
        .target(
            name: "PrellmCLI",
            dependencies: [
                "Prellm", "PrellmServer", "PrellmTesting", "PrellmCompiler", "PrellmSchema", "PrellmSyntax", "PrellmProviders", "PrellmProviderKit",
                "PrellmRuntime", "PrellmTelemetry", "PrellmMemory",
            ],
            swiftSettings: strict, plugins: ["BuildRevision"]),
        .target(
            name: "PrellmLanguageServer", dependencies: ["PrellmCompiler", "PrellmSyntax", "PrellmSchema", "PrellmProviderKit"], swiftSettings: strict
        ),
        .target(
            name: "PrellmCommandLine",
            dependencies: ["PrellmCLI", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: strict),
        .executableTarget(
            name: "prellm",
            dependencies: [
                "Prellm", "PrellmCLI", "PrellmCommandLine", "PrellmTesting", "PrellmLanguageServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict),
        .executableTarget(
            name: "prellm-run",
            dependencies: ["PrellmCLI", "PrellmCommandLine", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: strict),
        .target(name: "ProviderStandIn", dependencies: ["PrellmSchema", "PrellmHTTP"], path: "Tests/ProviderStandIn", swiftSettings: strict),
        .testTarget(
            name: "PrellmLanguageServerTests", dependencies: ["PrellmLanguageServer", "PrellmSchema", "ProviderStandIn"], swiftSettings: strict),
        .testTarget(name: "PrellmHTTPTests", dependencies: ["PrellmHTTP", "ProviderStandIn"], swiftSettings: strict),
        .testTarget(
            name: "PrellmProvidersTests",
            dependencies: ["PrellmProviders", "PrellmProviderKit", "PrellmHTTP", "PrellmSchema", "ProviderStandIn"],
            swiftSettings: strict),
        .testTarget(
            name: "PrellmServerTests",
            dependencies: [
                "PrellmServer", "PrellmCLI", "PrellmSchema", "PrellmHTTP", "PrellmProviders", "PrellmProviderKit", "ProviderStandIn", "prellm",
                "PrellmTelemetry",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: strict),
        .testTarget(
            name: "PrellmTests",
            dependencies: ["Prellm", "PrellmRuntime", "PrellmSchema", "PrellmMemory", "PrellmProviders", "ProviderStandIn"],
            swiftSettings: strict),
        .testTarget(
            name: "PrellmRuntimeTests",
            dependencies: ["PrellmRuntime", "PrellmCompiler", "PrellmSchema", "PrellmSyntax", "PrellmProviderKit", "PrellmTesting", "PrellmMemory"],
            swiftSettings: strict),
        .testTarget(
            name: "PrellmTelemetryTests", dependencies: ["PrellmTelemetry", "PrellmRuntime", "PrellmProviderKit", "PrellmCompiler"],
            swiftSettings: strict),
        .testTarget(name: "PrellmSyntaxTests", dependencies: ["PrellmSyntax"], swiftSettings: strict),
        .testTarget(name: "PrellmMemoryTests", dependencies: ["PrellmMemory", "PrellmSQLite", "ProviderStandIn"], swiftSettings: strict),
        .testTarget(name: "PrellmSchemaTests", dependencies: ["PrellmSchema", "PrellmSyntax"], swiftSettings: strict),
        .testTarget(
            name: "PrellmCompilerTests", dependencies: ["PrellmCompiler", "PrellmSchema", "PrellmSyntax", "ProviderStandIn"],
            exclude: ["testdata"], swiftSettings: strict),
        .testTarget(
            name: "PrellmCLITests",
            dependencies: [
                "PrellmCLI", "PrellmCompiler", "PrellmSchema", "PrellmSyntax", "PrellmProviders", "PrellmTesting", "ProviderStandIn", "PrellmMemory",
                "prellm", "prellm-run",
            ],
            swiftSettings: strict),
    ],
    swiftLanguageModes: [.v6]
)
