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
public struct ScaledSignCodec: GradientCodec, Sendable {
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
        let n = values.count
        precondition(bytes.byteCount == encodedBytes(count: n), "sign needs \(encodedBytes(count: n)) bytes for \(n) floats, not \(bytes.byteCount)")
        let h = header(count: n)
        try values.withUnsafeBufferPointer { x in
            try requireFinite(x, encoding: name)
            bytes.withUnsafeMutableBytes { out in
                let p = out.baseAddress!
                h.write(to: p)
                guard let x0 = x.baseAddress else { return }
                let groups = bucketCount(n, groupSize)
                let scales = p + CodecHeader.byteCount
                for g in 0..<groups {
                    let start = g * groupSize, count = min(groupSize, n - start)
                    storeFloat(meanMagnitude(x0 + start, count: count), scales, 4 * g)
                }
                packSigns(x0, count: n, into: scales + 4 * groups)
            }
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

/// ||x||_1 / n of `n` finite floats, summed in Double and rounded once
/// (at most the largest magnitude, so finite); 0 for n = 0.
func meanMagnitude(_ x: UnsafePointer<Float>, count n: Int) -> Float {
    guard n > 0 else { return 0 }
    var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
    var i = 0
    while i + 4 <= n {
        s0 += Double(abs(x[i]))
        s1 += Double(abs(x[i &+ 1]))
        s2 += Double(abs(x[i &+ 2]))
        s3 += Double(abs(x[i &+ 3]))
        i &+= 4
    }
    while i < n {
        s0 += Double(abs(x[i]))
        i &+= 1
    }
    return Float(((s0 + s1) + (s2 + s3)) / Double(n))
}

/// The sign bits of `n` floats, 64 to a little-endian word, then the tail
/// bytes (unused high bits zero).
func packSigns(_ x: UnsafePointer<Float>, count n: Int, into out: UnsafeMutableRawPointer) {
    var i = 0
    while i + 64 <= n {
        var word: UInt64 = 0
        for j in 0..<64 { word |= UInt64(x[i &+ j].bitPattern >> 31) &<< UInt64(j) }
        out.storeBytes(of: word.littleEndian, toByteOffset: i / 8, as: UInt64.self)
        i &+= 64
    }
    var byte: UInt8 = 0
    while i < n {
        byte |= UInt8(x[i].bitPattern >> 31) &<< UInt8(i % 8)
        i &+= 1
        if i % 8 == 0 || i == n {
            out.storeBytes(of: byte, toByteOffset: (i - 1) / 8, as: UInt8.self)
            byte = 0
        }
    }
}

@inline(__always)
func unpackSigns<S: ElementStore>(_ signs: UnsafeRawPointer, scales: UnsafeRawPointer, count n: Int, groupSize: Int,
                                  into out: UnsafeMutablePointer<Float>, _: S.Type)
{
    for g in 0..<bucketCount(n, groupSize) {
        let start = g * groupSize, end = min(n, start + groupSize)
        let a = loadFloat(scales, 4 * g)
        for i in start..<end {
            let negative = signs.load(fromByteOffset: i >> 3, as: UInt8.self) >> UInt8(i & 7) & 1
            S.store(negative == 0 ? a : -a, out, i)
        }
    }
}
