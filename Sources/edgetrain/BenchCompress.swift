import ArgumentParser
import Compression
import Foundation
import RunSupport

/// `edgetrain bench compress`: Group-TopK selection + encoding on one core.
struct BenchCompress: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compress",
        abstract: "Measure Group-TopK selection + encoding speed (input bytes per second, one core).",
        discussion: """
            Times, per input and (group size, ratio): selection + encoding of the wire block (gbps), the same \
            with error feedback (gbps_error_feedback), encoding alone, and a memcpy of the vector. Inputs: \
            seeded i.i.d. Gaussian data (--size), or real vectors (--input, files written by \
            `train --dump-gradients`); a file's `.residual.f32` twin, when present, is the error-feedback \
            residual the timing starts from.
            """
    )

    @Option(help: "Floats of the Gaussian vector (used when --input is not given).")
    var size: Int = 25_165_824

    @Option(help: "Comma-separated Float32 files (e.g. DIR/mlp-step100.f32 from train --dump-gradients).")
    var input: String?

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
        if let input { _ = try parseList(input, "--input", { $0.isEmpty ? nil : $0 }) }
    }

    /// (name, gradient, starting residual) per input.
    func inputs() throws -> [(name: String, gradient: [Float], residual: [Float]?)] {
        guard let input else { return [("gaussian", gaussianVector(length: size), nil)] }
        return try parseList(input, "--input", { $0 }).map { path in
            let gradient = try FloatFile.read(path)
            guard !gradient.isEmpty else { throw RunSupportError.output(path: path, problem: "empty vector") }
            let twin = path.hasSuffix(".f32") ? String(path.dropLast(4)) + ".residual.f32" : path + ".residual"
            var residual: [Float]?
            if FileManager.default.fileExists(atPath: twin) {
                residual = try FloatFile.read(twin)
                guard residual!.count == gradient.count else {
                    throw RunSupportError.output(path: twin, problem: "\(residual!.count) floats, but \(path) has \(gradient.count)")
                }
            }
            return (URL(fileURLWithPath: path).lastPathComponent, gradient, residual)
        }
    }

    func run() throws {
        for x in try inputs() {
            for g in try parseList(groupSize, "--group-size", Int.init) {
                for r in try parseList(ratio, "--ratio", Double.init) {
                    let m = try measureCompression(gradient: x.gradient, residual: x.residual, groupSize: g, ratio: r, iterations: iters, clock: monotonicSeconds)
                    if json {
                        printJSONLine([
                            "who": "edgetrain", "input": x.name, "residual_from_run": x.residual != nil,
                            "size": m.length, "group_size": m.groupSize, "ratio": m.ratio, "k": m.k,
                            "ratio_effective": m.effectiveRatio, "iters": iters,
                            "seconds": m.seconds, "gbps": m.gigabytesPerSecond,
                            "seconds_error_feedback": m.secondsWithFeedback,
                            "gbps_error_feedback": m.gigabytesPerSecondWithFeedback,
                            "encode_s": m.encodeSeconds, "encoded_bytes": m.encodedBytes,
                            "memcpy_gbps": m.copyGigabytesPerSecond, "ratio_to_memcpy": m.gigabytesPerSecond / m.copyGigabytesPerSecond,
                        ])
                    } else {
                        print(String(format: "group-topk %@ (%d floats) G %d r %g (k %d): select+encode %.2f GB/s (%@); with error feedback %.2f GB/s (%@); encode %@; memcpy %.2f GB/s",
                                     x.name, m.length, m.groupSize, m.ratio, m.k, m.gigabytesPerSecond, fmt(m.seconds),
                                     m.gigabytesPerSecondWithFeedback, fmt(m.secondsWithFeedback), fmt(m.encodeSeconds),
                                     m.copyGigabytesPerSecond))
                    }
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
