import Foundation
import RunSupport

/// Prints one record as one JSON object on one line, keys sorted, to stdout.
func printJSONLine<Record: Encodable>(_ record: Record) throws {
    print(try jsonLine(record))
}

/// Seconds in a short human form.
func fmt(_ seconds: Double) -> String {
    if seconds >= 1 { return String(format: "%.3fs", seconds) }
    if seconds >= 1e-3 { return String(format: "%.3fms", seconds * 1e3) }
    return String(format: "%.1fus", seconds * 1e6)
}

/// Left-aligns `text` in a column of `width`.
func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
}
