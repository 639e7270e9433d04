import Random

/// 8-bit scaled values: the vector is cut into buckets of `bucketSize`
/// (the last one possibly shorter); each bucket sends its largest magnitude
/// m as a Float32 scale and each element as q = round(127 x / m), an Int8
/// in -127...127 (never -128), so x is read back as q m / 127.
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
/// - `nearest` (ties to even), deterministic:
///   |decoded - x| <= m / 254, plus Float32 rounding of x / m, of the
///   product by 127 and of the decoding (at most 4 x 2^-24 m, and the
///   smallest subnormal, 2^-149, for a subnormal m);
/// - `stochastic`: t = 127 x / m is rounded up with probability frac(t),
///   drawing from the generator, so E[decoded] = x (within 2^-24 of a step
///   and the Float32 roundings above) and |decoded - x| < m / 127.
/// A bucket of zeros has scale 0 and decodes to zeros. NaN and infinity
/// are refused (`CompressionError.notFinite`): a scale cannot hold them.
public struct ScaledInt8Codec: GradientCodec, DenseCodec, Sendable {
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
        try encodeFrame(values, into: &bytes) { x, n, payload in
            guard let x0 = x else { return }
            let buckets = bucketCount(n, bucketSize)
            let scales = payload, q = scales + 4 * buckets
            var draws = UniformDraws()
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: rounding == .stochastic ? min(bucketSize, n) : 0)
            defer { scratch.deallocate() }
            for b in 0..<buckets {
                let start = b * bucketSize, count = min(bucketSize, n - start)
                let m = maxMagnitude(x0 + start, count: count)
                storeFloat(m, scales, 4 * b)
                let codes = (q + start).assumingMemoryBound(to: Int8.self)
                if rounding == .nearest {
                    quantizeNearest(x0 + start, count: count, scale: m, into: codes)
                } else {
                    quantizeStochastic(x0 + start, count: count, scale: m, into: codes, draws: &draws, scratch: scratch,
                                       generator: &generator)
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
