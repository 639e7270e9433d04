import Foundation

/// JSON Lines metrics: one object per line, keys sorted, units in the keys
/// (`wall_s`, `bytes_sent`). Each mode declares its records as `Codable`
/// structs beside it (`TrainingRecords.swift`, `FederatedRecords.swift`);
/// `docs/metrics.md` is their schema. The whole file is rewritten atomically
/// after every record, so a crash never leaves a torn line and never loses a
/// record already written.
public final class MetricsLog {
    public let path: String?
    public private(set) var lines: [String] = []

    /// Records go to `path`; with nil they are only kept in memory.
    public init(path: String?) {
        self.path = path
    }

    /// Continues a resumed run: keeps the first `count` records of the
    /// existing file (those the checkpoint had seen) and rewrites it.
    public func restore(records count: Int) throws {
        guard let path else { return }
        let existing = (try? String(contentsOfFile: path, encoding: .utf8))?.split(separator: "\n").map(String.init) ?? []
        lines = Array(existing.prefix(count))
        try writeAtomically(Array((lines.joined(separator: "\n") + (lines.isEmpty ? "" : "\n")).utf8), to: path)
    }

    /// Adds one record and rewrites the file.
    public func append<Record: Encodable>(_ record: Record) throws {
        lines.append(try jsonLine(record))
        if let path {
            try writeAtomically(Array((lines.joined(separator: "\n") + "\n").utf8), to: path)
        }
    }
}

/// One record as one JSON object on one line: keys sorted, slashes
/// unescaped, optional fields that are nil left out, and non-finite numbers
/// written as `null` (JSON has no NaN or infinity; a record keeps its key,
/// for instance `time_to_target_s` before the target is reached).
public func jsonLine<Record: Encodable>(_ record: Record) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    // The encoder can only write a non-finite number as a string: it writes
    // this marker, which no record's text can hold (a NUL character), and
    // the marker becomes null below.
    encoder.nonConformingFloatEncodingStrategy = .convertToString(
        positiveInfinity: nonFiniteMarker, negativeInfinity: nonFiniteMarker, nan: nonFiniteMarker)
    let text = String(decoding: try encoder.encode(record), as: UTF8.self)
    return text.replacingOccurrences(of: #""\u0000non-finite""#, with: "null")
}

private let nonFiniteMarker = "\u{0}non-finite"
