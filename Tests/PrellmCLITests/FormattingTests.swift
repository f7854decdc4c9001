import Foundation
import ProviderStandIn
import Testing

/// The code keeps to `.swift-format` (the toolchain's swift-format, where it has one):
/// `swift-format format -i -r Sources Tests Plugins Benchmarks/*/Sources` fixes what this reports.
@Suite struct FormattingTests {
    static let root = LintCommandTests.root

    static var swiftFormat: URL? {
        let paths = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init) + ["/opt/swift/usr/bin"]
        return paths.map { URL(fileURLWithPath: $0).appendingPathComponent("swift-format") }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    @Test(.enabled(if: FormattingTests.swiftFormat != nil, "the toolchain has no swift-format"))
    func theCodeIsFormatted() async throws {
        let benchmarks = ((try? FileManager.default.contentsOfDirectory(atPath: Self.root.appendingPathComponent("Benchmarks").path)) ?? [])
            .map { "Benchmarks/\($0)/Sources" }
            .filter { FileManager.default.fileExists(atPath: Self.root.appendingPathComponent($0).path) }
        let r = try await Subprocess.run(
            try #require(Self.swiftFormat), ["lint", "--strict", "-r", "Sources", "Tests", "Plugins"] + benchmarks.sorted(), directory: Self.root)
        let output = r.stderr + r.stdout
        #expect(r.status == 0, "run swift-format format -i -r Sources Tests Plugins Benchmarks/*/Sources:\n\(output.prefix(4000))")
    }
}
