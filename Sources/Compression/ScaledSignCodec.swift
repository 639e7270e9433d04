import Random

/// Scaled sign compression (EF-SignSGD, Karimireddy et al. 2019): the
/// vector is cut into groups of `groupSize` (the last one possibly
/// shorter); each group of d elements sends its mean magnitude
/// a = ||p||_1 / d as a Float32 scale and one bit per element, its sign;
/// element i is read back as +a or -a (the sign bit of the float: -0 reads
/// as -a). Deterministic, and biased: use it with error feedback
/// (`GradientCodec.encode(gradient:residual:into:using:)`: p = g + e, send
/// C(p), e = p - C(p)).
///
/// Contraction, per group: <sign(p), p> = ||p||_1 and ||sign(p)||^2 = d, so
///
///     ||C(p) - p||^2 = ||p||^2 - ||p||_1^2 / d = (1 - delta) ||p||^2,
///     delta = ||p||_1^2 / (d ||p||_2^2)  in [1/d, 1]
///
/// an equality (the scale's one Float32 rounding, relative 2^-24, changes
/// it by at most 2^-48 ||p||^2: the mean is where the error is smallest).
/// That delta > 0 is what the error-feedback convergence proof needs.
///
/// Wire format (little-endian):
///
///     header   12 bytes (`CodecHeader`): format 0x13, bits 1, levels 0, elements n, bucket G
///     scales   ceil(n / G) x Float32, group after group (finite, >= 0)
///     signs    n bits, least significant bit first (`BitWriter`), 1 = negative;
///              the last byte's unused bits are 0
///
///     bytes = 12 + 4 ceil(n / G) + ceil(n / 8)
///
/// NaN and infinity are refused (`CompressionError.notFinite`).
public struct ScaledSignCodec: GradientCodec, DenseCodec, Sendable {
    public let groupSize: Int

    public init(groupSize: Int = 512) {
        precondition(groupSize >= 1 && groupSize <= Int(UInt32.max), "sign group size must be in 1...\(UInt32.max), not \(groupSize)")
        self.groupSize = groupSize
    }

    public var name: String { "sign" }

    /// 12 + 4 ceil(count / groupSize) + ceil(count / 8).
    public func encodedBytes(count: Int) -> Int {
        CodecHeader.byteCount + 4 * bucketCount(count, groupSize) + packedBytes(count: count, width: 1)
    }

    func header(count: Int) -> CodecHeader { CodecHeader(format: .sign, bits: 1, elements: count, bucket: groupSize) }

    public func encode(_ values: Span<Float>, into bytes: inout MutableRawSpan, using generator: inout SeededGenerator) throws {
        try encodeFrame(values, into: &bytes) { x, n, payload in
            guard let x0 = x else { return }
            let groups = bucketCount(n, groupSize)
            let scales = payload
            for g in 0..<groups {
                let start = g * groupSize, count = min(groupSize, n - start)
                storeFloat(meanMagnitude(x0 + start, count: count), scales, 4 * g)
            }
            packSigns(x0, count: n, into: scales + 4 * groups)
        }
    }

    public func decode(_ bytes: RawSpan, into values: inout MutableSpan<Float>, _ mode: DecodeMode) throws {
        let n = values.count
        try bytes.withUnsafeBytes { raw in
            try header(count: n).check(raw, totalBytes: encodedBytes(count: n), encoding: name)
            let groups = bucketCount(n, groupSize)
            let scales = raw.baseAddress! + CodecHeader.byteCount, signs = scales + 4 * groups
            try checkScales(scales, at: 0, count: groups, what: "the scale of group", encoding: name)
            guard paddingIsZero(signs, count: n, width: 1) else {
                throw CompressionError.undecodable(encoding: name, reason: "the unused bits of the last byte are not zero")
            }
            values.withUnsafeMutableBufferPointer { v in
                guard let out = v.baseAddress else { return }
                switch mode {
                case .overwrite: unpackSigns(signs, scales: scales, count: n, groupSize: groupSize, into: out, OverwriteStore.self)
                case .add: unpackSigns(signs, scales: scales, count: n, groupSize: groupSize, into: out, AddStore.self)
                case .subtract: unpackSigns(signs, scales: scales, count: n, groupSize: groupSize, into: out, SubtractStore.self)
                }
            }
        }
    }
}
