import Foundation

/// What rank 0 tells a person: short lines, with an ETA. With `quiet` the
/// lines go to standard error, so that standard output carries only JSON.
public struct ProgressPrinter {
    public let enabled: Bool
    public let toStandardError: Bool

    public init(enabled: Bool, toStandardError: Bool) {
        self.enabled = enabled
        self.toStandardError = toStandardError
    }

    public func line(_ text: String) {
        guard enabled else { return }
        let handle = toStandardError ? FileHandle.standardError : FileHandle.standardOutput
        handle.write(Data((text + "\n").utf8))
    }

    /// "12.3s" or "4m05s" or "1h02m".
    public static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        if seconds < 60 { return String(format: "%.1fs", seconds) }
        if seconds < 3600 { return String(format: "%dm%02ds", Int(seconds) / 60, Int(seconds) % 60) }
        return String(format: "%dh%02dm", Int(seconds) / 3600, (Int(seconds) % 3600) / 60)
    }

    /// Estimated seconds left after `done` of `total` units took `elapsed`.
    public static func eta(elapsed: Double, done: Int, total: Int) -> Double {
        done > 0 ? elapsed / Double(done) * Double(total - done) : .infinity
    }
}

/// Bytes in a short human form (decimal units).
public func formatBytes(_ bytes: Int) -> String {
    let b = Double(bytes)
    if b >= 1e9 { return String(format: "%.2f GB", b / 1e9) }
    if b >= 1e6 { return String(format: "%.2f MB", b / 1e6) }
    if b >= 1e3 { return String(format: "%.1f kB", b / 1e3) }
    return "\(bytes) B"
}
