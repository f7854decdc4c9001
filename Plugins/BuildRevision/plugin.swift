import Foundation
import PackagePlugin

/// Writes the git revision of the package's checkout into the target it is applied to, before
/// every build (a prebuild command): `prellm --version` names the commit it was built from
/// without a hand-kept constant, and a build after a new commit never shows the old one.
/// Outside a git checkout (a source archive, the Dockerfile's build): the revision in the
/// package's `.prellm-revision` file, else PRELLM_REVISION, else "unknown".
@main
struct BuildRevision: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let output = context.pluginWorkDirectoryURL.appending(path: "BuildRevision.swift")
        let root = context.package.directoryURL.path
        let script = """
            r=$(cat '\(root)/.prellm-revision' 2>/dev/null || true)
            [ -n "$r" ] || r="${PRELLM_REVISION:-}"
            if [ -z "$r" ] && r=$(git -C '\(root)' rev-parse --short=12 HEAD 2>/dev/null); then
              git -C '\(root)' diff --quiet HEAD -- 2>/dev/null || r="$r-dirty"
            fi
            new="let buildRevision = \\"${r:-unknown}\\""
            [ "$(cat '\(output.path)' 2>/dev/null)" = "$new" ] || printf '%s\\n' "$new" > '\(output.path)'
            """
        return [
            .prebuildCommand(
                displayName: "Recording the git revision", executable: URL(fileURLWithPath: "/bin/sh"), arguments: ["-c", script],
                outputFilesDirectory: context.pluginWorkDirectoryURL)
        ]
    }
}
