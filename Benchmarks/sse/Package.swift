// swift-tools-version:6.1
// A separate package, so that CI's build of the main package does not build benchmarks.
import PackageDescription

let package = Package(
    name: "prellm-sse-benchmark",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "prellm", path: "../..")],
    targets: [
        .executableTarget(
            name: "sse-decode",
            dependencies: [.product(name: "PrellmProviders", package: "prellm")],
            swiftSettings: [.unsafeFlags(["-Ounchecked"])]),
    ],
    swiftLanguageModes: [.v6]
)
