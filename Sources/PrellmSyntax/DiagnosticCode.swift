/// A DiagnosticCode is the stable identifier of a kind of problem (`PL201`).
///
/// Codes are grouped by hundreds: PL0xx input and YAML, PL1xx structure, PL2xx names and
/// references, PL3xx types, PL4xx control flow, PL5xx models, PL6xx contracts, PL7xx imports.
/// Codes are never reused; `docs/diagnostics.md` lists them all and a test keeps it in step.
public struct DiagnosticCode: Sendable, Hashable, RawRepresentable, CustomStringConvertible {
    public let rawValue: String
    public let title: String
    public let defaultSeverity: Diagnostic.Severity

    public init?(rawValue: String) {
        guard let code = DiagnosticCode.all.first(where: { $0.rawValue == rawValue }) else { return nil }
        self = code
    }

    init(_ raw: String, _ title: String, _ severity: Diagnostic.Severity = .error) {
        self.rawValue = raw
        self.title = title
        self.defaultSeverity = severity
    }

    public var description: String { rawValue }
    public static func == (a: DiagnosticCode, b: DiagnosticCode) -> Bool { a.rawValue == b.rawValue }
    public func hash(into h: inout Hasher) { h.combine(rawValue) }

    // PL0xx: reading the file
    public static let yamlSyntax = DiagnosticCode("PL001", "YAML syntax error")
    public static let duplicateKey = DiagnosticCode("PL002", "duplicate mapping key")
    public static let aliasLimit = DiagnosticCode("PL003", "alias expansion limit exceeded")
    public static let nestingLimit = DiagnosticCode("PL004", "nesting too deep")
    public static let fileTooLarge = DiagnosticCode("PL005", "file too large")
    public static let unreadable = DiagnosticCode("PL006", "file cannot be read")
    public static let notWorkflow = DiagnosticCode("PL007", "not a prellm file")
    public static let unsupportedTag = DiagnosticCode("PL008", "unsupported YAML tag")
    public static let multipleDocuments = DiagnosticCode("PL009", "more than one YAML document")

    // PL1xx: shape of the file
    public static let unknownKey = DiagnosticCode("PL101", "unknown key")
    public static let wrongType = DiagnosticCode("PL102", "wrong type")
    public static let missingKey = DiagnosticCode("PL103", "missing required key")
    public static let badDuration = DiagnosticCode("PL104", "invalid duration")
    public static let badMoney = DiagnosticCode("PL105", "invalid amount of money")
    public static let badNumber = DiagnosticCode("PL106", "invalid number")
    public static let stepKind = DiagnosticCode("PL107", "a step needs exactly one kind")
    public static let badValue = DiagnosticCode("PL108", "value not allowed here")
    public static let conflictingKeys = DiagnosticCode("PL109", "keys that cannot be used together")
    public static let emptyList = DiagnosticCode("PL110", "empty list")
    public static let templateSyntax = DiagnosticCode("PL111", "template syntax error")
    public static let expressionSyntax = DiagnosticCode("PL112", "expression syntax error")
    public static let badRegex = DiagnosticCode("PL113", "invalid regular expression")
    public static let unsupportedVersion = DiagnosticCode("PL114", "unsupported format version")

    // PL2xx: names and references
    public static let unknownStep = DiagnosticCode("PL201", "unknown step")
    public static let unknownInput = DiagnosticCode("PL202", "unknown input")
    public static let unknownField = DiagnosticCode("PL203", "unknown field")
    public static let readBeforeRun = DiagnosticCode("PL204", "step read before it has run")
    public static let maybeSkipped = DiagnosticCode("PL205", "step read that may have been skipped")
    public static let unknownName = DiagnosticCode("PL206", "unknown name, function or filter")
    public static let invalidStepID = DiagnosticCode("PL207", "invalid step id")
    public static let duplicateStepID = DiagnosticCode("PL208", "duplicate step id")
    public static let reservedStepID = DiagnosticCode("PL209", "reserved word used as step id")
    public static let unknownContract = DiagnosticCode("PL210", "unknown contract")
    public static let unknownModel = DiagnosticCode("PL211", "unknown model alias")
    public static let unusedInput = DiagnosticCode("PL212", "input never read", .warning)
    public static let bareReference = DiagnosticCode("PL213", "plain text that names a step or input", .warning)

