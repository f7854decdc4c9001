import PrellmSchema

/// Printing a StepGraph as Mermaid, Graphviz DOT or JSON (`prellm graph`). The edges are read
/// off the steps' resolved targets — the same ones the interpreter follows.
extension StepGraph {
    public enum Format: String, Sendable, CaseIterable { case mermaid, dot, json }

    /// One way control can pass from a step: to the next step, a route's branch or its else,
    /// past a skipped step, or back to a re-asked step.
    public struct Edge: Sendable, Hashable {
        public enum Kind: String, Sendable { case next, branch, otherwise = "else", skip, retry }
        public var from: String
        /// A step id, or `end`.
        public var to: String
        public var kind: Kind
        public var condition: String?
        /// For retry edges: the maximum number of re-asks.
        public var attempts: Int?
    }

    public var edges: [Edge] {
        func name(_ t: Target) -> String {
            switch t {
            case .end: "end"
            case .step(let i): steps[i].id
            }
        }
        func following(_ i: Int) -> Target { i + 1 < steps.count ? .step(i + 1) : .end }
        var out: [Edge] = []
        for (i, s) in steps.enumerated() {
            if case .route(let r) = s.payload {
                for b in r.branches { out.append(Edge(from: s.id, to: name(b.target), kind: .branch, condition: b.condition.text)) }
                out.append(Edge(from: s.id, to: name(r.otherwise), kind: .otherwise))
            } else {
                out.append(Edge(from: s.id, to: name(s.next), kind: .next))
            }
            // A guarded step that jumps: when its guard is false it is skipped and the next step runs.
            if s.condition != nil, s.kind == .route || s.next != following(i) {
                out.append(Edge(from: s.id, to: name(following(i)), kind: .skip))
            }
            if case .validate(let v) = s.payload, let onFail = v.onFail {
                out.append(Edge(from: s.id, to: steps[onFail.retry].id, kind: .retry, attempts: onFail.attempts))
            }
        }
        return out
    }

    public func render(_ format: Format) -> String {
        switch format {
        case .mermaid: mermaid()
        case .dot: dot()
        case .json: json.prettyJSONText + "\n"
        }
    }

    func label(_ s: CompiledStep) -> String {
        var parts = ["\(s.id): \(s.kind.rawValue)"]
        if let r = s.route { parts.append(r.name) }
        parts.append(s.type.description)
        if let c = s.condition { parts.append("if " + c.text) }
        return parts.joined(separator: "\n")
    }

    func mermaid() -> String {
        func esc(_ s: String) -> String {
            s.replacing("\"", with: "#quot;").replacing("<", with: "#lt;").replacing(">", with: "#gt;").replacing("\n", with: "<br/>")
        }
        var out = "flowchart TD\n"
        out += "  start((start)) --> \(steps.first?.id ?? "end_")\n"
        for s in steps {
            let text = esc(label(s))
            out += s.kind == .route ? "  \(s.id){\"\(text)\"}\n" : "  \(s.id)[\"\(text)\"]\n"
        }
        out += "  end_((end))\n"
        for e in edges {
            let to = e.to == "end" ? "end_" : e.to
            switch e.kind {
            case .next: out += "  \(e.from) --> \(to)\n"
            case .branch: out += "  \(e.from) -->|\"\(esc(e.condition ?? ""))\"| \(to)\n"
            case .otherwise: out += "  \(e.from) -->|else| \(to)\n"
            case .skip: out += "  \(e.from) -.->|skipped| \(to)\n"
            case .retry: out += "  \(e.from) -.->|\"retry ×\(e.attempts ?? 1)\"| \(to)\n"
            }
        }
        return out
    }

    func dot() -> String {
        func esc(_ s: String) -> String { s.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"").replacing("\n", with: "\\n") }
        var out = "digraph \"\(esc(name ?? "workflow"))\" {\n  rankdir=TB;\n  node [shape=box, fontname=\"Helvetica\"];\n"
        out += "  \"start\" [shape=circle, label=\"start\"];\n  \"end\" [shape=doublecircle, label=\"end\"];\n"
        if let first = steps.first { out += "  \"start\" -> \"\(first.id)\";\n" }
        for s in steps {
            out += "  \"\(s.id)\" [label=\"\(esc(label(s)))\"\(s.kind == .route ? ", shape=diamond" : "")];\n"
        }
        for e in edges {
            var attrs: [String] = []
            switch e.kind {
            case .next: break
            case .branch: attrs.append("label=\"\(esc(e.condition ?? ""))\"")
            case .otherwise: attrs.append("label=\"else\"")
            case .skip: attrs += ["label=\"skipped\"", "style=dotted"]
            case .retry: attrs += ["label=\"retry ×\(e.attempts ?? 1)\"", "style=dashed"]
            }
            out += "  \"\(e.from)\" -> \"\(e.to)\"" + (attrs.isEmpty ? "" : " [\(attrs.joined(separator: ", "))]") + ";\n"
        }
        return out + "}\n"
    }

    public var json: JSONValue {
        .object([
            "name": name.map(JSONValue.string) ?? .null,
            "file": .string(file),
            "inputs": .array(
                inputs.map {
                    .object(["name": .string($0.name), "type": .string($0.type.description), "required": .bool($0.isRequired)])
                }),
            "output": .string(outputType.description),
            "nodes": .array(steps.map(Self.nodeJSON)),
            "edges": .array(
                edges.map { e in
                    .object([
                        "from": .string(e.from), "to": .string(e.to), "kind": .string(e.kind.rawValue),
                        "condition": e.condition.map(JSONValue.string) ?? .null,
                        "attempts": e.attempts.map { .number(Double($0)) } ?? .null,
                    ])
                }),
        ])
    }

    static func nodeJSON(_ s: CompiledStep) -> JSONValue {
        var o: [String: JSONValue] = [
            "id": .string(s.id), "kind": .string(s.kind.rawValue), "type": .string(s.type.description),
            "model": s.route.map { .string($0.name) } ?? .null,
            "models": .array((s.route?.models ?? []).map(JSONValue.string)),
            "if": s.condition.map { .string($0.text) } ?? .null,
            "max_executions": .number(Double(s.maxExecutions)),
            "line": .number(Double(s.span.start.line)), "column": .number(Double(s.span.start.column)),
        ]
        switch s.payload {
        case .map(let m):
            o["step"] = nodeJSON(m.step)
            o["max_items"] = m.maxItems.map { .number(Double($0)) } ?? .null
        case .use(let u):
            o["workflow"] = .string(u.program.name ?? u.alias)
        case .recall(let r):
            o["top_k"] = .number(Double(r.topK))
            o["embed"] = r.embed.map(JSONValue.string) ?? .null
        case .remember(let r):
            o["embed"] = r.embed.map(JSONValue.string) ?? .null
        case .classify, .extract, .pattern, .route, .call, .validate, .transform: break
        }
        return .object(o)
    }
}
