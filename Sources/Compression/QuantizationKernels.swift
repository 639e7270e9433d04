import Random

// The element kernels of the int8, QSGD and sign codecs and of the int8
// sparse values (binary16's are in HalfKernels.swift): sixteen lanes at a
// time where the work is the same for every element, scalar where it is not
// (drawing, bit fields). Integer and float operations only, each rounding
// once as IEEE 754 says, so a message is the same bits on every CPU (no FMA
// contraction: Swift never fuses a multiply and an add on its own). Swift's
// SIMD masks (`replacing(with:where:)`, `pointwiseMin`, float-to-integer
// conversions) go lane by lane through memory on x86-64, ten times slower,
// so selections here are integer arithmetic.

// MARK: - int8

/// 1.5 x 2^23: adding it to a float t with |t| < 2^22 leaves no bits below
/// the units, so t is rounded to nearest, ties to even, and the sum's low
/// 23 bits hold round(t) + 2^22.
let roundingMagic: Float = 0x1.8p23

/// round(t) (ties to even) as Int32 for |t| < 2^22, by `roundingMagic`
/// (Swift's generic SIMD float-to-integer conversion goes lane by lane).
@inline(__always)
func roundedIntegers(_ t: SIMD16<Float>) -> SIMD16<Int32> {
    let sum = t + SIMD16<Float>(repeating: roundingMagic)
    return unsafeBitCast(unsafeBitCast(sum, to: SIMD16<UInt32>.self) &- roundingMagic.bitPattern, to: SIMD16<Int32>.self)
}

/// The floats of integers |q| < 2^22, exactly: the magic's bits plus q is
/// the float magic + q.
@inline(__always)
func floatsOfIntegers(_ q: SIMD16<Int32>) -> SIMD16<Float> {
    let biased = unsafeBitCast(q, to: SIMD16<UInt32>.self) &+ roundingMagic.bitPattern
    return unsafeBitCast(biased, to: SIMD16<Float>.self) - SIMD16<Float>(repeating: roundingMagic)
}

/// The largest |x[i]| of `n` finite floats (0 for none).
func maxMagnitude(_ x: UnsafePointer<Float>, count n: Int) -> Float {
    let raw = UnsafeRawPointer(x)
    var m = SIMD16<UInt32>(repeating: 0)
    var i = 0
    // Magnitudes of finite floats order like their bit patterns with the sign cleared.
    while i + 16 <= n {
        let a = raw.loadUnaligned(fromByteOffset: i &* 4, as: SIMD16<UInt32>.self) & 0x7FFF_FFFF
        m = m &- ((m &- a) & (0 &- ((m &- a) &>> 31)))  // max(m, a): both below 2^31
        i &+= 16
    }
    var best = m.max()
    while i < n {
        best = max(best, x[i].bitPattern & 0x7FFF_FFFF)
        i &+= 1
    }
    return Float(bitPattern: best)
}

/// codes[i] = round(127 x[i] / scale), ties to even; zeros when scale is 0.
/// |x| <= scale, so x / scale is in [-1, 1] and t = 127 x / scale in [-127, 127].
func quantizeNearest(_ x: UnsafePointer<Float>, count n: Int, scale: Float, into codes: UnsafeMutablePointer<Int8>) {
    guard scale > 0 else {
        codes.update(repeating: 0, count: n)
        return
    }
    let raw = UnsafeRawPointer(x), out = UnsafeMutableRawPointer(codes)
    let vs = SIMD16<Float>(repeating: scale), v127 = SIMD16<Float>(repeating: 127)
    var i = 0
    while i + 16 <= n {
        let t = (raw.loadUnaligned(fromByteOffset: i &* 4, as: SIMD16<Float>.self) / vs) * v127
        out.storeBytes(of: SIMD16<Int8>(truncatingIfNeeded: roundedIntegers(t)), toByteOffset: i, as: SIMD16<Int8>.self)
        i &+= 16
    }
    while i < n {
        codes[i] = Int8(((x[i] / scale) * 127).rounded(.toNearestOrEven))
        i &+= 1
    }
}