    // PL3xx: types
    public static let typeMismatch = DiagnosticCode("PL301", "type mismatch")
    public static let impossibleLabel = DiagnosticCode("PL302", "value the step cannot produce")
    public static let notBoolean = DiagnosticCode("PL303", "condition is not a boolean")
    public static let badArguments = DiagnosticCode("PL304", "wrong arguments")
    public static let constantNeverPasses = DiagnosticCode("PL305", "constant that can never pass its schema")

    // PL4xx: control flow
    public static let unknownTarget = DiagnosticCode("PL401", "jump to a step that does not exist")
    public static let routeElse = DiagnosticCode("PL402", "route needs exactly one final else")
    public static let loop = DiagnosticCode("PL403", "loop outside on_fail.retry")
    public static let unreachable = DiagnosticCode("PL404", "unreachable step", .warning)
    public static let badRetryTarget = DiagnosticCode("PL405", "invalid on_fail.retry target")
    public static let unboundedRetry = DiagnosticCode("PL406", "retry loop without a bound")
    public static let unboundedMap = DiagnosticCode("PL407", "map without a bound under a budget")

    // PL5xx: models
    public static let badModelString = DiagnosticCode("PL501", "malformed provider/model")
    public static let unknownProvider = DiagnosticCode("PL502", "unknown provider")
    public static let badPolicy = DiagnosticCode("PL503", "invalid routing policy")
    public static let modelNotInCatalog = DiagnosticCode("PL504", "model not in the catalog", .warning)
    public static let unpricedUnderBudget = DiagnosticCode("PL505", "model without a price under a USD budget")
    public static let aliasShadowsModel = DiagnosticCode("PL506", "alias named as another catalogued model", .warning)

    // PL6xx: contracts
    public static let invalidSchema = DiagnosticCode("PL601", "invalid JSON Schema")
    public static let refNotFound = DiagnosticCode("PL602", "$ref target not found")
    public static let refUnreadable = DiagnosticCode("PL603", "$ref file cannot be parsed")
    public static let unknownSchemaKeyword = DiagnosticCode("PL604", "unknown JSON Schema keyword")
    public static let refCycle = DiagnosticCode("PL605", "$ref cycle that reads no input")

    // PL7xx: imports
    public static let importNotFound = DiagnosticCode("PL701", "imported file not found")
    public static let importCycle = DiagnosticCode("PL702", "import cycle")
    public static let importInputMissing = DiagnosticCode("PL703", "imported workflow input not given")
    public static let importInputType = DiagnosticCode("PL704", "imported workflow input has the wrong type")
    public static let importHasErrors = DiagnosticCode("PL705", "imported workflow has errors")
    public static let unknownImport = DiagnosticCode("PL706", "unknown import")
    public static let importTooDeep = DiagnosticCode("PL707", "import chain too deep")

    public static let all: [DiagnosticCode] = [
        yamlSyntax, duplicateKey, aliasLimit, nestingLimit, fileTooLarge, unreadable, notWorkflow,
        unsupportedTag, multipleDocuments,
        unknownKey, wrongType, missingKey, badDuration, badMoney, badNumber, stepKind, badValue,
        conflictingKeys, emptyList, templateSyntax, expressionSyntax, badRegex, unsupportedVersion,
        unknownStep, unknownInput, unknownField, readBeforeRun, maybeSkipped, unknownName,
        invalidStepID, duplicateStepID, reservedStepID, unknownContract, unknownModel, unusedInput,
        bareReference,
        typeMismatch, impossibleLabel, notBoolean, badArguments, constantNeverPasses,
        unknownTarget, routeElse, loop, unreachable, badRetryTarget, unboundedRetry, unboundedMap,
        badModelString, unknownProvider, badPolicy, modelNotInCatalog, unpricedUnderBudget, aliasShadowsModel,
        invalidSchema, refNotFound, refUnreadable, unknownSchemaKeyword, refCycle,
        importNotFound, importCycle, importInputMissing, importInputType, importHasErrors, unknownImport,
        importTooDeep,
    ]
}
