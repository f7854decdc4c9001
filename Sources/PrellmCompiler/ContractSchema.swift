import PrellmSchema
import PrellmSyntax

/// ContractSchema is the compiler's public face for schemas written in YAML.
public enum ContractSchema {
    /// Converts a YAML node to JSON under YAML 1.2's core schema.
    public static func json(_ node: YAMLNode) -> JSONValue { SchemaChecker.json(node) }
}
