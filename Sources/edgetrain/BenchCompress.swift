import ArgumentParser
import Foundation
import Compression

/// `edgetrain bench compress`: the Group-TopK kernel on one core.
struct BenchCompress: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compress",
        abstract: "Measure Group-TopK selection speed (input bytes per second, one core).",
        discussion: "Reports the plain kernel (gbps) and the kernel with error feedback (gbps_error_feedback)."
    )

    @Option(help: "Floats in the vector.")
    var size: Int = 25_165_824

    @Option(help: "Group sizes, comma-separated.")
    var groupSize: String = "1024"

    @Option(help: "Ratios (k = ratio x group size), comma-separated.")
    var ratio: String = "0.01"

    @Option(help: "Timed repetitions (median reported).")
    var iters: Int = 11

    @Flag(help: "Print one JSON object per configuration.")
    var json = false

    func validate() throws {
        try requireAtLeast(1, size, "--size")
        try requireAtLeast(1, iters, "--iters")
        for g in try parseList(groupSize, "--group-size", Int.init) { try checkGroupSize(g) }
        for r in try parseList(ratio, "--ratio", Double.init) { try checkRatio(r) }
    }

    func run() throws {
        for g in try parseList(groupSize, "--group-size", Int.init) {
            for r in try parseList(ratio, "--ratio", Double.init) {
                let m = measureCompression(length: size, groupSize: g, ratio: r, iterations: iters)
                if json {
                    printJSONLine([
                        "size": m.length, "group_size": m.groupSize, "ratio": m.ratio, "k": m.k,
                        "seconds": m.seconds, "gbps": m.gigabytesPerSecond,
                        "seconds_error_feedback": m.secondsWithFeedback,
                        "gbps_error_feedback": m.gigabytesPerSecondWithFeedback,
                        "memcpy_gbps": m.copyGigabytesPerSecond, "ratio_to_memcpy": m.gigabytesPerSecond / m.copyGigabytesPerSecond,
                    ])
                } else {
                    print(String(format: "group-topk size %d G %d r %g (k %d): %.2f GB/s (%.2f ms); with error feedback %.2f GB/s; memcpy %.2f GB/s (ratio %.2f)",
                                 m.length, m.groupSize, m.ratio, m.k, m.gigabytesPerSecond, m.seconds * 1e3,
                                 m.gigabytesPerSecondWithFeedback, m.copyGigabytesPerSecond,
                                 m.gigabytesPerSecond / m.copyGigabytesPerSecond))
                }
            }
        }
    }
}

/// Parses "a,b,c" with `parse`, or throws a ValidationError naming `flag`.
func parseList<T>(_ text: String, _ flag: String, _ parse: (String) -> T?) throws -> [T] {
    let items = text.split(separator: ",", omittingEmptySubsequences: false).map {
        parse($0.trimmingCharacters(in: .whitespaces))
    }
    guard !items.isEmpty, items.allSatisfy({ $0 != nil }) else {
        throw ValidationError("\(flag) must be a comma-separated list, got '\(text)'")
    }
    return items.map { $0! }
}

/// Group-TopK's ratio must be in (0, 1].
func checkRatio(_ r: Double) throws {
    guard r > 0 && r <= 1 else { throw ValidationError("--ratio must be in (0, 1], got \(r)") }
}

/// In-group positions travel as UInt32 at most, and a group must fit in
/// memory many times over: at most 2^32 - 1 elements.
func checkGroupSize(_ g: Int) throws {
    guard g >= 1 else { throw ValidationError("--group-size must be at least 1, got \(g)") }
    guard g <= Int(UInt32.max) else {
        throw ValidationError("--group-size \(g) is too big for its encoding (positions are UInt32, at most \(UInt32.max))")
    }
}
