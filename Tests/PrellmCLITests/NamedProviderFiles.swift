import Foundation

/// A config that names a provider of its own (`gpu-a`, OpenAI's format at `baseURL`) and a
/// workflow whose one step calls `gpu-a/llama3.1:8b`, in a fresh folder: what `--config` must
/// make known to `prellm run` and `prellm lint`.
struct NamedProviderFiles {
    let dir: URL
    var config: String { dir.appendingPathComponent("prellm.yaml").path }
    var workflow: String { dir.appendingPathComponent("w.yaml").path }

    init(baseURL: String) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("prellm-named-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try "prellm: 1\nproviders:\n  gpu-a: {format: openai, base_url: \"\(baseURL)\"}\n"
            .write(toFile: config, atomically: true, encoding: .utf8)
        try "prellm: 1\nsteps:\n  - id: answer\n    call: {model: gpu-a/llama3.1:8b, prompt: Hi}\noutput: \"{{ answer }}\"\n"
            .write(toFile: workflow, atomically: true, encoding: .utf8)
    }

    func remove() { try? FileManager.default.removeItem(at: dir) }
}
