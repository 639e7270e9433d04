import Random

/// QSGD (Alistarh et al. 2017): stochastic quantization to `levels` = s
/// levels of each bucket's L2 norm. The vector is cut into buckets of
/// `bucketSize` (the last one possibly shorter). For a bucket with norm
/// ||v|| and element x, t = s |x| / ||v|| is in [0, s]; the level l is
/// floor(t) + 1 with probability frac(t), else floor(t), drawn from the
/// generator; x is read back as sign(x) ||v|| l / s.
///
/// Unbiased: E[decoded] = x, within 2^-24 of a level (the grid of the
/// uniform draws) and a few Float32 roundings (t, the step ||v|| / s and
/// the product: 4 x 2^-24 relative, plus 2^-149 for a subnormal norm). Variance, per bucket of n elements
/// (the paper's Lemma 3.1):
///
///     E ||Q(v) - v||^2  =  (||v|| / s)^2  sum_i frac(t_i) (1 - frac(t_i))
///                      <=  min(n / s^2, sqrt(n) / s) ||v||^2
///
/// Wire format (little-endian):
///
///     header   12 bytes (`CodecHeader`): format 0x12, bits b, levels s, elements n, bucket B
///     norms    ceil(n / B) x Float32, bucket after bucket (finite, >= 0)
///     codes    n fields of b = 1 + ceil(log2(s + 1)) bits, packed least significant
///              bit first across the whole vector (`BitWriter`); a field is
///              sign | level << 1 (sign 1: negative); the last byte's unused bits are 0
///
///     bytes = 12 + 4 ceil(n / B) + ceil(n b / 8)
///
/// s = 127 (the default) gives b = 8, s = 7 gives 4 bits an element, s = 1
/// (ternary, 2 bits) the paper's smallest. The decoder refuses a level
/// above s. NaN and infinity are refused (`CompressionError.notFinite`). A
/// bucket whose norm exceeds Float32's range (elements near 3.4e38) sends
/// the largest finite float as its norm and clamps t to s: finite, but
/// biased, in a case no gradient reaches.
public struct QSGDCodec: GradientCodec, Sendable {
    /// s, in 1...32767 (at most 16 bits a field).
    public let levels: Int
    public let bucketSize: Int

    public init(levels: Int = 127, bucketSize: Int = 512) {
        precondition(levels >= 1 && levels <= 32_767, "qsgd levels must be in 1...32767, not \(levels)")
        precondition(bucketSize >= 1 && bucketSize <= Int(UInt32.max), "qsgd bucket size must be in 1...\(UInt32.max), not \(bucketSize)")
        self.levels = levels
        self.bucketSize = bucketSize
    }

    public var name: String { "qsgd" }

    /// Bits of a level: ceil(log2(s + 1)), the bit length of s.
    public var levelBits: Int { Int.bitWidth - levels.leadingZeroBitCount }

    /// Bits of an element on the wire: a sign and a level.
    public var bitsPerElement: Int { 1 + levelBits }

    /// 12 + 4 ceil(count / bucketSize) + ceil(count x bitsPerElement / 8).
    public func encodedBytes(count: Int) -> Int {
        CodecHeader.byteCount + 4 * bucketCount(count, bucketSize) + packedBytes(count: count, width: bitsPerElement)
    }

    func header(count: Int) -> CodecHeader {
        CodecHeader(format: .qsgd, bits: bitsPerElement, levels: levels, elements: count, bucket: bucketSize)
    }

