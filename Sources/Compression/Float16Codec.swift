import Random

/// FP16 values: each float rounded to the nearest IEEE binary16 (ties to
/// even), half the bytes of Float32. Deterministic.
///
/// Wire format (little-endian):
///
///     header   12 bytes (`CodecHeader`): format 0x10, bits 16, levels 0, elements n, bucket 0
///     values   n x Float16 (IEEE binary16 bit patterns)
///
///     bytes = 12 + 2n
///
/// Range: a finite |x| above Float16's largest finite value, 65504, is
/// clamped to +-65504 (an error of |x| - 65504; the gradients we train with
/// never come near it, and with error feedback the excess stays in the
/// residual); NaN and infinity are refused (`CompressionError.notFinite`).
/// Error of a value, from binary16's 11 significant bits:
/// - |x| in [2^-14, 65504] (normal halves): |fp16(x) - x| <= 2^-11 |x|;
/// - |x| < 2^-14 (subnormal halves, spacing 2^-24): |fp16(x) - x| <= 2^-25,
///   so values below 2^-25 become zero. Gradients of order 1e-6 keep only a
///   few bits; a caller that cares scales first (loss scaling).
/// The decoder refuses a NaN or infinity pattern, which no encoder writes.
public struct Float16Codec: GradientCodec, DenseCodec, Sendable {
    public init() {}

    public var name: String { "fp16" }

    /// 12 + 2 count.
    public func encodedBytes(count: Int) -> Int { CodecHeader.byteCount + 2 * count }

    func header(count: Int) -> CodecHeader { CodecHeader(format: .float16, bits: 16, elements: count, bucket: 0) }

    public func encode(_ values: Span<Float>, into bytes: inout MutableRawSpan, using generator: inout SeededGenerator) throws {
        try encodeFrame(values, into: &bytes) { x, n, payload in
            if n > 0 { encodeHalves(x!, count: n, into: payload) }
        }
    }

    public func decode(_ bytes: RawSpan, into values: inout MutableSpan<Float>, _ mode: DecodeMode) throws {
        let n = values.count
        try bytes.withUnsafeBytes { raw in
            try header(count: n).check(raw, totalBytes: encodedBytes(count: n), encoding: name)
            let halves = raw.baseAddress! + CodecHeader.byteCount
            if let bad = firstNonFiniteHalf(halves, count: n) {
                throw CompressionError.undecodable(encoding: name, reason: "value \(bad) is not finite")
            }
            values.withUnsafeMutableBufferPointer { v in
                guard let out = v.baseAddress else { return }
                switch mode {
                case .overwrite: decodeHalves(halves, count: n, into: out, OverwriteStore.self)
                case .add: decodeHalves(halves, count: n, into: out, AddStore.self)
                case .subtract: decodeHalves(halves, count: n, into: out, SubtractStore.self)
                }
            }
        }
    }
}
