import Foundation

/// The command that wrote a metrics file.
public enum RunCommand: String, Sendable {
    case train, federated, cloudEdge = "cloud-edge"
}

/// One JSON object of a metrics file, with the line it came from.
public struct MetricsRecord: @unchecked Sendable {
    public let line: Int
    public let fields: [String: Any]

    public var event: String { fields["event"] as? String ?? "" }

    /// A numeric field (JSON null, for a non-finite value, reads as NaN).
    public func number(_ key: String) -> Double? {
        if fields[key] is NSNull { return .nan }
        guard let n = fields[key] as? NSNumber else { return nil }
        return n.doubleValue
    }

    public func string(_ key: String) -> String? { fields[key] as? String }

    /// Whether a decoded JSON value is `true` or `false` (Foundation's
    /// numbers 0 and 1 also cast to Bool, so the cast cannot tell).
    static func isBoolean(_ v: Any) -> Bool { "\(type(of: v))".hasSuffix("Boolean") }
}

/// A problem with a report's input, as one line naming the file and line.
public enum ReportError: Error, CustomStringConvertible, Equatable {
    case unreadable(file: String, reason: String)
    case badLine(file: String, line: Int, problem: String)
    case empty(file: String)

    public var description: String {
        switch self {
        case .unreadable(let file, let reason): return "\(file): cannot read: \(reason)"
        case .badLine(let file, let line, let problem): return "\(file):\(line): \(problem)"
        case .empty(let file): return "\(file): no metrics records (an empty file, or the run wrote none yet)"
        }
    }
}

/// A file name without the extension `ext` (a run's or a trace's short name).
func shortName(_ fileName: String, dropping ext: String) -> String {
    fileName.hasSuffix("." + ext) ? String(fileName.dropLast(ext.count + 1)) : fileName
}

/// A metrics file of `train`, `federated` or `cloud-edge` (`--metrics FILE`,
/// docs/metrics.md), read whole. A last line cut short (a run killed while
/// writing stdout, a copy of a file being written) is left out with a
/// warning, so a report of a run in progress shows what exists so far;
/// any other line that is not a record of one of those commands is an error.
public struct MetricsFile: @unchecked Sendable {
    public let path: String
    public let command: RunCommand
    public let records: [MetricsRecord]
    /// Lines left out, each naming the file and the line.
    public let warnings: [String]

    public var final: MetricsRecord? { records.last { $0.event == "final" } }
    public func events(_ name: String) -> [MetricsRecord] { records.filter { $0.event == name } }

    /// The short name of the run: the file name without `.jsonl`, made
    /// distinct from the other runs' by a `Report` (`distinctNames`).
    public internal(set) var name: String

    public init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "permission denied or not a file" : "no such file"
            throw ReportError.unreadable(file: path, reason: reason)
        }
        try self.init(path: path, bytes: [UInt8](data))
    }

    public init(path: String, bytes: [UInt8]) throws {
        self.path = path
        self.name = shortName((path as NSString).lastPathComponent, dropping: "jsonl")
        let text = String(decoding: bytes, as: UTF8.self)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let complete = text.hasSuffix("\n") || text.isEmpty
        if lines.last == "" { lines.removeLast() }
        var records = [MetricsRecord]()
        var warnings = [String]()
        var command: RunCommand?
        for (k, line) in lines.enumerated() where !line.allSatisfy(\.isWhitespace) {
            let number = k + 1
            let isLast = k == lines.count - 1
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) else {
                if isLast && !complete {
                    warnings.append("\(path):\(number): the last line is cut short (the run was killed or is still writing); left out")
                    break
                }
                throw ReportError.badLine(file: path, line: number, problem: "not JSON: \(line.prefix(60))")
            }
            guard let fields = object as? [String: Any] else {
                throw ReportError.badLine(file: path, line: number, problem: "not a JSON object")
            }
            guard let event = fields["event"] as? String else {
                throw ReportError.badLine(file: path, line: number, problem: """
                    not a metrics record of train, federated or cloud-edge (no "event" key; `edgetrain bench` output?)
                    """)
            }
            let record = MetricsRecord(line: number, fields: fields)
            guard let kind = Self.command(of: record) else {
                throw ReportError.badLine(file: path, line: number, problem: "unknown record \"\(event)\" (expected eval, epoch, round or final)")
            }
            if let command, kind != command {
                throw ReportError.badLine(file: path, line: number, problem: "a \(kind.rawValue) record in a \(command.rawValue) metrics file")
            }
            command = kind
            records.append(record)
        }
        guard let command else { throw ReportError.empty(file: path) }
        self.command = command
        self.records = records
        self.warnings = warnings
    }

    /// Which command writes a record like this one (docs/metrics.md), or nil.
    static func command(of r: MetricsRecord) -> RunCommand? {
        switch r.event {
        case "eval", "epoch": return .train
        case "round": return r.fields["cloud_test_accuracy"] != nil ? .cloudEdge : (r.fields["clients"] != nil ? .federated : nil)
        case "final":
            if r.fields["cut_layer"] != nil { return .cloudEdge }
            if r.fields["mode"] != nil { return .federated }
            return r.fields["samples_per_s"] != nil ? .train : nil
        default: return nil
        }
    }
}
