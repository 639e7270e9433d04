import Foundation
import XCTest

/// The record schema of `docs/metrics.md`, parsed from its `### schema:`
/// tables, and the check every integration test applies to the records it
/// reads (`jsonRecords`, `MPIJob.Outcome.jsonLines`): the record's schema is
/// known, every `always` field is present, no field is outside the table,
/// and every value has the listed JSON type.
struct MetricsSchema {
    struct Field {
        let name: String
        let type: String
        let required: Bool
    }

    /// Schema name (`train final`, `bench allreduce`, ...) to its fields.
    let schemas: [String: [Field]]

    /// The one in `docs/metrics.md`, parsed once.
    static let documented: MetricsSchema = {
        let doc = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/metrics.md")
        do {
            return try MetricsSchema(markdown: String(contentsOf: doc, encoding: .utf8))
        } catch {
            XCTFail("\(doc.path): \(error)")
            return MetricsSchema(schemas: [:])
        }
    }()

    init(schemas: [String: [Field]]) {
        self.schemas = schemas
    }

    struct ParseError: Error, CustomStringConvertible {
        let description: String
    }

    /// Parses each `### schema: NAME` heading and the table after it
    /// (`field | type | required | unit | meaning`). A field `{a,b}_x`
    /// stands for `a_x` and `b_x`.
    init(markdown: String) throws {
        var schemas = [String: [Field]]()
        var current: String?
        for raw in markdown.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("### schema: ") {
                current = String(line.dropFirst("### schema: ".count))
                schemas[current!] = []
                continue
            }
            if line.hasPrefix("#") { current = nil }
            guard let name = current, line.hasPrefix("|") else { continue }
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).dropFirst().dropLast()
                .map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count == 5 else { throw ParseError(description: "schema \(name): row with \(cells.count) cells: \(line)") }
            if cells[0] == "field" || cells[0].hasPrefix("---") { continue }
            guard cells[2] == "always" || cells[2].hasPrefix("optional:") else {
                throw ParseError(description: "schema \(name), field \(cells[0]): required is neither always nor optional: ...")
            }
            for field in Self.expand(cells[0]) {
                schemas[name]!.append(Field(name: field, type: cells[1], required: cells[2] == "always"))
            }
        }
        guard !schemas.isEmpty, schemas.values.allSatisfy({ !$0.isEmpty }) else {
            throw ParseError(description: "no schema tables, or an empty one")
        }
        self.schemas = schemas
    }

    /// `{a,b}_x` -> [`a_x`, `b_x`].
    static func expand(_ pattern: String) -> [String] {
        guard let open = pattern.firstIndex(of: "{"), let close = pattern.firstIndex(of: "}") else { return [pattern] }
        let prefix = pattern[..<open], suffix = pattern[pattern.index(after: close)...]
        return pattern[pattern.index(after: open)..<close].split(separator: ",").map { String(prefix + $0 + suffix) }
    }

    /// The schemas a record of `command` can match: `train`, `federated`,
    /// `cloud-edge` (by its `event`), or `bench train` etc.; nil command: a
    /// metrics file of any mode.
    func candidates(for record: JSONValue, command: String?) -> [String] {
        if let command, command.hasPrefix("bench ") { return [command] }
        guard case let .object(fields) = record, case let .string(event)? = fields["event"] else { return [] }
        let modes = command.map { [$0] } ?? ["train", "federated", "cloud-edge"]
        return modes.map { "\($0) \(event)" }.filter { schemas[$0] != nil }
    }

    /// Problems of one JSON line, empty when it matches one of its candidate
    /// schemas.
    func problems(line: String, command: String?) -> [String] {
        guard let record = try? JSONDecoder().decode(JSONValue.self, from: Data(line.utf8)) else {
            return ["not JSON: \(line)"]
        }
        let names = candidates(for: record, command: command)
        guard !names.isEmpty else { return ["no schema in docs/metrics.md for this record (command \(command ?? "?")): \(line)"] }
        var all = [String]()
        for name in names {
            let found = problems(record, schema: name)
            if found.isEmpty { return [] }
            all += found.map { "\(name): \($0)" }
        }
        return all + ["in: \(line)"]
    }

    /// Problems of `record` against the schema `name`.
    func problems(_ record: JSONValue, schema name: String, path: String = "") -> [String] {
        guard let fields = schemas[name] else { return ["\(path)unknown schema \(name)"] }
        guard case let .object(object) = record else { return ["\(path)not an object"] }
        var found = [String]()
        if name.split(separator: " ").count == 2, !name.hasPrefix("bench "), let event = name.split(separator: " ").last {
            if object["event"] != .string(String(event)) { found.append("\(path)event is not \"\(event)\"") }
        }
        for f in fields where f.required && object[f.name] == nil {
            found.append("\(path)missing required field \(f.name)")
        }
        for (key, value) in object.sorted(by: { $0.key < $1.key }) {
            guard let f = fields.first(where: { $0.name == key }) else {
                found.append("\(path)field \(key) is not in the schema")
                continue
            }
            found += problems(value, type: f.type, path: "\(path)\(key)")
        }
        return found
    }

    /// Problems of one value against a type of the `type` column.
    func problems(_ value: JSONValue, type: String, path: String) -> [String] {
        let wrong = ["\(path): expected \(type), got \(value)"]
        if type.hasPrefix("array of ") {
            guard case let .array(items) = value else { return wrong }
            let element = String(type.dropFirst("array of ".count))
            return items.enumerated().flatMap { i, item in
                schemas[element] != nil ? problems(item, schema: element, path: "\(path)[\(i)].")
                                        : problems(item, type: element, path: "\(path)[\(i)]")
            }
        }
        if type.hasPrefix("object of ") {
            guard case let .object(items) = value else { return wrong }
            let element = String(type.dropFirst("object of ".count))
            return items.flatMap { key, item in problems(item, type: element, path: "\(path).\(key)") }
        }
        switch (type, value) {
        case ("integer", .integer), ("number", .integer), ("number", .number), ("number", .null),
             ("string", .string), ("boolean", .boolean):
            return []
        case ("integer", _), ("number", _), ("string", _), ("boolean", _):
            return wrong
        default:
            return ["\(path): unknown type \(type) in docs/metrics.md"]
        }
    }

    /// Fails the calling test for every record of `lines` (JSON lines) that
    /// does not match.
    func check(_ lines: [String], command: String?, file: StaticString = #filePath, line: UInt = #line) {
        for text in lines {
            for problem in problems(line: text, command: command) {
                XCTFail("docs/metrics.md: \(problem)", file: file, line: line)
            }
        }
    }
}

