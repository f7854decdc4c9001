/// A Diagnostic is one problem found in a file: a stable code, where, what and how to fix it.
///
/// Passes collect diagnostics instead of throwing, so that one run reports every problem.
public struct Diagnostic: Sendable, Hashable {
    public enum Severity: String, Sendable, Hashable, Comparable {
        case error, warning, note
        public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
        private var rank: Int {
            switch self {
            case .error: 0;
            case .warning: 1;
            case .note: 2
            }
        }
    }

    /// A Related location points at a second place that explains the first (the earlier duplicate, say).
    public struct Related: Sendable, Hashable {
        public var file: String
        public var span: Span
        public var message: String
        public init(file: String, span: Span, message: String) {
            self.file = file; self.span = span; self.message = message
        }
    }

    public var code: DiagnosticCode
    public var severity: Severity
    public var file: String
    public var span: Span
    public var message: String
    public var hint: String?
    public var related: [Related]
    /// Set when the source line may hold a secret (an API key pasted into a config file):
    /// renderers then show the position but not the line.
    public var hidesSourceLine = false

    public init(
        _ code: DiagnosticCode, severity: Severity? = nil, file: String, span: Span,
        message: String, hint: String? = nil, related: [Related] = []
    ) {
        self.code = code
        self.severity = severity ?? code.defaultSeverity
        self.file = file
        self.span = span
        self.message = message
        self.hint = hint
        self.related = related
    }
}

/// A DiagnosticBag collects diagnostics for one file and caps their number, so that a
/// pathological input cannot produce an unbounded report.
public struct DiagnosticBag: Sendable {
    public static let defaultLimit = 200
    public let file: String
    public private(set) var items: [Diagnostic] = []
    public private(set) var dropped = 0
    public let limit: Int

    public init(file: String, limit: Int = DiagnosticBag.defaultLimit) {
        self.file = file
        self.limit = limit
    }

    public var hasErrors: Bool { items.contains { $0.severity == .error } }

    /// True once the bag holds all it will keep; passes may skip work (such as computing
    /// did-you-mean hints) for diagnostics that would be dropped.
    public var isFull: Bool { items.count >= limit }

    /// Counts a diagnostic that would be dropped, without building it.
    public mutating func noteDropped() { dropped += 1 }

    public mutating func add(_ d: Diagnostic) {
        if items.count < limit { items.append(d) } else { dropped += 1 }
    }

    public mutating func add(
        _ code: DiagnosticCode, _ span: Span, _ message: String, hint: String? = nil,
        related: [Diagnostic.Related] = [], severity: Diagnostic.Severity? = nil
    ) {
        add(Diagnostic(code, severity: severity, file: file, span: span, message: message, hint: hint, related: related))
    }

    public mutating func append(contentsOf other: [Diagnostic]) { for d in other { add(d) } }

    /// Drops the diagnostics added since `start` that `drop` selects.
    public mutating func remove(since start: Int, where drop: (Diagnostic) -> Bool) {
        guard start < items.count else { return }
        items.replaceSubrange(start..., with: items[start...].filter { !drop($0) })
    }

    /// The diagnostics in source order, with duplicates (same code, place and message) removed.
    public var sorted: [Diagnostic] {
        var seen = Set<Diagnostic>()
        return items.filter { seen.insert($0).inserted }.sorted(by: Diagnostic.sourceOrder)
    }
}

extension Diagnostic {
    public static func sourceOrder(_ a: Diagnostic, _ b: Diagnostic) -> Bool {
        if a.file != b.file { return a.file < b.file }
        if a.span.start != b.span.start { return a.span.start < b.span.start }
        if a.severity != b.severity { return a.severity < b.severity }
        return a.code.rawValue < b.code.rawValue
    }
}