/// codes[i] = floor(t) + (1 with probability frac(t)), t = 127 x[i] / scale.
func quantizeStochastic(_ x: UnsafePointer<Float>, count n: Int, scale: Float, into codes: UnsafeMutablePointer<Int8>,
                        draws: inout UniformDraws, scratch u: UnsafeMutablePointer<Float>, generator: inout SeededGenerator)
{
    guard scale > 0 else {
        codes.update(repeating: 0, count: n)
        return
    }
    draws.fill(u, count: n, &generator)
    let raw = UnsafeRawPointer(x), out = UnsafeMutableRawPointer(codes)
    let vs = SIMD16<Float>(repeating: scale), v127 = SIMD16<Float>(repeating: 127)
    var i = 0
    while i + 16 <= n {
        let t = (raw.loadUnaligned(fromByteOffset: i &* 4, as: SIMD16<Float>.self) / vs) * v127
        let (f, frac) = floorAndFraction(t)
        let up = below(UnsafeRawPointer(u).loadUnaligned(fromByteOffset: i &* 4, as: SIMD16<Float>.self), frac)
        out.storeBytes(of: SIMD16<Int8>(truncatingIfNeeded: f &+ unsafeBitCast(up, to: SIMD16<Int32>.self)), toByteOffset: i, as: SIMD16<Int8>.self)
        i &+= 16
    }
    while i < n {
        let t = (x[i] / scale) * 127
        let f = floor(t)
        // t = 127 gives frac 0, so codes stay in -127...127.
        codes[i] = Int8(f + (u[i] < t - f ? 1 : 0))
        i &+= 1
    }
}

/// The QSGD fields, sign | level << 1, of the `n` finite floats of a bucket
/// of norm `norm` at s levels: t = min(s |x| / norm, s), the level floor(t)
/// + 1 with probability frac(t) (one draw an element, in order), else
/// floor(t); level 0 and no draws when the norm is 0.
func qsgdFields(_ x: UnsafePointer<Float>, count n: Int, norm: Float, levels s: Float, into fields: UnsafeMutablePointer<UInt32>,
                draws: inout UniformDraws, scratch u: UnsafeMutablePointer<Float>, generator: inout SeededGenerator)
{
    let raw = UnsafeRawPointer(x)
    guard norm > 0 else {
        for i in 0..<n { fields[i] = x[i].bitPattern >> 31 }
        return
    }
    draws.fill(u, count: n, &generator)
    let vNorm = SIMD16<Float>(repeating: norm), vs = SIMD16<Float>(repeating: s)
    var i = 0
    while i + 16 <= n {
        let bits = raw.loadUnaligned(fromByteOffset: i &* 4, as: SIMD16<UInt32>.self)
        // |x| <= norm (both Float32 roundings are monotone), so t <= s but
        // for a norm clamped to the largest float.
        let t = smaller((unsafeBitCast(bits & 0x7FFF_FFFF, to: SIMD16<Float>.self) / vNorm) * vs, vs)
        let (f, frac) = floorAndFraction(t)
        let level = unsafeBitCast(f, to: SIMD16<UInt32>.self) &+ below(UnsafeRawPointer(u).loadUnaligned(fromByteOffset: i &* 4, as: SIMD16<Float>.self), frac)
        UnsafeMutableRawPointer(fields).storeBytes(of: (bits &>> 31) | level &<< 1, toByteOffset: i &* 4, as: SIMD16<UInt32>.self)
        i &+= 16
    }
    while i < n {
        let bits = x[i].bitPattern
        let t = min((Float(bitPattern: bits & 0x7FFF_FFFF) / norm) * s, s)
        let f = floor(t)
        fields[i] = bits >> 31 | (UInt32(f) &+ (u[i] < t - f ? 1 : 0)) &<< 1
        i &+= 1
    }
}

