import ArgumentParser
import Compression
import Foundation
import RunSupport

/// `edgetrain bench codecs`: every compression method's encode and decode
/// speed on one core, and its bytes.
struct BenchCodecs: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "codecs",
        abstract: "Measure each compression method's encode and decode speed and message size (one core).",
        discussion: """
            Per codec: encoding the vector into its message and decoding a message added into a sum (what an \
            all-gather's receiver does), medians of --iters after a warm-up, with a memcpy of the vector timed \
            alongside as the yardstick. PowerSGD is one layer of --powersgd-shape: P = W Q and its \
            orthogonalization and Q = W^T P (encode), and M_hat = P Q^T with the error update (decode).
            """
    )

    static let allMethods = gradientCodecNames + ["powersgd"]

    @Option(help: "Floats of the Gaussian vector (used when --input is not given).")
    var size: Int = 4_194_304

    @Option(help: "A Float32 file (e.g. DIR/mlp-step100.f32 from train --dump-gradients) instead of a Gaussian vector.")
    var input: String?

    @Option(help: CommaSeparated.help("Methods, comma-separated.", default: allMethods), transform: CommaSeparated.parser(of: String.self))
    var codecs: [String] = allMethods

    @OptionGroup var codec: CodecFlags

    @Option(help: "Group-TopK group size and ratio (group-topk methods).")
    var groupSize: Int = 1024

    @Option(help: "Group-TopK ratio.")
    var ratio: Double = 0.01

    @Option(help: "PowerSGD's rank.")
    var powersgdRank: Int = 2

    @Option(help: "PowerSGD's layer, ROWSxCOLUMNS (default: the MLP's first layer).")
    var powersgdShape: String = "256x784"

    @Option(help: "Timed repetitions (median reported).")
    var iters: Int = 11

    @Flag(help: "Print one JSON object per method.")
    var json = false

    var shape: (rows: Int, columns: Int)? {
        let parts = powersgdShape.split(separator: "x").compactMap { Int($0) }
        guard parts.count == 2, parts[0] >= 1, parts[1] >= 1 else { return nil }
        return (parts[0], parts[1])
    }

    func validate() throws {
        try requireAtLeast(1, size, "--size")
        try requireAtLeast(1, iters, "--iters")
        try requireEach(codecs, "--codecs", "must be one of \(Self.allMethods.joined(separator: ", "))", { Self.allMethods.contains($0) })
        try checkGroupSize(groupSize)
        try checkRatio(ratio)
        try requireAtLeast(1, powersgdRank, "--powersgd-rank")
        guard shape != nil else { throw ValidationError("--powersgd-shape must be ROWSxCOLUMNS, got \(powersgdShape)") }
    }

    func run() throws {
        let gradient = try input.map { try FloatFile.read($0) } ?? gaussianVector(length: size)
        let name = input.map { URL(fileURLWithPath: $0).lastPathComponent } ?? "gaussian"
        var options = CodecOptions()
        codec.apply(to: &options)
        (options.groupSize, options.ratio) = (groupSize, ratio)
        for method in codecs {
            let record: BenchCodecRecord
            if method == "powersgd" {
                let (m, n) = shape!
                let p = try measurePowerSGD(rows: m, columns: n, rank: powersgdRank, iterations: iters, clock: monotonicSeconds)
                record = BenchCodecRecord(input: "gaussian \(m)x\(n)", codec: method, size: m * n, encodedBytes: p.bytesPerStep,
                                          bitsPerElement: Double(8 * p.bytesPerStep) / Double(m * n),
                                          encodeSeconds: p.computePSeconds + p.computeQSeconds, decodeSeconds: p.finishSeconds,
                                          memcpySeconds: nil, iterations: iters, rank: powersgdRank)
            } else {
                let m = try measureCodec(makeGradientCodec(named: method, options: options)!, gradient: gradient, iterations: iters,
                                         clock: monotonicSeconds)
                record = BenchCodecRecord(input: name, codec: method, size: m.length, encodedBytes: m.encodedBytes,
                                          bitsPerElement: m.bitsPerElement, encodeSeconds: m.encodeSeconds,
                                          decodeSeconds: m.decodeSeconds, memcpySeconds: m.copySeconds, iterations: iters, rank: nil)
            }
            if json {
                try printJSONLine(record)
            } else {
                print(String(format: "%@ %@ (%d floats): %d bytes (%.3g bits a float), encode %@, decode-add %@",
                             method, record.input, record.size, record.encodedBytes, record.bitsPerElement,
                             fmt(record.encodeSeconds), fmt(record.decodeSeconds))
                      + (record.memcpySeconds.map { ", memcpy \(fmt($0))" } ?? ""))
            }
        }
    }
}

/// One line of `bench codecs --json` (docs/metrics.md, bench codecs).
struct BenchCodecRecord: Codable {
    private(set) var who = "edgetrain"
    var input: String
    var codec: String
    var size: Int
    var encodedBytes: Int
    var bitsPerElement: Double
    var encodeSeconds: Double
    var decodeSeconds: Double
    var memcpySeconds: Double?
    var iterations: Int
    var rank: Int?

    enum CodingKeys: String, CodingKey {
        case who, input, codec, size, encodedBytes = "encoded_bytes", bitsPerElement = "bits_per_element",
             encodeSeconds = "encode_s", decodeSeconds = "decode_s", memcpySeconds = "memcpy_s", iterations = "iters",
             rank = "powersgd_rank"
    }
}
