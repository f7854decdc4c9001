// swift-tools-version:6.1
// A separate package, so that CI's build of the main package does not build benchmarks.
import PackageDescription

let package = Package(
    name: "prellm-gateway-benchmark",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "prellm", path: "../..")],
    targets: [
        .executableTarget(name: "gw-load", dependencies: [.product(name: "PrellmProviders", package: "prellm")]),
    ],
    swiftLanguageModes: [.v6]
)
