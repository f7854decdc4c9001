import CYAML

/// A YAMLReader turns YAML text into a YAMLNode tree with spans, via libyaml's event API.
///
/// Building the tree from events ourselves (rather than through a composer) lets us bound
/// what a hostile file can cost before it costs it:
/// - aliases are expanded by sharing (copy-on-write), and every expansion adds the aliased
///   node's size to a running total, so a "billion laughs" file fails after a few thousand
///   events instead of exhausting memory;
/// - nesting depth is checked on every start event (the composer is a loop, not a recursion);
/// - duplicate keys are reported at the second key, pointing at the first.
public struct YAMLReader {
    public struct Limits: Sendable {
        public var maxBytes = 8 << 20
        public var maxDepth = 128
        /// Total nodes after alias expansion.
        public var maxNodes = 1_000_000
        public init() {}
    }

    public let limits: Limits

    public init(limits: Limits = Limits()) { self.limits = limits }

    /// Parses one document. Returns nil for the root when the file had a fatal error.
    public func read(_ source: Source, into bag: inout DiagnosticBag) -> YAMLNode? {
        if source.utf8.count > limits.maxBytes {
            bag.add(
                .fileTooLarge, .unknown,
                "file is \(source.utf8.count) bytes; the limit is \(limits.maxBytes)",
                hint: "split the workflow with imports")
            return nil
        }
        var builder = Builder(limits: limits, source: source)
        let root = source.utf8.withUnsafeBufferPointer { buf in builder.run(buf) }
        bag.append(
            contentsOf: builder.diagnostics.map {
                Diagnostic($0.code, file: bag.file, span: $0.span, message: $0.message, hint: $0.hint, related: $0.related)
            })
        return root
    }
}

private struct Builder {
    struct Frame {
        var isMapping: Bool
        var start: Position
        var anchor: String?
        var items: [YAMLNode] = []
        var pairs: [YAMLNode.Pair] = []
        var pendingKey: YAMLNode?
        var keys: [String: Span] = [:]
        var count = 1
    }

    let limits: YAMLReader.Limits
    let source: Source
    var diagnostics: [Diagnostic] = []
    var anchors: [String: (node: YAMLNode, count: Int)] = [:]
    var stack: [Frame] = []
    var root: YAMLNode?
    var total = 0
    var documents = 0

    init(limits: YAMLReader.Limits, source: Source) {
        self.limits = limits
        self.source = source
    }

    mutating func fail(_ code: DiagnosticCode, _ span: Span, _ message: String, hint: String? = nil, related: [Diagnostic.Related] = []) {
        diagnostics.append(Diagnostic(code, file: source.path, span: span, message: message, hint: hint, related: related))
    }

    static func position(_ m: yaml_mark_t) -> Position {
        Position(line: Int(m.line) + 1, column: Int(m.column) + 1)
    }

    static func string(_ p: UnsafeMutablePointer<yaml_char_t>?, _ length: Int? = nil) -> String? {
        guard let p else { return nil }
        if let length {
            return String(decoding: UnsafeBufferPointer(start: p, count: length), as: UTF8.self)
        }
        return String(cString: UnsafeRawPointer(p).assumingMemoryBound(to: CChar.self))
    }

    mutating func run(_ buf: UnsafeBufferPointer<UInt8>) -> YAMLNode? {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else {
            fail(.yamlSyntax, .unknown, "cannot initialise the YAML parser")
            return nil
        }
        defer { yaml_parser_delete(&parser) }
        yaml_parser_set_input_string(&parser, buf.baseAddress, buf.count)
        yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
        var event = yaml_event_t()
        while true {
            guard yaml_parser_parse(&parser, &event) == 1 else {
                reportParserError(parser)
                return nil
            }
            let done = event.type == YAML_STREAM_END_EVENT
            let ok = handle(&event)
            yaml_event_delete(&event)
            if !ok { return nil }
            if done { break }
        }
        return root
    }

    mutating func reportParserError(_ parser: yaml_parser_t) {
        let problem =
            Self.string(UnsafeMutablePointer(mutating: parser.problem.map { UnsafeRawPointer($0).assumingMemoryBound(to: yaml_char_t.self) }))
            ?? "invalid YAML"
        let at = Self.position(parser.problem_mark)
        var message = problem
        var related: [Diagnostic.Related] = []
        if let ctx = parser.context.map({ String(cString: $0) }) {
            message = "\(problem) \(ctx)"
            let cpos = Self.position(parser.context_mark)
            if cpos != at {
                related.append(
                    .init(file: source.path, span: Span(cpos), message: ctx.hasPrefix("while parsing ") ? "\(ctx.dropFirst(14)) started here" : ctx))
            }
        }
        let context = parser.context.map { String(cString: $0) }
        let explained = YAMLErrorText.explain(
            problem: problem, context: context, line: source.line(at.line),
            contextLine: context == nil ? nil : source.line(Self.position(parser.context_mark).line))
        message = explained.message
        let hint = explained.hint
        fail(.yamlSyntax, Span(at), message, hint: hint, related: related)
    }

