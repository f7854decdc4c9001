import PrellmSchema

/// Printing a StepGraph as Mermaid, Graphviz DOT or JSON (`prellm graph`).
extension StepGraph {
    public enum Format: String, Sendable, CaseIterable { case mermaid, dot, json }

    public func render(_ format: Format) -> String {
        switch format {
        case .mermaid: mermaid()
        case .dot: dot()
        case .json: json.prettyJSONText + "\n"
        }
    }

    func label(_ n: Node) -> String {
        var parts = ["\(n.id): \(n.kind.rawValue)"]
        if let m = n.model { parts.append(m) }
        parts.append(n.type.description)
        if let c = n.condition { parts.append("if " + c) }
        return parts.joined(separator: "\n")
    }

    func mermaid() -> String {
        func esc(_ s: String) -> String {
            s.replacing("\"", with: "#quot;").replacing("<", with: "#lt;").replacing(">", with: "#gt;").replacing("\n", with: "<br/>")
        }
        var out = "flowchart TD\n"
        out += "  start((start)) --> \(nodes.first?.id ?? "end_")\n"
        for n in nodes {
            let text = esc(label(n))
            out += n.kind == .route ? "  \(n.id){\"\(text)\"}\n" : "  \(n.id)[\"\(text)\"]\n"
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
        if let first = nodes.first { out += "  \"start\" -> \"\(first.id)\";\n" }
        for n in nodes {
            out += "  \"\(n.id)\" [label=\"\(esc(label(n)))\"\(n.kind == .route ? ", shape=diamond" : "")];\n"
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
            "inputs": .array(inputs.map { .object(["name": .string($0.name), "type": .string($0.type.description), "required": .bool($0.required)]) }),
            "output": .string(outputType.description),
            "nodes": .array(nodes.map { n in
                .object([
                    "id": .string(n.id), "kind": .string(n.kind.rawValue), "type": .string(n.type.description),
                    "model": n.model.map(JSONValue.string) ?? .null, "models": .array(n.models.map(JSONValue.string)),
                    "if": n.condition.map(JSONValue.string) ?? .null,
                    "line": .number(Double(n.span.start.line)), "column": .number(Double(n.span.start.column)),
                ])
            }),
            "edges": .array(edges.map { e in
                .object([
                    "from": .string(e.from), "to": .string(e.to), "kind": .string(e.kind.rawValue),
                    "condition": e.condition.map(JSONValue.string) ?? .null,
                    "attempts": e.attempts.map { .number(Double($0)) } ?? .null,
                ])
            }),
        ])
    }
}
