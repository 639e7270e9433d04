@testable import Compression
import Random
import XCTest

final class Float16CodecTests: XCTestCase {
    let codec = Float16Codec()

    /// Every finite binary16 value (63,488 of them, subnormals and both
    /// zeros included) survives the round trip bit for bit.
    func testEveryFiniteHalfRoundTripsExactly() throws {
        let halves = (0...UInt16.max).map { Float16(bitPattern: $0) }.filter(\.isFinite)
        XCTAssertEqual(halves.count, 63_488)
        let x = halves.map { Float($0) }
        let back = try roundTrip(codec, x)
        XCTAssertEqual(back.map(\.bitPattern), x.map(\.bitPattern))
    }

    /// The bound of the docs, from binary16's 11 significant bits: half an
    /// ulp, 2^-11 |x| for normal halves (|x| >= 2^-14), 2^-25 absolute below.
    func testRoundingErrorIsWithinHalfAnUlp() throws {
        var x = [Float]()
        var rng = SeededGenerator(seed: 5)
        for _ in 0..<20_001 {
            // Magnitudes spread over 2^-30 ... 2^15, both signs.
            let sign: FloatingPointSign = rng.nextIndex(below: 2) == 0 ? .plus : .minus
            x.append(Float(Double(sign: sign, exponent: rng.nextIndex(below: 46) - 30, significand: rng.nextUnit() + 1)))
        }
        let tiny: Float = 0x1p-14, half: Float = 0x1p-25
        x += [tiny, tiny.nextDown, half, half.nextUp, half.nextDown, 65504, 65519.99, -65519.99]
        let back = try roundTrip(codec, x)
        for (v, h) in zip(x, back) {
            let bound = abs(v) >= 0x1p-14 ? abs(Double(v)) * 0x1p-11 : 0x1p-25
            XCTAssertLessThanOrEqual(abs(Double(h) - Double(v)), bound, "x = \(v)")
        }
        XCTAssertEqual(try roundTrip(codec, [Float(0x1p-25).nextDown, -0x1p-26]), [0, -0.0])  // below half the smallest subnormal: zero
    }

    /// The encoder converts sixteen at a time by integer arithmetic; it must
    /// round exactly as the standard library's Float16(_:) (IEEE, nearest,
    /// ties to even), so it is checked against it where rounding is hardest:
    /// every midpoint between neighbouring finite halves (ties, both
    /// signs), the floats just either side of each midpoint, every half
    /// itself, and values past 65504 (clamped). Lengths are multiples of 16,
    /// so no value takes the scalar tail.
    func testVectorConversionRoundsAsFloat16Does() throws {
        var x = [Float]()
        let halves = (0...UInt16(0x7BFF)).map { Float(Float16(bitPattern: $0)) }  // 0 ... 65504
        for (a, b) in zip(halves, halves.dropFirst()) {
            let mid = (a + b) / 2  // exact in Float32: halves have 11 significant bits
            x += [a, mid, mid.nextDown, mid.nextUp, -mid, -mid.nextUp]
        }
        x += [65504, 65519.99, 65520, 70000, 1e30, .greatestFiniteMagnitude, Float.leastNonzeroMagnitude, 0x1p-25, -0x1p-25, -0.0]
        while x.count % 16 != 0 { x.append(0x1p-24 * 1.5) }  // a subnormal tie
        let bytes = try encoded(codec, x)
        for (i, v) in x.enumerated() {
            let got = UInt16(bytes[12 + 2 * i]) | UInt16(bytes[13 + 2 * i]) << 8
            let want = Float16(min(max(v, -65504), 65504)).bitPattern
            if got != want { XCTFail("x = \(v) (0x\(String(v.bitPattern, radix: 16))): 0x\(String(got, radix: 16)), not 0x\(String(want, radix: 16))") }
        }
    }

    /// Finite values beyond 65504 are clamped to +-65504, never infinity.
    func testOverflowClampsToTheLargestHalf() throws {
        let x: [Float] = [65504, 65520, 1e6, -1e30, .greatestFiniteMagnitude, -.greatestFiniteMagnitude]
        XCTAssertEqual(try roundTrip(codec, x), [65504, 65504, 65504, -65504, 65504, -65504])
    }
}