    /// Handles one event; false stops the parse (a limit was hit).
    mutating func handle(_ event: inout yaml_event_t) -> Bool {
        let start = Self.position(event.start_mark)
        let end = Self.position(event.end_mark)
        switch event.type {
        case YAML_DOCUMENT_START_EVENT:
            documents += 1
            if documents > 1 {
                fail(
                    .multipleDocuments, Span(start: start, end: end), "a prellm file holds one YAML document",
                    hint: "remove the second '---' or split the file")
                return false
            }
        case YAML_SCALAR_EVENT:
            let s = event.data.scalar
            var value = Self.string(s.value, Int(s.length)) ?? ""
            var style: YAMLNode.ScalarStyle =
                switch s.style {
                case YAML_SINGLE_QUOTED_SCALAR_STYLE: .singleQuoted
                case YAML_DOUBLE_QUOTED_SCALAR_STYLE: .doubleQuoted
                case YAML_LITERAL_SCALAR_STYLE: .literal
                case YAML_FOLDED_SCALAR_STYLE: .folded
                default: .plain
                }
            var tag: String?
            if let t = Self.string(s.tag) {
                let core = "tag:yaml.org,2002:"
                if t.hasPrefix(core), ["str", "int", "float", "bool", "null"].contains(String(t.dropFirst(core.count))) {
                    tag = String(t.dropFirst(core.count))
                } else if t != "!" {
                    if let fix = YAMLErrorText.bangFix(tag: t, value: value) {
                        fail(
                            .unsupportedTag, Span(start: start, end: end),
                            "'\(t)' starts with '!', which YAML reads as a tag, not as 'not'",
                            hint: "quote the whole expression: \(fix)")
                        // Later checks see the expression that was meant, not a null.
                        value = value.isEmpty ? t : t + " " + value
                        style = .doubleQuoted
                    } else {
                        fail(
                            .unsupportedTag, Span(start: start, end: end), "unsupported YAML tag '\(t)'",
                            hint: "prellm files use plain YAML; remove the tag")
                    }
                }
            }
            let node = YAMLNode(content: .scalar(.init(value: value, style: style, tag: tag)), span: Span(start: start, end: end))
            return add(node, count: 1, anchor: Self.string(s.anchor))
        case YAML_ALIAS_EVENT:
            let name = Self.string(event.data.alias.anchor) ?? ""
            guard let (node, count) = anchors[name] else {
                fail(.yamlSyntax, Span(start: start, end: end), "unknown alias '*\(name)'")
                return false
            }
            var copy = node
            copy.span = Span(start: start, end: end)
            return add(copy, count: count, anchor: nil)
        case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
            if stack.count >= limits.maxDepth {
                fail(
                    .nestingLimit, Span(start: start, end: end),
                    "nesting is deeper than \(limits.maxDepth) levels")
                return false
            }
            let anchor =
                event.type == YAML_SEQUENCE_START_EVENT
                ? Self.string(event.data.sequence_start.anchor) : Self.string(event.data.mapping_start.anchor)
            stack.append(Frame(isMapping: event.type == YAML_MAPPING_START_EVENT, start: start, anchor: anchor))
        case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
            let frame = stack.removeLast()
            let span = Span(start: frame.start, end: end)
            let node =
                frame.isMapping
                ? YAMLNode(content: .mapping(frame.pairs), span: span)
                : YAMLNode(content: .sequence(frame.items), span: span)
            total -= frame.count - 1  // the children are counted already; the container adds one
            return add(node, count: frame.count, anchor: frame.anchor)
        default:
            break
        }
        return true
    }

    mutating func add(_ node: YAMLNode, count: Int, anchor: String?) -> Bool {
        total += count
        if total > limits.maxNodes {
            fail(
                .aliasLimit, node.span,
                "the document expands to more than \(limits.maxNodes) nodes",
                hint: "aliases (*name) are expanded where they are used; this looks like an alias bomb")
            return false
        }
        if let anchor { anchors[anchor] = (node, count) }
        guard !stack.isEmpty else {
            root = node
            return true
        }
        stack[stack.count - 1].count += count
        if stack[stack.count - 1].isMapping {
            if let key = stack[stack.count - 1].pendingKey {
                stack[stack.count - 1].pairs.append(.init(key: key, value: node))
                stack[stack.count - 1].pendingKey = nil
            } else {
                if let name = node.scalar?.value {
                    if let first = stack[stack.count - 1].keys[name] {
                        fail(
                            .duplicateKey, node.span, "duplicate key '\(name)'",
                            hint: "a later key would silently replace the earlier one; keep one",
                            related: [.init(file: source.path, span: first, message: "first defined here")])
                    } else {
                        stack[stack.count - 1].keys[name] = node.span
                    }
                } else {
                    fail(.wrongType, node.span, "mapping keys must be plain strings, found \(node.kindName)")
                }
                stack[stack.count - 1].pendingKey = node
            }
        } else {
            stack[stack.count - 1].items.append(node)
        }
        return true
    }
}
