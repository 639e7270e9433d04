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

    @Option(help: "Comma-separated Float32 files (e.g. DIR/mlp-step100.f32 from train --dump-gradients).",
            transform: CommaSeparated.parser(of: String.self))
    var input: [String]?

    static let defaultGroupSizes = [1024]

    @Option(help: CommaSeparated.help("Group sizes, comma-separated.", default: defaultGroupSizes),
            transform: CommaSeparated.parser(of: Int.self))
    var groupSize: [Int] = defaultGroupSizes

    static let defaultRatios = [0.01]

    @Option(help: CommaSeparated.help("Ratios (k = ratio x group size), comma-separated.", default: defaultRatios),
            transform: CommaSeparated.parser(of: Double.self))
    var ratio: [Double] = defaultRatios

    @Option(help: "Timed repetitions (median reported).")
    var iters: Int = 11

    @Flag(help: "Print one JSON object per configuration.")
    var json = false

    func validate() throws {
        try requireAtLeast(1, size, "--size")
        try requireAtLeast(1, iters, "--iters")
        for g in groupSize { try checkGroupSize(g) }
        for r in ratio { try checkRatio(r) }
    }

    /// (name, gradient, starting residual) per input.
    func inputs() throws -> [(name: String, gradient: [Float], residual: [Float]?)] {
        guard let input else { return [("gaussian", gaussianVector(length: size), nil)] }
        return try input.map { path in
            let gradient = try FloatFile.read(path)
            guard !gradient.isEmpty else { throw RunSupportError.output(path: path, problem: "empty vector") }
            let twin = path.hasSuffix(".f32") ? String(path.dropLast(4)) + ".residual.f32" : path + ".residual"
            let name = URL(fileURLWithPath: path).lastPathComponent
            guard FileManager.default.fileExists(atPath: twin) else { return (name, gradient, nil) }
            let residual = try FloatFile.read(twin)
            guard residual.count == gradient.count else {
                throw RunSupportError.output(path: twin, problem: "\(residual.count) floats, but \(path) has \(gradient.count)")
            }
            return (name, gradient, residual)
        }
    }

    func run() throws {
        for x in try inputs() {
            for g in groupSize {
                for r in ratio {
                    let m = try measureCompression(gradient: x.gradient, residual: x.residual, groupSize: g, ratio: r, iterations: iters, clock: monotonicSeconds)
                    if json {
                        try printJSONLine(BenchCompressRecord(
                            input: x.name, residualFromRun: x.residual != nil,
                            size: m.length, groupSize: m.groupSize, ratio: m.ratio, k: m.k,
                            effectiveRatio: m.effectiveRatio, iterations: iters,
                            seconds: m.seconds, gigabytesPerSecond: m.gigabytesPerSecond,
                            secondsErrorFeedback: m.secondsWithFeedback,
                            gigabytesPerSecondErrorFeedback: m.gigabytesPerSecondWithFeedback,
                            encodeSeconds: m.encodeSeconds, encodedBytes: m.encodedBytes,
                            memcpyGigabytesPerSecond: m.copyGigabytesPerSecond,
                            ratioToMemcpy: m.gigabytesPerSecond / m.copyGigabytesPerSecond))
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
