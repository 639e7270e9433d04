// The binary16 kernels of the fp16 codec and of the float16 sparse values:
// sixteen lanes at a time by integer and float arithmetic (see
// QuantizationKernels.swift for why not Swift's SIMD masks), the tail by
// the standard library's Float16, which rounds the same way.

/// Float16's largest finite value as a Float.
let float16Max = Float(Float16.greatestFiniteMagnitude)

/// The binary16 bit patterns of 16 finite floats clamped to +-65504,
/// rounded to nearest, ties to even (what `Float16(_:)` does, by integer
/// and float operations that vectorise on any x86-64).
@inline(__always)
func halfBits(_ x: SIMD16<Float>) -> SIMD16<UInt16> {
    // Integer arithmetic only: Swift's SIMD masks (`replacing(with:where:)`)
    // go lane by lane through memory on x86-64, ten times slower.
    let bits = unsafeBitCast(x, to: SIMD16<UInt32>.self)
    let sign = (bits &>> 16) & 0x8000
    var a = bits & 0x7FFF_FFFF
    // Clamp to 65504 (0x477F_E000): over is 1 where a is above it.
    let over = (0x477F_E000 &- a) &>> 31
    a = a &- ((a &- 0x477F_E000) & (0 &- over))
    // |x| >= 2^-14 (a normal half): the exponent moves from bias 127 to 15
    // (minus 112 << 23) and the 13 dropped mantissa bits round to nearest
    // even: adding 0xFFF plus the lowest kept bit carries exactly when the
    // dropped part is above one half, or equal to it with the kept part odd.
    // A carry out of the mantissa raises the exponent, as it should.
    let normal = (a &- (112 << 23) &+ 0xFFF &+ ((a &>> 13) & 1)) &>> 13
    // |x| < 2^-14 (a subnormal half, spacing 2^-24): adding 0.5, whose
    // float ulp is 2^-24, rounds |x| to that spacing (to nearest even); the
    // sum's low bits are then the half's bits (up to 0x400, the smallest normal).
    let sum = unsafeBitCast(a, to: SIMD16<Float>.self) + SIMD16<Float>(repeating: 0.5)
    let subnormal = unsafeBitCast(sum, to: SIMD16<UInt32>.self) &- 0x3F00_0000
    // Where a < 113 << 23 the difference wraps above 2^31: all ones there.
    let isSubnormal = 0 &- ((a &- (113 << 23)) &>> 31)
    let h = (subnormal & isSubnormal) | (normal & ~isSubnormal)
    return SIMD16<UInt16>(truncatingIfNeeded: h | sign)
}

/// The floats of 16 finite binary16 bit patterns (exactly; NaN and infinity
/// patterns, which the decoders refuse first, would come out finite).
@inline(__always)
func floatsOfHalves(_ h: SIMD16<UInt16>) -> SIMD16<Float> {
    let w = SIMD16<UInt32>(truncatingIfNeeded: h)
    let sign = (w & 0x8000) &<< 16
    let moved = (w & 0x7FFF) &<< 13  // exponent and mantissa at the float's places
    // Exponent 1...30: rebias by 112.
    let normal = moved &+ (112 << 23)
    // Exponent 0: moved + (113 << 23) is 2^-14 (1 + m 2^-10); minus 2^-14 leaves m 2^-24, exactly.
    let subnormal = unsafeBitCast(unsafeBitCast(moved &+ (113 << 23), to: SIMD16<Float>.self) - SIMD16<Float>(repeating: 0x1p-14),
                                  to: SIMD16<UInt32>.self)
    let isSubnormal = 0 &- (((w & 0x7C00) &- 1) &>> 31)  // all ones where the exponent is 0
    return unsafeBitCast((subnormal & isSubnormal) | (normal & ~isSubnormal) | sign, to: SIMD16<Float>.self)
}

/// `n` finite floats to binary16, clamped to +-65504, little-endian at `out`.
func encodeHalves(_ x: UnsafePointer<Float>, count n: Int, into out: UnsafeMutableRawPointer) {
    let raw = UnsafeRawPointer(x)
    var i = 0
    while i + 16 <= n {
        out.storeBytes(of: halfBits(raw.loadUnaligned(fromByteOffset: i &* 4, as: SIMD16<Float>.self)), toByteOffset: 2 &* i, as: SIMD16<UInt16>.self)
        i &+= 16
    }
    while i < n {
        let h = Float16(min(max(x[i], -float16Max), float16Max))
        out.storeBytes(of: h.bitPattern.littleEndian, toByteOffset: 2 &* i, as: UInt16.self)
        i &+= 1
    }
}

/// The `n` finite binary16 values at `halves`, stored into `out` by `S`.
func decodeHalves<S: ElementStore>(_ halves: UnsafeRawPointer, count n: Int, into out: UnsafeMutablePointer<Float>, _: S.Type) {
    var i = 0
    while i + 16 <= n {
        S.store(floatsOfHalves(halves.loadUnaligned(fromByteOffset: 2 &* i, as: SIMD16<UInt16>.self)), out, i)
        i &+= 16
    }
    while i < n {
        let bits = UInt16(littleEndian: halves.loadUnaligned(fromByteOffset: 2 &* i, as: UInt16.self))
        S.store(Float(Float16(bitPattern: bits)), out, i)
        i &+= 1
    }
}

/// The index of the first binary16 NaN or infinity (exponent bits all ones)
/// among `n` at `halves`, or nil.
func firstNonFiniteHalf(_ halves: UnsafeRawPointer, count n: Int) -> Int? {
    func bad(_ i: Int) -> Bool { UInt16(littleEndian: halves.loadUnaligned(fromByteOffset: 2 &* i, as: UInt16.self)) & 0x7C00 == 0x7C00 }
    var hits = SIMD16<UInt16>(repeating: 0)
    var i = 0
    while i + 16 <= n {
        let v = halves.loadUnaligned(fromByteOffset: 2 &* i, as: SIMD16<UInt16>.self)
        hits |= (v & 0x7C00) &+ 0x0400  // reaches 0x8000 exactly when the exponent is all ones
        i &+= 16
    }
    var found = any((hits & 0x8000) .!= 0)
    while !found && i < n {
        found = bad(i)
        i &+= 1
    }
    guard found else { return nil }
    return (0..<n).first(where: bad)
}

