import PrellmRegex
import PrellmSchema
import Testing

/// Schemas and data written to break the validator: numbers no Int holds, keywords with
/// values the meta-schema forbids, and inputs that make naive checks quadratic or exponential.
@Suite struct HostileInputTests {
    static func errors(_ schema: String, _ data: String) throws -> [ValidationError] {
        try JSONSchema(JSONParser.parse(schema)).validate(JSONParser.parse(data))
    }

    /// Each count keyword with a bound no Int holds: the message used to convert it with
    /// `Int(_:)`, which traps; now it is printed as the number the schema wrote.
    @Test(arguments: [
        (#"{"minLength": 1e300}"#, #""a""#, "string has 1 characters; at least 1e+300 are required"),
        (#"{"maxLength": -1e300}"#, #""a""#, "string has 1 characters; at most -1e+300 are allowed"),
        (#"{"maxItems": -1e300}"#, "[1]", "array has 1 items; at most -1e+300 are allowed"),
        (#"{"minItems": 1e19}"#, "[1]", "array has 1 items; at least 10000000000000000000 are required"),
        (#"{"minProperties": 1e20}"#, #"{"a": 1}"#, "object has 1 properties; at least 100000000000000000000 are required"),
        (#"{"maxProperties": -1e20}"#, #"{"a": 1}"#, "object has 1 properties; at most -100000000000000000000 are allowed"),
        (#"{"contains": true, "minContains": 1e19}"#, "[1]", "array contains 1 matching items; at least 10000000000000000000 are required"),
        (#"{"contains": true, "maxContains": -1e19}"#, "[1]", "array contains 1 matching items; at most -10000000000000000000 are allowed"),
    ])
    func countsBeyondIntAreReportedNotTrapped(schema: String, data: String, message: String) throws {
        #expect(try Self.errors(schema, data).map(\.message) == [message])
    }
}

@Suite struct OutOfRangeNumberTests {
    /// `1e999` used to become infinity: printed as null ("null is greater than the maximum")
    /// and equal to every other overflowing literal (`{"enum": [1e400]}` accepted `1e401`).
    /// The error points at the number's first character.
    @Test(arguments: [
        ("1e999", 1), ("[1, -1e400]", 5), (#"{"enum": [1e400]}"#, 11), ("1" + String(repeating: "0", count: 400), 1),
    ])
    func overflowingNumbersAreParseErrors(text: String, column: Int) throws {
        let error = try #require(throws: JSONParser.ParseError.self) { try JSONParser.parse(text) }
        #expect(error.message.contains("is outside the range of a 64-bit float"))
        #expect(error.line == 1 && error.column == column)
    }

    /// Tiny and merely long numbers still parse: only overflow is refused.
    @Test func underflowAndLongMantissasStillParse() throws {
        #expect(try JSONParser.parse("1e-400") == .number(0))
        #expect(try JSONParser.parse("1.7976931348623157e308") == .number(.greatestFiniteMagnitude))
    }
}

@Suite struct KeywordRuleTests {
    static func problems(_ schema: String) throws -> [String] {
        try JSONSchema(JSONParser.parse(schema)).keywordProblems().map(\.description)
    }

    /// Values the meta-schema forbids, which validation used to accept silently (or, for
    /// `minLength: 1.5`, report as "1 characters; at least 1 are required").
    @Test(arguments: [
        (#"{"multipleOf": 0}"#, "at '/': 'multipleOf' must be greater than 0, found 0"),
        (#"{"minLength": -1}"#, "at '/': 'minLength' must be a non-negative integer, found -1"),
        (#"{"minLength": 1.5}"#, "at '/': 'minLength' must be a non-negative integer, found 1.5"),
        (#"{"minLength": 1e300}"#, "at '/': 'minLength' must be at most 2^53 (9007199254740992), found 1e+300"),
        (#"{"properties": {"a/b": {"maxItems": "3"}}}"#, #"at '/properties/a~1b': 'maxItems' must be a non-negative integer, found "3""#),
        (#"{"items": {"minimum": null}}"#, "at '/items': 'minimum' must be a number, found null"),
        (#"{"type": ["string", "text"]}"#, "at '/': 'type' 'text' is not a type (one of array, boolean, integer, null, number, object, string)"),
        (#"{"required": ["a", "a"]}"#, #"at '/': 'required' lists a name twice: ["a","a"]"#),
        (#"{"enum": 3}"#, "at '/': 'enum' must be a list of values, found 3"),
        (#"{"anyOf": []}"#, "at '/': 'anyOf' must be a non-empty list of schemas, found []"),
        (#"{"allOf": [3]}"#, "at '/allOf/0': 'allOf' needs a schema (an object or true/false), found 3"),
        (#"{"pattern": "("}"#, "at '/': 'pattern' '(' is not a valid pattern"),
        (#"{"dependentRequired": {"a": [1]}}"#, "at '/': 'dependentRequired' entry 'a' must be a list of property names, found [1]"),
    ])
    func forbiddenValuesAreSchemaErrors(schema: String, problem: String) throws {
        #expect(try Self.problems(schema) == [problem])
    }

    /// A schema read from YAML can hold infinity (`1e400`), which JSON cannot; as a bound it
    /// would compare, so it is refused like any other non-number.
    @Test func infiniteBoundsAreSchemaErrors() {
        let problems = JSONSchema(.object(["maximum": .number(.infinity), "minLength": .number(-.infinity)])).keywordProblems()
        #expect(
            problems.map(\.description) == [
                "at '/': 'maximum' must be a number, found infinity",
                "at '/': 'minLength' must be a non-negative integer, found -infinity",
            ])
    }

    /// Edge values the meta-schema allows stay allowed: 2.0 is an integer, 0 a count.
    @Test func allowedValuesPass() throws {
        let schema = #"""
            {"minLength": 2.0, "maxItems": 0, "multipleOf": 0.5, "type": "integer", "required": [], "enum": [],
             "$defs": {"a": {"uniqueItems": false, "minContains": 9007199254740992}}, "patternProperties": {"^x-": true}}
            """#
        #expect(try Self.problems(schema) == [])
    }
}

/// Checks whose naive form is quadratic in the instance. Linear, each takes about a second in
/// a debug build; quadratic, each took minutes. The bound leaves room for a loaded machine.
@Suite struct QuadraticPathTests {
    static let clock = ContinuousClock()

    static func timed(_ schema: JSONValue, _ data: JSONValue) -> (errors: [ValidationError], seconds: Double) {
        let s = JSONSchema(schema)
        let start = clock.now
        let errors = s.validate(data)
        let d = clock.now - start
        return (errors, Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
    }

    @Test func uniqueItemsOverManySmallObjectsIsLinear() {
        let items = (0..<30_000).map { JSONValue.object(["a": .number(Double($0)), "b": .string("\($0)")]) }
        let (valid, seconds) = Self.timed(.object(["uniqueItems": true]), .array(items))
        #expect(valid.isEmpty)
        #expect(seconds < 10, "uniqueItems over 30,000 objects took \(seconds) s")
        let (repeated, _) = Self.timed(.object(["uniqueItems": true]), .array(items + [items[12_345]]))
        #expect(repeated.map(\.message) == ["item 30000 repeats an earlier item; items must be unique"])
    }

    @Test func uniqueItemsOverStringsWithALongSharedPrefixIsLinear() {
        let prefix = String(repeating: "p", count: 64)
        let items = (0..<30_000).map { JSONValue.string(prefix + "\($0)") }
        let (errors, seconds) = Self.timed(.object(["uniqueItems": true]), .array(items))
        #expect(errors.isEmpty)
        #expect(seconds < 10, "uniqueItems over 30,000 strings took \(seconds) s")
    }

    @Test func largeEnumOverManyItemsIsLinear() {
        let values = (0..<20_000).map { JSONValue.number(Double($0)) }
        let schema = JSONValue.object(["items": .object(["enum": .array(values)])])
        let (errors, seconds) = Self.timed(schema, .array(values.reversed() + [.number(-1)]))
        #expect(errors.map(\.message) == ["value -1 is not one of 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, … (20000 values)"])
        #expect(seconds < 10, "items.enum of 20,000 values over 20,000 items took \(seconds) s")
    }

    /// Two schemas at one keyword path (`properties` names are not escaped in it) keep their
    /// own enums: the cached set of one must not answer for the other.
    @Test func enumsThatShareAKeywordPathStayApart() throws {
        let first = (0..<20).map { "\($0)" }.map { "\"\($0)\"" }.joined(separator: ",")
        let second = (20..<40).map { "\"\($0)\"" }.joined(separator: ",")
        let schema = try JSONParser.parse(
            #"{"properties": {"a": {"properties": {"b": {"enum": [\#(first)]}}}, "a/properties/b": {"enum": [\#(second)]}}}"#)
        let data = try JSONParser.parse(#"{"a": {"b": "1"}, "a/properties/b": "1"}"#)
        #expect(JSONSchema(schema).validate(data).map(\.instanceLocation) == ["/a~1properties~1b"])
    }
}

/// Patterns with exponential backtracking: each search stops at PCRE2's match limit and
/// becomes an error naming the pattern, instead of running to the default limit (10x higher)
/// for every string and then reading as "does not match".
@Suite struct BacktrackingPatternTests {
    static let hostile = String(repeating: "a", count: 30) + "b"

    @Test func searchSaysWhenItStoppedAtTheLimit() throws {
        let re = try PCRERegex("^(a+)+$")
        #expect(re.search(Self.hostile) == .tooComplex)
        #expect(re.search("aaa") == .match)
        #expect(re.search("b") == .noMatch)
    }

    @Test func patternOverManyStringsIsAnErrorNamingIt() {
        let schema = JSONValue.object(["items": .object(["pattern": "^(a+)+$"])])
        let (errors, seconds) = QuadraticPathTests.timed(schema, .array(Array(repeating: .string(Self.hostile), count: 2_000)))
        #expect(errors.count == 64)
        #expect(
            errors.first?.message
                == "the pattern '^(a+)+$' needs more than 1000000 backtracking steps on this value; rewrite it without nested or overlapping repetition"
        )
        #expect(errors.first?.instanceLocation == "/0" && errors.first?.keywordLocation == "/items/pattern")
        #expect(seconds < 10, "2,000 hostile strings took \(seconds) s")
    }

    @Test func patternPropertiesOverManyKeysIsAnErrorNamingIt() {
        let keys = (0..<2_000).map { (Self.hostile + "\($0)", JSONValue.number(1)) }
        let schema = JSONValue.object(["patternProperties": .object(["(a|a)*$": false])])
        let (errors, seconds) = QuadraticPathTests.timed(schema, .object(Dictionary(uniqueKeysWithValues: keys)))
        #expect(!errors.isEmpty)
        #expect(errors.allSatisfy { $0.message.hasPrefix("the pattern '(a|a)*$' needs more than") })
        #expect(errors.allSatisfy { $0.keywordLocation == "/patternProperties/(a|a)*$" })
        #expect(seconds < 10, "2,000 hostile keys took \(seconds) s")
    }

    /// Ordinary patterns on long strings stay under the limits. This one used to run out of
    /// the JIT's stack and read as "does not match".
    @Test func ordinaryPatternsOnLongStringsStillMatch() {
        let long = String(repeating: "ab1-", count: 50_000)
        let errors = JSONSchema(.object(["pattern": "^([a-z]+[0-9]-)+$"])).validate(.string(long))
        #expect(errors.isEmpty)
    }
}

/// Schemas that branch at every level: evaluated naively they are exponential, and the step
/// budget used to give up on them ("takes too long to check") after seconds.
@Suite struct BranchingReferenceTests {
    /// 24 levels of `allOf: [$ref: next, $ref: next]`: 2^24 evaluations unless the second
    /// visit of each level reuses the first.
    static func chain(levels: Int, leaf: JSONValue) -> JSONValue {
        var defs: [String: JSONValue] = ["d\(levels)": leaf]
        for i in 0..<levels {
            let next = JSONValue.object(["$ref": .string("#/$defs/d\(i + 1)")])
            defs["d\(i)"] = .object(["allOf": .array([next, next])])
        }
        return .object(["$ref": "#/$defs/d0", "$defs": .object(defs)])
    }

    @Test func branchingChainIsCheckedNotAbandoned() {
        let schema = JSONSchema(Self.chain(levels: 24, leaf: .object(["type": "integer"])))
        let (valid, seconds) = QuadraticPathTests.timed(Self.chain(levels: 24, leaf: .object(["type": "integer"])), .number(1))
        #expect(valid.isEmpty)
        #expect(seconds < 5, "24 branching levels took \(seconds) s")
        #expect(schema.isValid(.number(1)))
        #expect(!schema.isValid(.string("x")))
    }

    /// A self-referring dynamic anchor is a cycle that reads no input; the message names the
    /// keyword that closes it (it said `$ref` for a `$dynamicRef`).
    @Test func aDynamicReferenceCycleNamesItsKeyword() throws {
        let schema = try JSONParser.parse(##"{"$dynamicAnchor":"m","anyOf":[{"$dynamicRef":"#m"},{"$dynamicRef":"#m"}]}"##)
        let cycle = try #require(JSONSchema(schema).referenceCycle())
        #expect(cycle.message == "$dynamicRef '#m' leads back to itself without reading into the value, so checking would never end")
    }

    /// An error found once is reported on every path that reaches it, with that path's keyword location.
    @Test func rememberedErrorsKeepTheirPaths() {
        let errors = JSONSchema(Self.chain(levels: 2, leaf: .object(["type": "integer"]))).validate(.string("x"))
        let paths = Set(errors.map(\.keywordLocation))
        #expect(errors.count == 4 && paths.count == 4)
        #expect(paths.contains("/$ref/allOf/1/$ref/allOf/1/$ref/type"))
        #expect(errors.allSatisfy { $0.message == "expected integer, found string" })
    }

    /// `propertyNames` checks a name at its value's location; the value's result must not answer for it.
    @Test func propertyNamesAreNotConfusedWithValues() throws {
        let schema = try JSONParser.parse(
            ##"{"$defs": {"s": {"type": "string"}}, "additionalProperties": {"$ref": "#/$defs/s"}, "propertyNames": {"$ref": "#/$defs/s"}}"##)
        let errors = JSONSchema(schema).validate(try JSONParser.parse(#"{"b": 1}"#))
        #expect(errors.map(\.keywordLocation) == ["/additionalProperties/$ref/type"])
    }
}
