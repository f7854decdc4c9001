/// PromptText is the text the program adds to what a workflow writes: the directive after a
/// structured step's instructions, and the re-ask messages that carry validation errors back to
/// a model. It lives with the program because the runtime sends exactly this and the cost bound
/// counts exactly this; one copy keeps the two in agreement.
public enum PromptText {
    /// What a classify step asks for after its instructions.
    public static func classify(labels: [String]) -> String {
        "Classify the text into exactly one of these labels: \(labels.joined(separator: ", ")). "
            + "Reply with only a JSON object: {\"label\": one of the labels, \"confidence\": a number from 0 to 1}."
    }

    /// What an extract step asks for after its instructions.
    public static func extract(schemaText: String) -> String {
        "Extract the information from the text. Reply with only a JSON value that satisfies this JSON Schema:\n" + schemaText
    }

    /// What a call step with `output: CONTRACT` adds after its system prompt.
    public static func callOutput(schemaText: String) -> String {
        "Reply with only a JSON value that satisfies this JSON Schema:\n" + schemaText
    }

    /// A structured step (classify, extract, call with `output`) asks this many times at most: a
    /// first answer that does not satisfy its schema is re-asked once with the problems.
    public static let structuredAttempts = 2

    /// The separator between a step's own instructions and the directive.
    public static let separator = "\n\n"

    /// At most this many problems are listed in a re-ask, each cut to `maxProblemBytes`: a
    /// model is not helped by a thousand errors, and a re-ask must have a bounded size.
    public static let maxProblems = 10
    public static let maxProblemBytes = 300

    /// The user turn of a validate step's re-ask.
    public static func validationReask(_ problems: [String]) -> String {
        "Your answer did not pass validation:\n" + list(problems) + "\nAnswer again in full, fixing every error."
    }

    /// The user turn of a structured step's own re-ask, when the answer is not valid JSON for its schema.
    public static func structuredReask(_ problems: [String]) -> String {
        "That answer is not valid:\n" + list(problems) + "\nReply again with only the corrected JSON."
    }

    /// The most UTF-8 bytes either re-ask turn can have.
    public static let maxReaskBytes: Int = {
        let longest = String(repeating: "x", count: maxProblemBytes)
        let full = Array(repeating: longest, count: maxProblems + 1)
        return max(validationReask(full).utf8.count, structuredReask(full).utf8.count) + 32
    }()

    static func list(_ problems: [String]) -> String {
        var lines = problems.prefix(maxProblems).map { "- " + truncated($0) }
        if problems.count > maxProblems { lines.append("- … and \(problems.count - maxProblems) more") }
        return lines.joined(separator: "\n")
    }

    /// A problem cut to at most `maxProblemBytes` bytes, at a character boundary.
    static func truncated(_ s: String) -> String {
        guard s.utf8.count > maxProblemBytes else { return s }
        var out = ""
        for c in s {
            if out.utf8.count + c.utf8.count > maxProblemBytes - 3 { break }
            out.append(c)
        }
        return out + "…"
    }
}
