/// The version `prellm --version` and `prellm-run --version` print.
public enum PrellmVersion {
    public static let current = "0.2.0"
}
