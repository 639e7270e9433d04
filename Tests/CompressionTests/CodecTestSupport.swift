@testable import Compression
import Random
import XCTest

/// Float32's unit roundoff, 2^-24.
let unitRoundoff = 0x1p-24

/// Lengths the codec tests run over: empty, one element, odd lengths, and
/// lengths just under, at and over a bucket of 8, 64 and 512.
let awkwardLengths = [0, 1, 2, 3, 7, 8, 9, 63, 64, 65, 511, 512, 513, 1001, 1537]

func gaussian(_ n: Int, seed: UInt64, scale: Double = 1) -> [Float] {
    var rng = SeededGenerator(seed: seed)
    return (0..<n).map { _ in Float(rng.nextGaussian() * scale) }
}

/// Encodes with a fresh generator of `seed` and checks the byte count against `encodedBytes`.
func encoded<C: GradientCodec>(_ codec: C, _ x: [Float], seed: UInt64 = 7, file: StaticString = #filePath, line: UInt = #line) throws -> [UInt8] {
    var rng = SeededGenerator(seed: seed)
    let bytes = try codec.encode(x, using: &rng)
    XCTAssertEqual(bytes.count, codec.encodedBytes(count: x.count), "\(codec.name) byte count", file: file, line: line)
    return bytes
}

func roundTrip<C: GradientCodec>(_ codec: C, _ x: [Float], seed: UInt64 = 7) throws -> [Float] {
    try codec.decode(encoded(codec, x, seed: seed), count: x.count)
}

/// Little-endian reads of a message, for checking documented offsets.
func u16(_ b: [UInt8], _ o: Int) -> Int { Int(b[o]) | Int(b[o + 1]) << 8 }
func u32(_ b: [UInt8], _ o: Int) -> Int { u16(b, o) | u16(b, o + 2) << 16 }
func f32(_ b: [UInt8], _ o: Int) -> Float { Float(bitPattern: UInt32(u32(b, o))) }
func putF32(_ b: inout [UInt8], _ o: Int, _ v: Float) {
    for k in 0..<4 { b[o + k] = UInt8(truncatingIfNeeded: v.bitPattern >> (8 * k)) }
}

/// Asserts that decoding `bytes` as `count` floats throws exactly
/// `CompressionError.undecodable(encoding: codec.name, reason:)`, and that an
/// accumulator given to the adding decoder is left as it was.
func expectRefusal<C: GradientCodec>(_ codec: C, _ bytes: [UInt8], count: Int, _ reason: String,
                                     file: StaticString = #filePath, line: UInt = #line)
{
    let before = (0..<count).map { Float($0) + 0.5 }
    var accumulator = before
    XCTAssertThrowsError(try codec.decode(bytes, adding: &accumulator), file: file, line: line) {
        XCTAssertEqual($0 as? CompressionError, .undecodable(encoding: codec.name, reason: reason), file: file, line: line)
        XCTAssertEqual("\($0)", "bad \(codec.name) message: \(reason)", file: file, line: line)
        XCTAssertFalse("\($0)".contains("\n"), file: file, line: line)
    }
    XCTAssertEqual(accumulator, before, "a refused message changed the accumulator", file: file, line: line)
}

/// Every dense codec under test, with small buckets so that lengths cross them.
func denseCodecs() -> [any GradientCodec] {
    [Float16Codec(), ScaledInt8Codec(bucketSize: 64), ScaledInt8Codec(bucketSize: 7, rounding: .stochastic),
     QSGDCodec(levels: 127, bucketSize: 64), QSGDCodec(levels: 5, bucketSize: 9), QSGDCodec(levels: 1, bucketSize: 512),
     ScaledSignCodec(groupSize: 64), ScaledSignCodec(groupSize: 1)]
}
