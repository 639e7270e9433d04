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
/// the product: 4 x 2^-24 relative, plus 2^-149 for a subnormal norm).
/// Variance, per bucket of n elements (the paper's Lemma 3.1):
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
public struct QSGDCodec: GradientCodec, DenseCodec, Sendable {
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
        try encodeFrame(values, into: &bytes) { x, n, payload in
            guard let x0 = x else { return }
            let buckets = bucketCount(n, bucketSize)
            let norms = payload
            let stream = norms + 4 * buckets
            var writer = BitWriter(stream)
            var draws = UniformDraws()
            let s = Float(levels), width = bitsPerElement
            let fields = UnsafeMutablePointer<UInt32>.allocate(capacity: min(bucketSize, n))
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: min(bucketSize, n))
            defer {
                fields.deallocate()
                scratch.deallocate()
            }
            for b in 0..<buckets {
                let start = b * bucketSize, count = min(bucketSize, n - start)
                let norm = min(l2Norm(x0 + start, count: count), Float.greatestFiniteMagnitude)
                storeFloat(norm, norms, 4 * b)
                qsgdFields(x0 + start, count: count, norm: norm, levels: s, into: fields, draws: &draws, scratch: scratch, generator: &generator)
                if width == 8 {
                    // Byte-aligned fields (s = 64...127): one byte each.
                    for i in 0..<count { stream.storeBytes(of: UInt8(truncatingIfNeeded: fields[i]), toByteOffset: start + i, as: UInt8.self) }
                } else {
                    for i in 0..<count { writer.append(UInt64(fields[i]), width: width) }
                }
            }
            writer.finish()
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
                let width = bitsPerElement
                for i in 0..<n {
                    let level = UInt64(field(codes, i, width: width, streamBytes: codeBytes) >> 1)
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
        let width = bitsPerElement, s = Float(levels)
        for b in 0..<bucketCount(n, bucketSize) {
            let start = b * bucketSize, count = min(bucketSize, n - start)
            // level x norm / s, by the step norm / s when that is a normal
            // float, else dividing each product (as int8's `dequantize`).
            let norm = loadFloat(norms, 4 * b), step = norm / s, normal = step.isNormal
            for i in start..<start + count {
                let f = field(codes, i, width: width, streamBytes: codeBytes)
                let level = Float(f >> 1)
                let magnitude = normal ? level * step : level * norm / s
                // The sign bit goes straight to the float's.
                S.store(Float(bitPattern: magnitude.bitPattern | f << 31), out, i)
            }
        }
    }
}