/// A JSON value as the schema sees it: integers apart from other numbers.
enum JSONValue: Decodable, Equatable, CustomStringConvertible {
    case null, boolean(Bool), integer(Int64), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    init(from decoder: Decoder) throws {
        if var items = try? decoder.unkeyedContainer() {
            var values = [JSONValue]()
            while !items.isAtEnd { values.append(try items.decode(JSONValue.self)) }
            self = .array(values)
            return
        }
        if let keyed = try? decoder.container(keyedBy: AnyKey.self) {
            var values = [String: JSONValue]()
            for key in keyed.allKeys { values[key.stringValue] = try keyed.decode(JSONValue.self, forKey: key) }
            self = .object(values)
            return
        }
        let single = try decoder.singleValueContainer()
        if single.decodeNil() {
            self = .null
        } else if let b = try? single.decode(Bool.self) {
            self = .boolean(b)
        } else if let i = try? single.decode(Int64.self) {
            self = .integer(i)
        } else if let d = try? single.decode(Double.self) {
            self = .number(d)
        } else {
            self = .string(try single.decode(String.self))
        }
    }

    var description: String {
        switch self {
        case .null: return "null"
        case let .boolean(b): return "boolean \(b)"
        case let .integer(i): return "integer \(i)"
        case let .number(d): return "number \(d)"
        case let .string(s): return "string \"\(s)\""
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    struct AnyKey: CodingKey {
        let stringValue: String
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
        var intValue: Int? { nil }
    }
}
