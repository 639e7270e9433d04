import Random

/// 8-bit scaled values: the vector is cut into buckets of `bucketSize`
/// (the last one possibly shorter); each bucket sends its largest magnitude
/// m as a Float32 scale and each element as q = round(127 x / m), an Int8 in
/// -127...127 (never -128), so x is read back as q m / 127.
///
/// Wire format (little-endian):
///
///     header   12 bytes (`CodecHeader`): format 0x11, bits 8, levels 0, elements n, bucket B
///     scales   ceil(n / B) x Float32, bucket after bucket (finite, >= 0)
///     values   n x Int8
///
///     bytes = 12 + 4 ceil(n / B) + n
///
/// Rounding (`rounding`; the wire is the same):
/// - `nearest` (halves away from zero), deterministic:
///   |decoded - x| <= m / 254, plus Float32 rounding of x / m, of the
///   product by 127 and of the decoding (at most 4 x 2^-24 m, and the
///   smallest subnormal, 2^-149, for a subnormal m);
/// - `stochastic`: t = 127 x / m is rounded up with probability frac(t),
///   drawing from the generator, so E[decoded] = x (within 2^-24 of a step
///   and the Float32 roundings above) and |decoded - x| < m / 127.
/// A bucket of zeros has scale 0 and decodes to zeros. NaN and infinity
/// are refused (`CompressionError.notFinite`): a scale cannot hold them.
public struct ScaledInt8Codec: GradientCodec, Sendable {
    public enum Rounding: String, Sendable, CaseIterable { case nearest, stochastic }

    public let bucketSize: Int
    public let rounding: Rounding

    public init(bucketSize: Int = 512, rounding: Rounding = .nearest) {
        precondition(bucketSize >= 1 && bucketSize <= Int(UInt32.max), "int8 bucket size must be in 1...\(UInt32.max), not \(bucketSize)")
        self.bucketSize = bucketSize
        self.rounding = rounding
    }

    public var name: String { "int8" }

    /// 12 + 4 ceil(count / bucketSize) + count.
    public func encodedBytes(count: Int) -> Int {
        CodecHeader.byteCount + 4 * bucketCount(count, bucketSize) + count
    }

    func header(count: Int) -> CodecHeader { CodecHeader(format: .int8, bits: 8, elements: count, bucket: bucketSize) }

    public func encode(_ values: Span<Float>, into bytes: inout MutableRawSpan, using generator: inout SeededGenerator) throws {
        let n = values.count
        precondition(bytes.byteCount == encodedBytes(count: n), "int8 needs \(encodedBytes(count: n)) bytes for \(n) floats, not \(bytes.byteCount)")
        let h = header(count: n)
        try values.withUnsafeBufferPointer { x in
            try requireFinite(x, encoding: name)
            bytes.withUnsafeMutableBytes { out in
                let p = out.baseAddress!
                h.write(to: p)
                guard let x0 = x.baseAddress else { return }
                let buckets = bucketCount(n, bucketSize)
                let scales = p + CodecHeader.byteCount, q = scales + 4 * buckets
                var draws = UniformDraws()
                for b in 0..<buckets {
                    let start = b * bucketSize, count = min(bucketSize, n - start)
                    let m = maxMagnitude(x0 + start, count: count)
                    storeFloat(m, scales, 4 * b)
                    let codes = (q + start).assumingMemoryBound(to: Int8.self)
                    if rounding == .nearest {
                        quantizeNearest(x0 + start, count: count, scale: m, into: codes)
                    } else {
                        quantizeStochastic(x0 + start, count: count, scale: m, into: codes, draws: &draws, generator: &generator)
                    }
                }
            }
        }
    }

    public func decode(_ bytes: RawSpan, into values: inout MutableSpan<Float>, _ mode: DecodeMode) throws {
        let n = values.count
        try bytes.withUnsafeBytes { raw in
            try header(count: n).check(raw, totalBytes: encodedBytes(count: n), encoding: name)
            let buckets = bucketCount(n, bucketSize)
            let scales = raw.baseAddress! + CodecHeader.byteCount, q = scales + 4 * buckets
            try checkScales(scales, at: 0, count: buckets, what: "the scale of bucket", encoding: name)
            if let bad = firstMinus128(q, count: n) {
                throw CompressionError.undecodable(encoding: name, reason: "value \(bad) is -128, outside -127...127")
            }
            values.withUnsafeMutableBufferPointer { v in
                guard let out = v.baseAddress else { return }
                for b in 0..<buckets {
                    let start = b * bucketSize, count = min(bucketSize, n - start)
                    let scale = loadFloat(scales, 4 * b)
                    let codes = q + start
                    switch mode {
                    case .overwrite: dequantize(codes, count: count, scale: scale, into: out + start, OverwriteStore.self)
                    case .add: dequantize(codes, count: count, scale: scale, into: out + start, AddStore.self)
                    case .subtract: dequantize(codes, count: count, scale: scale, into: out + start, SubtractStore.self)
                    }
                }
            }
        }
    }
}