    public func encode(_ values: Span<Float>, into bytes: inout MutableRawSpan, using generator: inout SeededGenerator) throws {
        let n = values.count
        precondition(bytes.byteCount == encodedBytes(count: n), "qsgd needs \(encodedBytes(count: n)) bytes for \(n) floats, not \(bytes.byteCount)")
        let h = header(count: n)
        try values.withUnsafeBufferPointer { x in
            try requireFinite(x, encoding: name)
            bytes.withUnsafeMutableBytes { out in
                let p = out.baseAddress!
                h.write(to: p)
                guard let x0 = x.baseAddress else { return }
                let buckets = bucketCount(n, bucketSize)
                let norms = p + CodecHeader.byteCount
                var writer = BitWriter(norms + 4 * buckets)
                var draws = UniformDraws()
                let s = Float(levels), width = bitsPerElement
                for b in 0..<buckets {
                    let start = b * bucketSize, count = min(bucketSize, n - start)
                    let norm = min(l2Norm(x0 + start, count: count), Float.greatestFiniteMagnitude)
                    storeFloat(norm, norms, 4 * b)
                    let v = x0 + start
                    for i in 0..<count {
                        let bits = v[i].bitPattern
                        var level: UInt64 = 0
                        if norm > 0 {
                            // |x| <= norm (both Float32 roundings are monotone), so t <= s.
                            let t = min((Float(bitPattern: bits & 0x7FFF_FFFF) / norm) * s, s)
                            let f = t.rounded(.down)
                            level = UInt64(f) &+ (draws.next(&generator) < t - f ? 1 : 0)
                        }
                        writer.append(UInt64(bits >> 31) | level &<< 1, width: width)
                    }
                }
                writer.finish()
            }
        }
    }

    public func decode(_ bytes: RawSpan, into values: inout MutableSpan<Float>, _ mode: DecodeMode) throws {
        let n = values.count
        try bytes.withUnsafeBytes { raw in
            try header(count: n).check(raw, totalBytes: encodedBytes(count: n), encoding: name)
            let buckets = bucketCount(n, bucketSize)
            let norms = raw.baseAddress! + CodecHeader.byteCount
            let codes = norms + 4 * buckets, codeBytes = packedBytes(count: n, width: bitsPerElement)
            try checkScales(norms, at: 0, count: buckets, what: "the norm of bucket", encoding: name)
            guard paddingIsZero(codes, count: n, width: bitsPerElement) else {
                throw CompressionError.undecodable(encoding: name, reason: "the unused bits of the last byte are not zero")
            }
            // Every field's level is at most s when s fills its bits (1, 3, 7, 15, 127, ...).
            if levels != (1 << levelBits) - 1 {
                var reader = BitReader(codes, byteCount: codeBytes)
                for i in 0..<n {
                    let level = reader.read(width: bitsPerElement) >> 1
                    guard level <= UInt64(levels) else {
                        throw CompressionError.undecodable(encoding: name, reason: "element \(i) has level \(level), above \(levels)")
                    }
                }
            }
            values.withUnsafeMutableBufferPointer { v in
                guard let out = v.baseAddress else { return }
                switch mode {
                case .overwrite: dequantizeLevels(codes, codeBytes: codeBytes, norms: norms, count: n, into: out, OverwriteStore.self)
                case .add: dequantizeLevels(codes, codeBytes: codeBytes, norms: norms, count: n, into: out, AddStore.self)
                case .subtract: dequantizeLevels(codes, codeBytes: codeBytes, norms: norms, count: n, into: out, SubtractStore.self)
                }
            }
        }
    }

    @inline(__always)
    private func dequantizeLevels<S: ElementStore>(
        _ codes: UnsafeRawPointer, codeBytes: Int, norms: UnsafeRawPointer, count n: Int,
        into out: UnsafeMutablePointer<Float>, _: S.Type
    ) {
        var reader = BitReader(codes, byteCount: codeBytes)
        let width = bitsPerElement, s = Float(levels)
        for b in 0..<bucketCount(n, bucketSize) {
            let start = b * bucketSize, count = min(bucketSize, n - start)
            // Signed level x norm / s (see `dequantize`; the fields are read in order).
            dequantize(count: count, scale: loadFloat(norms, 4 * b), divisor: s, into: out + start, S.self) { _ in
                let field = reader.read(width: width)
                let level = Float(field >> 1)
                return field & 1 == 0 ? level : -level
            }
        }
    }
}

/// The L2 norm of `n` finite floats, summed in Double (no overflow or
/// underflow for any Float32 input) and rounded once to Float32, which may
/// then be infinite.
func l2Norm(_ x: UnsafePointer<Float>, count n: Int) -> Float {
    var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
    var i = 0
    while i + 4 <= n {
        let a = Double(x[i]), b = Double(x[i &+ 1]), c = Double(x[i &+ 2]), d = Double(x[i &+ 3])
        s0 += a * a
        s1 += b * b
        s2 += c * c
        s3 += d * d
        i &+= 4
    }
    while i < n {
        let a = Double(x[i])
        s0 += a * a
        i &+= 1
    }
    return Float(((s0 + s1) + (s2 + s3)).squareRoot())
}
