// swift-tools-version:6.1
// A separate package, so that CI's build of the main package does not build benchmarks.
import PackageDescription

let package = Package(
    name: "prellm-memory-benchmark",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "prellm", path: "../..")],
    targets: [
        .executableTarget(name: "memory-bench", dependencies: [.product(name: "PrellmMemory", package: "prellm")]),
    ],
    swiftLanguageModes: [.v6]
)