/// The smaller of two non-negative finite floats in each lane, by their
/// bit patterns (which order like the values; `pointwiseMin` goes lane by
/// lane through memory).
@inline(__always)
func smaller(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> {
    let x = unsafeBitCast(a, to: SIMD16<UInt32>.self), y = unsafeBitCast(b, to: SIMD16<UInt32>.self)
    let d = x &- y
    return unsafeBitCast(y &+ (d & (0 &- (d &>> 31))), to: SIMD16<Float>.self)
}

/// floor(t) for |t| < 2^22, without a library call (x86-64 before SSE4.1
/// has no rounding instruction, and `rounded(.down)` calls floorf).
@inline(__always)
func floor(_ t: Float) -> Float {
    let r = Float(Int32(t))  // toward zero
    return r > t ? r - 1 : r
}

/// floor(t) as integers and t - floor(t), for |t| < 2^22: round to nearest,
/// then one less where that went above t. The difference t - floor(t) is
/// the scalar `t - floor(t)` bit for bit (exact but for t in (-1, 0), where
/// it is t + 1 rounded once).
@inline(__always)
func floorAndFraction(_ t: SIMD16<Float>) -> (SIMD16<Int32>, SIMD16<Float>) {
    let r = roundedIntegers(t)
    // t - r is exact (|t - r| <= 1/2); its sign bit is 1 where r > t.
    let above = unsafeBitCast(t - floatsOfIntegers(r), to: SIMD16<UInt32>.self) &>> 31
    let f = r &- unsafeBitCast(above, to: SIMD16<Int32>.self)
    return (f, t - floatsOfIntegers(f))
}

/// 1 where u < frac, else 0 (u, frac in [0, 1): their difference is
/// negative, and not -0, exactly then).
@inline(__always)
func below(_ u: SIMD16<Float>, _ frac: SIMD16<Float>) -> SIMD16<UInt32> {
    unsafeBitCast(u - frac, to: SIMD16<UInt32>.self) &>> 31
}

/// out[i] (by `S`) = codes[i] x scale / 127, within 2 u relative plus the
/// smallest subnormal: by the step scale / 127 when that is a normal float
/// (one multiply an element), else dividing each product (a subnormal step
/// would carry an absolute error of 2^-150, which the code would multiply).
func dequantize<S: ElementStore>(_ codes: UnsafeRawPointer, count n: Int, scale: Float, into out: UnsafeMutablePointer<Float>, _: S.Type) {
    let step = scale / 127
    let normal = step.isNormal
    let vStep = SIMD16<Float>(repeating: step), vScale = SIMD16<Float>(repeating: scale), v127 = SIMD16<Float>(repeating: 127)
    var i = 0
    while i + 16 <= n {
        let q = floatsOfIntegers(SIMD16<Int32>(truncatingIfNeeded: codes.loadUnaligned(fromByteOffset: i, as: SIMD16<Int8>.self)))
        S.store(normal ? q * vStep : q * vScale / v127, out, i)
        i &+= 16
    }
    while i < n {
        let q = Float(codes.load(fromByteOffset: i, as: Int8.self))
        S.store(normal ? q * step : q * scale / 127, out, i)
        i &+= 1
    }
}

/// The index of the first byte 0x80 (Int8 -128) among `n`, or nil.
func firstMinus128(_ q: UnsafeRawPointer, count n: Int) -> Int? {
    // z = v ^ 0x80 is 0 exactly for 0x80, and then z - 1 has its top bit
    // set while z has not.
    var hits = SIMD16<UInt8>(repeating: 0)
    var i = 0
    while i + 16 <= n {
        let z = q.loadUnaligned(fromByteOffset: i, as: SIMD16<UInt8>.self) ^ 0x80
        hits |= (z &- 1) & ~z
        i &+= 16
    }
    var found = ((hits & 0x80) &>> 7).wrappedSum() != 0
    while !found && i < n {
        found = q.load(fromByteOffset: i, as: UInt8.self) == 0x80
        i &+= 1
    }
    guard found else { return nil }
    return (0..<n).first { q.load(fromByteOffset: $0, as: UInt8.self) == 0x80 }
}

// MARK: - norms

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

// MARK: - signs

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

/// Element i (by `S`) = -a or +a by sign bit i, a the scale of i's group.
func unpackSigns<S: ElementStore>(_ signs: UnsafeRawPointer, scales: UnsafeRawPointer, count n: Int, groupSize: Int,
                                  into out: UnsafeMutablePointer<Float>, _: S.Type)
{
    // Lane j keeps bit j of the 16 and moves it to bit 31, the float's sign:
    // (bits & 2^j) x 2^(31 - j). (Arithmetic, not SIMD masks, which go lane by lane.)
    let lanes = SIMD16<UInt32>(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768)
    let toSign = SIMD16<UInt32>(1 << 31, 1 << 30, 1 << 29, 1 << 28, 1 << 27, 1 << 26, 1 << 25, 1 << 24,
                                1 << 23, 1 << 22, 1 << 21, 1 << 20, 1 << 19, 1 << 18, 1 << 17, 1 << 16)
    for g in 0..<bucketCount(n, groupSize) {
        let start = g * groupSize, end = min(n, start + groupSize)
        let a = loadFloat(scales, 4 * g)
        let magnitude = SIMD16<UInt32>(repeating: a.bitPattern)
        var i = start
        while i < end {
            if i & 15 == 0 && i + 16 <= end {
                let bits = UInt16(littleEndian: signs.loadUnaligned(fromByteOffset: i >> 3, as: UInt16.self))
                let sign = (SIMD16<UInt32>(repeating: UInt32(bits)) & lanes) &* toSign
                S.store(unsafeBitCast(magnitude | sign, to: SIMD16<Float>.self), out, i)
                i &+= 16
            } else {
                let negative = signs.load(fromByteOffset: i >> 3, as: UInt8.self) >> UInt8(i & 7) & 1
                S.store(negative == 0 ? a : -a, out, i)
                i &+= 1
            }
        }
    }
}
