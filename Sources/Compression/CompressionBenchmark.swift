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

/// What `measureCodec` found for one codec and input. Times are medians of
/// the timed repetitions, one core.
public struct CodecThroughput: Sendable {
    /// The codec's name (`qsgd`, `fp16`, ...).
    public let codec: String
    public let length: Int
    /// Bytes of one message, `encodedBytes(count: length)`.
    public let encodedBytes: Int
    /// Encoding the vector into its message.
    public let encodeSeconds: Double
    /// Decoding the message and adding it into an accumulator (what each
    /// message of an all-gather costs its receiver).
    public let decodeSeconds: Double
    /// Copying the vector (memcpy), measured interleaved as this machine's yardstick.
    public let copySeconds: Double

    /// Wire bits per input element, header and scales included.
    public var bitsPerElement: Double { length > 0 ? Double(8 * encodedBytes) / Double(length) : 0 }
    /// Input bytes (4 a float) encoded per second.
    public var encodeGigabytesPerSecond: Double { Double(length * 4) / encodeSeconds / 1e9 }
    /// Output bytes (4 a float) decoded per second.
    public var decodeGigabytesPerSecond: Double { Double(length * 4) / decodeSeconds / 1e9 }
}

/// Times `codec` on `gradient`: encode, then decode-add, median of
/// `iterations` after one warm-up, interleaved with a memcpy of the vector.
/// Stochastic codecs draw from a generator of `seed`. `clock` gives seconds.
public func measureCodec(_ codec: any GradientCodec, gradient: [Float], iterations: Int, seed: UInt64 = 1,
                         clock: () -> Double) throws -> CodecThroughput
{
    let n = gradient.count
    var generator = SeededGenerator(seed: seed)
    var bytes = [UInt8](repeating: 0, count: codec.encodedBytes(count: n))
    var sum = [Float](repeating: 0, count: n)
    var copy = [Float](repeating: 0, count: n)
    var encodes = [Double](), decodes = [Double](), copies = [Double]()
    for i in 0...iterations {
        var t0 = clock()
        do {
            var span = bytes.mutableSpan
            var raw = span.mutableBytes
            try codec.encode(gradient.span, into: &raw, using: &generator)
        }
        let e = clock() - t0
        t0 = clock()
        do {
            var span = sum.mutableSpan
            try codec.decode(bytes.span.bytes, into: &span, .add)
        }
        let d = clock() - t0
        t0 = clock()
        copy.withUnsafeMutableBufferPointer { c in
            gradient.withUnsafeBufferPointer { if n > 0 { c.baseAddress!.update(from: $0.baseAddress!, count: n) } }
        }
        let c = clock() - t0
        if i > 0 {
            encodes.append(e)
            decodes.append(d)
            copies.append(c)
        }
    }
    return CodecThroughput(codec: codec.name, length: n, encodedBytes: bytes.count, encodeSeconds: median(encodes),
                           decodeSeconds: median(decodes), copySeconds: median(copies))
}

/// What `measurePowerSGD` found for one layer shape and rank (medians, one core).
public struct PowerSGDThroughput: Sendable {
    public let rows: Int, columns: Int, rank: Int
    /// W = M + E and P = W Q.
    public let computePSeconds: Double
    /// Orthonormalizing P and Q = W^T P.
    public let computeQSeconds: Double
    /// M_hat = P Q^T and E = W - M_hat.
    public let finishSeconds: Double
    /// Bytes of the two factors, 4 r (m + n).
    public let bytesPerStep: Int

    public var stepSeconds: Double { computePSeconds + computeQSeconds + finishSeconds }
}

/// Times one PowerSGD step on a seeded Gaussian m x n gradient at rank r,
/// phase by phase, with the all-reduces left out (one rank: the mean is the
/// buffer itself), median of `iterations` after one warm-up.
public func measurePowerSGD(rows: Int, columns: Int, rank: Int, iterations: Int, clock: () -> Double) throws -> PowerSGDThroughput {
    let compressor = PowerSGD(rows: rows, columns: columns, rank: rank, seed: 1)
    let gradient = gaussianVector(length: rows * columns)
    var output = [Float](repeating: 0, count: rows * columns)
    var ps = [Double](), qs = [Double](), fs = [Double]()
    for i in 0...iterations {
        var t0 = clock()
        try compressor.computeP(gradient: gradient.span)
        let p = clock() - t0
        t0 = clock()
        try compressor.computeQ()
        let q = clock() - t0
        t0 = clock()
        do {
            var span = output.mutableSpan
            try compressor.finish(into: &span)
        }
        let f = clock() - t0
        if i > 0 {
            ps.append(p)
            qs.append(q)
            fs.append(f)
        }
    }
    return PowerSGDThroughput(rows: rows, columns: columns, rank: rank, computePSeconds: median(ps), computeQSeconds: median(qs),
                              finishSeconds: median(fs), bytesPerStep: compressor.bytesPerStep)
}