/// The largest |x[i]| of `n` finite floats (0 for none).
func maxMagnitude(_ x: UnsafePointer<Float>, count n: Int) -> Float {
    let raw = UnsafeRawPointer(x)
    var m = SIMD16<UInt32>(repeating: 0)
    var i = 0
    // Magnitudes of finite floats order like their bit patterns with the sign cleared.
    while i + 16 <= n {
        let a = raw.loadUnaligned(fromByteOffset: i &* 4, as: SIMD16<UInt32>.self) & 0x7FFF_FFFF
        m.replace(with: a, where: a .> m)
        i &+= 16
    }
    var best = m.max()
    while i < n {
        best = max(best, x[i].bitPattern & 0x7FFF_FFFF)
        i &+= 1
    }
    return Float(bitPattern: best)
}

/// codes[i] = round(127 x[i] / scale), halves away from zero; zeros when scale is 0.
@inline(__always)
func quantizeNearest(_ x: UnsafePointer<Float>, count n: Int, scale: Float, into codes: UnsafeMutablePointer<Int8>) {
    guard scale > 0 else {
        codes.update(repeating: 0, count: n)
        return
    }
    for i in 0..<n {
        // |x| <= scale, so x / scale is in [-1, 1] and t in [-127, 127] after rounding.
        let t = (x[i] / scale) * 127
        codes[i] = Int8(t.rounded(.toNearestOrAwayFromZero))
    }
}

/// codes[i] = floor(t) + (1 with probability frac(t)), t = 127 x[i] / scale.
@inline(__always)
func quantizeStochastic(_ x: UnsafePointer<Float>, count n: Int, scale: Float, into codes: UnsafeMutablePointer<Int8>,
                        draws: inout UniformDraws, generator: inout SeededGenerator)
{
    guard scale > 0 else {
        codes.update(repeating: 0, count: n)
        return
    }
    for i in 0..<n {
        let t = (x[i] / scale) * 127
        let f = t.rounded(.down)
        // t - f is exact for |t| >= 1 (Sterbenz) and t >= 0; for t in (-1, 0)
        // it is t + 1, within 2^-24. t = 127 gives frac 0, so codes stay in -127...127.
        let up: Float = draws.next(&generator) < t - f ? 1 : 0
        codes[i] = Int8(f + up)
    }
}

/// out[i] (by `S`) = codes[i] x scale / 127.
@inline(__always)
func dequantize<S: ElementStore>(_ codes: UnsafeRawPointer, count n: Int, scale: Float, into out: UnsafeMutablePointer<Float>, _: S.Type) {
    dequantize(count: n, scale: scale, divisor: 127, into: out, S.self) { Float(codes.load(fromByteOffset: $0, as: Int8.self)) }
}

/// out[i] (by `S`) = level(i) x scale / divisor, within 2 u relative plus
/// the smallest subnormal: by the step scale / divisor when that is a
/// normal float (one multiply an element), else dividing each product (a
/// subnormal step would carry an absolute error of 2^-150, which the level
/// would multiply).
@inline(__always)
func dequantize<S: ElementStore>(count n: Int, scale: Float, divisor: Float, into out: UnsafeMutablePointer<Float>, _: S.Type,
                                 level: (Int) -> Float)
{
    let step = scale / divisor
    if step.isNormal {
        for i in 0..<n { S.store(level(i) * step, out, i) }
    } else {
        for i in 0..<n { S.store(level(i) * scale / divisor, out, i) }
    }
}

/// The index of the first byte 0x80 (Int8 -128) among `n`, or nil.
func firstMinus128(_ q: UnsafeRawPointer, count n: Int) -> Int? {
    var hits = SIMD16<UInt8>(repeating: 0)
    var i = 0
    while i + 16 <= n {
        let v = q.loadUnaligned(fromByteOffset: i, as: SIMD16<UInt8>.self)
        hits |= SIMD16<UInt8>(repeating: 1).replacing(with: 0, where: v .!= 0x80)
        i &+= 16
    }
    var found = any(hits .!= 0)
    while !found && i < n {
        found = q.load(fromByteOffset: i, as: UInt8.self) == 0x80
        i &+= 1
    }
    guard found else { return nil }
    return (0..<n).first { q.load(fromByteOffset: $0, as: UInt8.self) == 0x80 }
}
