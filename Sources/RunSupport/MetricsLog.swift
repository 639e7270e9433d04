import Foundation

/// JSON Lines metrics: one object per line, keys sorted, units in the keys
/// (`wall_s`, `bytes_sent`). The whole file is rewritten atomically after
/// every record, so a crash never leaves a torn line and never loses a
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
    public func append(_ record: [String: Any]) throws {
        lines.append(jsonLine(record))
        if let path {
            try writeAtomically(Array((lines.joined(separator: "\n") + "\n").utf8), to: path)
        }
    }
}

/// One JSON object on one line, keys sorted. Non-finite numbers become null.
public func jsonLine(_ object: [String: Any]) -> String {
    let clean = object.mapValues { value -> Any in
        if let d = value as? Double, !d.isFinite { return NSNull() }
        if let f = value as? Float, !f.isFinite { return NSNull() }
        return value
    }
    guard let data = try? JSONSerialization.data(withJSONObject: clean, options: [.sortedKeys, .withoutEscapingSlashes]) else {
        return "{}"
    }
    return String(decoding: data, as: UTF8.self)
}
