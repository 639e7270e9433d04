import Random

/// What `measureCompression` found for one input and (group size, ratio).
/// Every time is the median of the timed repetitions, one core.
public struct CompressionThroughput: Sendable {
    public let length: Int
    public let groupSize: Int
    public let ratio: Double
    public let k: Int
    /// Entries kept over the length (the ratio really achieved: the k >= 1
    /// floor and short last groups make it differ from `ratio`).
    public let effectiveRatio: Double
    /// Selection + encoding of the vector, no error feedback: Group-TopK into
    /// values and positions, then the wire block (what an upload or a ring
    /// step sends).
    public let seconds: Double
    /// Selection + encoding with error feedback: residual += gradient, select
    /// from the residual, clear what was sent, encode (what training does).
    public let secondsWithFeedback: Double
    /// Encoding alone (part of both figures above).
    public let encodeSeconds: Double
    /// Copying the vector (memcpy), measured interleaved as this machine's yardstick.
    public let copySeconds: Double
    /// Bytes of the encoded block.
    public let encodedBytes: Int

    /// Input bytes per second of `seconds`.
    public var gigabytesPerSecond: Double { Double(length * 4) / seconds / 1e9 }
    public var gigabytesPerSecondWithFeedback: Double { Double(length * 4) / secondsWithFeedback / 1e9 }
    /// Bytes copied per second by memcpy (each byte read once and written once).
    public var copyGigabytesPerSecond: Double { Double(length * 4) / copySeconds / 1e9 }
}

/// `length` seeded standard Gaussian floats: i.i.d. data, the easy case for
/// the selector's guessed threshold (every group looks alike).
public func gaussianVector(length: Int, seed: UInt64 = 1) -> [Float] {
    var rng = SeededGenerator(seed: seed)
    return (0..<length).map { _ in Float(rng.nextGaussian()) }
}

/// Times Group-TopK on `gradient`, one core, median of `iterations` after
/// one warm-up, interleaved with a memcpy of the same vector so that the
/// ratio to a memory copy is measured side by side.
///
/// With error feedback every repetition starts from `residual` (zeros when
/// nil; a real run's residual makes the selection see what training sees),
/// restored untimed before each repetition. `clock` gives seconds (the
/// caller's: Compression keeps no clock).
public func measureCompression(gradient: [Float], residual: [Float]? = nil, groupSize: Int, ratio: Double,
                               iterations: Int, clock: () -> Double) throws -> CompressionThroughput
{
    let length = gradient.count
    precondition(residual == nil || residual!.count == length, "residual length \(residual!.count) != \(length)")
    let layout = GroupLayout(length: length, groupSize: groupSize, ratio: ratio)
    let compressor = GroupTopK(layout: layout)
    let start = residual ?? [Float](repeating: 0, count: length)
    var out = SparseGradient(layout: layout)
    var work = start
    var copy = [Float](repeating: 0, count: length)
    var bytes = [UInt8]()
    var encoded = 0
    var plain = [Double](), feedback = [Double](), encoding = [Double](), copies = [Double]()
    func encode() -> Double {
        let t0 = clock()
        encoded = SparseBlock(out, groups: 0..<layout.groupCount).encode(into: &bytes)
        return clock() - t0
    }
    try gradient.withUnsafeBufferPointer { x in
        for i in 0...iterations {
            var t0 = clock()
            try compressor.compress(x, into: &out)
            let e = encode()
            let a = clock() - t0
            work.withUnsafeMutableBufferPointer { w in
                start.withUnsafeBufferPointer { w.baseAddress!.update(from: $0.baseAddress!, count: length) }
            }
            t0 = clock()
            try work.withUnsafeMutableBufferPointer { try compressor.compress(gradient: x, residual: $0, into: &out) }
            _ = encode()
            let b = clock() - t0
            t0 = clock()
            copy.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: x.baseAddress!, count: length) }
            let c = clock() - t0
            if i > 0 {
                plain.append(a)
                feedback.append(b)
                encoding.append(e)
                copies.append(c)
            }
        }
    }
    return CompressionThroughput(
        length: length, groupSize: groupSize, ratio: ratio, k: layout.k, effectiveRatio: layout.effectiveRatio,
        seconds: median(plain), secondsWithFeedback: median(feedback), encodeSeconds: median(encoding),
        copySeconds: median(copies), encodedBytes: encoded)
}
