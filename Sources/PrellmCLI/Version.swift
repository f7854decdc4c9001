/// The version `prellm --version` and `prellm-run --version` print: the release number (here
/// only) and the git revision the build came from (`buildRevision`, which the BuildRevision
/// plugin writes before each build).
public enum PrellmVersion {
    public static let current = "0.2.0"
    public static let revision = buildRevision
    /// `0.2.0 (e12ac86a1b2c)`.
    public static let full = "\(current) (\(revision))"
}
