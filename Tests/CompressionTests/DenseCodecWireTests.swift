@testable import Compression
import Random
import XCTest

/// The wire formats of the dense codecs as docs/compression.md gives them:
/// byte counts from the documented formulas (written out here, not taken
/// from the codecs), header fields at their offsets, and refusal of bytes
/// that are not a message.
final class DenseCodecWireTests: XCTestCase {
    /// ceil(log2(s + 1)), by counting.
    func levelBits(_ s: Int) -> Int {
        var b = 0
        while 1 << b <= s { b += 1 }
        return b
    }

    func ceilDiv(_ a: Int, _ b: Int) -> Int { (a + b - 1) / b }

    /// (format tag, bits per element, levels, bucket, total bytes) as documented.
    func documented(_ codec: any GradientCodec, count n: Int) -> (tag: UInt8, bits: Int, levels: Int, bucket: Int, bytes: Int) {
        switch codec {
        case is Float16Codec:
            return (0x10, 16, 0, 0, 12 + 2 * n)
        case let c as ScaledInt8Codec:
            return (0x11, 8, 0, c.bucketSize, 12 + 4 * ceilDiv(n, c.bucketSize) + n)
        case let c as QSGDCodec:
            let b = 1 + levelBits(c.levels)
            return (0x12, b, c.levels, c.bucketSize, 12 + 4 * ceilDiv(n, c.bucketSize) + ceilDiv(n * b, 8))
        case let c as ScaledSignCodec:
            return (0x13, 1, 0, c.groupSize, 12 + 4 * ceilDiv(n, c.groupSize) + ceilDiv(n, 8))
        default:
            fatalError("no documented format for \(codec.name)")
        }
    }

    func testByteCountsAndHeadersAreTheDocumentedOnes() throws {
        for codec in denseCodecs() {
            for n in awkwardLengths {
                let want = documented(codec, count: n)
                XCTAssertEqual(codec.encodedBytes(count: n), want.bytes, "\(codec.name) n \(n)")
                let bytes = try encoded(codec, gaussian(n, seed: UInt64(n)))
                XCTAssertEqual(bytes.count, want.bytes, "\(codec.name) n \(n)")
                XCTAssertEqual(bytes[0], want.tag, "\(codec.name) n \(n)")
                XCTAssertEqual(Int(bytes[1]), want.bits, "\(codec.name) n \(n)")
                XCTAssertEqual(u16(bytes, 2), want.levels, "\(codec.name) n \(n)")
                XCTAssertEqual(u32(bytes, 4), n, "\(codec.name) n \(n)")
                XCTAssertEqual(u32(bytes, 8), want.bucket, "\(codec.name) n \(n)")
            }
        }
        // The widths the docs name: s = 127 is 8 bits, 7 is 4, 1 (ternary) is 2, 255 is 9.
        XCTAssertEqual(QSGDCodec(levels: 127).bitsPerElement, 8)
        XCTAssertEqual(QSGDCodec(levels: 7).bitsPerElement, 4)
        XCTAssertEqual(QSGDCodec(levels: 1).bitsPerElement, 2)
        XCTAssertEqual(QSGDCodec(levels: 255).bitsPerElement, 9)
        XCTAssertEqual(QSGDCodec(levels: 32_767).bitsPerElement, 16)
    }

    /// Scales and norms sit right after the header, one Float32 per bucket:
    /// int8's is the bucket's largest magnitude, sign's its mean magnitude,
    /// QSGD's its L2 norm (computed here in Double, rounded once).
    func testScalesAreWhereTheDocsSay() throws {
        let x = gaussian(150, seed: 11)
        func buckets(_ size: Int) -> [ArraySlice<Float>] { stride(from: 0, to: x.count, by: size).map { x[$0..<min(x.count, $0 + size)] } }
        let int8 = try encoded(ScaledInt8Codec(bucketSize: 64), x)
        for (b, v) in buckets(64).enumerated() { XCTAssertEqual(f32(int8, 12 + 4 * b), v.map(abs).max()!) }
        let sign = try encoded(ScaledSignCodec(groupSize: 64), x)
        for (b, v) in buckets(64).enumerated() {
            XCTAssertEqual(f32(sign, 12 + 4 * b), Float(v.reduce(0.0) { $0 + Double(abs($1)) } / Double(v.count)))
        }
        let qsgd = try encoded(QSGDCodec(levels: 3, bucketSize: 64), x)
        for (b, v) in buckets(64).enumerated() {
            XCTAssertEqual(f32(qsgd, 12 + 4 * b), Float(v.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()))
        }
    }

    /// The sign stream: bit i (least significant first) is element i's sign.
    func testSignBitsArePackedLeastSignificantFirst() throws {
        let x: [Float] = [1, -2, 3, -4, -5, 6, 7, 8, -9, 10, -0.0]
        let bytes = try encoded(ScaledSignCodec(groupSize: 512), x)
        XCTAssertEqual(bytes.count, 12 + 4 + 2)
        XCTAssertEqual(bytes[16], 0b0001_1010)
        XCTAssertEqual(bytes[17], 0b0000_0101)  // elements 8 and 10 (-0 has its sign bit); unused bits 0
    }

    /// QSGD fields: sign | level << 1, b bits each, least significant first.
    /// x = (2, -2, 0, 2, -2) with s = 4: norm 4, t = 2 or 0 exactly, so the
    /// levels are certain; b = 1 + 3 bits: fields 0100 0101 0000 0100 0101.
    func testQSGDFieldsArePackedLeastSignificantFirst() throws {
        let codec = QSGDCodec(levels: 4, bucketSize: 512)
        let bytes = try encoded(codec, [2, -2, 0, 2, -2])
        XCTAssertEqual(bytes.count, 12 + 4 + 3)
        XCTAssertEqual(f32(bytes, 12), 4)
        XCTAssertEqual(Array(bytes[16...]), [0b0101_0100, 0b0100_0000, 0b0000_0101])
        XCTAssertEqual(try codec.decode(bytes, count: 5), [2, -2, 0, 2, -2])
    }

    /// The bit stream of QSGD's fields, at every width 1...16 and counts
    /// that end inside and on 64-bit words: BitWriter's bytes are those of a
    /// bit-by-bit packer written from the definition (field i at stream bits
    /// [i w, (i + 1) w), stream bit j = bit j mod 8 of byte j / 8), and
    /// `field` reads every field back.
    func testBitFieldsAtEveryWidth() throws {
        var rng = SeededGenerator(seed: 13)
        for width in 1...16 {
            for count in [0, 1, 7, 63, 64, 65, 200] {
                let values = (0..<count).map { _ in UInt32(truncatingIfNeeded: rng.next()) & ((1 << UInt32(width)) - 1) }
                let total = (count * width + 7) / 8
                var reference = [UInt8](repeating: 0, count: total)
                for (i, v) in values.enumerated() {
                    for k in 0..<width where (v >> UInt32(k)) & 1 == 1 {
                        let j = i * width + k
                        reference[j / 8] |= 1 << UInt8(j % 8)
                    }
                }
                var written = [UInt8](repeating: 0xEE, count: total)
                written.withUnsafeMutableBytes { raw in
                    guard let base = raw.baseAddress else { return }
                    var writer = BitWriter(base)
                    for v in values { writer.append(UInt64(v), width: width) }
                    writer.finish()
                }
                XCTAssertEqual(written, reference, "width \(width) count \(count)")
                let read = written.withUnsafeBytes { raw in
                    (0..<count).map { field(raw.baseAddress!, $0, width: width, streamBytes: total) }
                }
                XCTAssertEqual(read, values, "width \(width) count \(count)")
            }
        }
        // And through QSGD at widths the other tests do not use (s = 2: 3 bits, 255: 9, 32767: 16).
        for s in [2, 255, 32_767] {
            let codec = QSGDCodec(levels: s, bucketSize: 50)
            let x = gaussian(333, seed: 14)
            let back = try roundTrip(codec, x)
            // A level is within 1 of t: one step, plus the Float32 roundings (4 u of the norm and of the step).
            for start in stride(from: 0, to: 333, by: 50) {
                let r = start..<min(333, start + 50)
                let norm = x[r].reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
                let bound = norm / Double(s) * (1 + 4 * unitRoundoff) + 4 * unitRoundoff * norm
                for i in r { XCTAssertLessThanOrEqual(abs(Double(back[i]) - Double(x[i])), bound, "s \(s) element \(i)") }
            }
        }
    }

    func testEveryHeaderFieldIsChecked() throws {
        let n = 100
        for codec in denseCodecs() {
            let good = try encoded(codec, gaussian(n, seed: 3))
            let total = good.count
            let want = documented(codec, count: n)
            let tag = String(want.tag, radix: 16)
            expectRefusal(codec, Array(good.prefix(11)), count: n, "11 bytes, shorter than the 12-byte header")
            expectRefusal(codec, [], count: n, "0 bytes, shorter than the 12-byte header")
            expectRefusal(codec, Array(good.dropLast()), count: n, "\(total - 1) bytes where \(total) were expected")
            expectRefusal(codec, good + [0], count: n, "\(total + 1) bytes where \(total) were expected")
            var b = good; b[0] = 0x01
            expectRefusal(codec, b, count: n, "format tag 0x01 where 0x\(tag) was expected")
            b = good; b[1] = UInt8(want.bits + 1)
            expectRefusal(codec, b, count: n, "\(want.bits + 1) bits per element where \(want.bits) were expected")
            b = good; b[2] ^= 1
            expectRefusal(codec, b, count: n, "\(want.levels ^ 1) levels where \(want.levels) were expected")
            b = good; b[4] = 99
            expectRefusal(codec, b, count: n, "99 elements where \(n) were expected")
            b = good; b[9] = 1
            expectRefusal(codec, b, count: n, "bucket size \(want.bucket & ~0xFF00 | 0x100) where \(want.bucket) was expected")
            // The right message for another length is refused too.
            expectRefusal(codec, good, count: n + 1, "\(n) elements where \(n + 1) were expected")
        }
    }

    func testScalesMustBeFiniteAndNotNegative() throws {
        let n = 100
        let cases: [(any GradientCodec, String)] = [
            (ScaledInt8Codec(bucketSize: 64), "the scale of bucket"), (QSGDCodec(levels: 5, bucketSize: 64), "the norm of bucket"),
            (ScaledSignCodec(groupSize: 64), "the scale of group"),
        ]
        for (codec, what) in cases {
            let good = try encoded(codec, gaussian(n, seed: 4))
            for bad: Float in [.nan, .infinity, -1] {
                var b = good
                putF32(&b, 16, bad)  // the second bucket's
                expectRefusal(codec, b, count: n, "\(what) 1 is \(bad)")
            }
        }
    }

    func testCodeValuesAnEncoderCannotWriteAreRefused() throws {
        // QSGD s = 5: 3 level bits, so levels 6 and 7 do not exist.
        let qsgd = QSGDCodec(levels: 5, bucketSize: 9)
        var b = try encoded(qsgd, [Float](repeating: 0, count: 20))  // every field 0
        let codes = 12 + 4 * 3
        b[codes] = 0b1110_0000  // element 1's field (bits 4...7) = 0b1110: level 7, sign 0
        expectRefusal(qsgd, b, count: 20, "element 1 has level 7, above 5")
        // 20 fields of 4 bits fill 10 bytes exactly; at 19 fields the last byte's high half is unused.
        b = try encoded(qsgd, [Float](repeating: 0, count: 19))
        b[b.count - 1] = 0x10
        expectRefusal(qsgd, b, count: 19, "the unused bits of the last byte are not zero")
        // Sign: 11 elements leave 5 unused bits.
        let sign = ScaledSignCodec(groupSize: 4)
        b = try encoded(sign, gaussian(11, seed: 5))
        b[b.count - 1] |= 0x80
        expectRefusal(sign, b, count: 11, "the unused bits of the last byte are not zero")
        // int8: -128 is outside the symmetric range the encoder writes.
        let int8 = ScaledInt8Codec(bucketSize: 64)
        b = try encoded(int8, gaussian(100, seed: 6))
        b[12 + 8 + 37] = 0x80
        expectRefusal(int8, b, count: 100, "value 37 is -128, outside -127...127")
        // fp16: infinity and NaN patterns.
        let fp16 = Float16Codec()
        for (pattern, at) in [(UInt16(0x7C00), 3), (0xFC00, 40), (0x7E01, 99)] {
            b = try encoded(fp16, gaussian(100, seed: 8))
            b[12 + 2 * at] = UInt8(pattern & 0xFF)
            b[12 + 2 * at + 1] = UInt8(pattern >> 8)
            expectRefusal(fp16, b, count: 100, "value \(at) is not finite")
        }
    }

    /// Random damage to valid messages either decodes or throws one
    /// `CompressionError` line; it never traps. (Seeded, so the same
    /// 3000 damaged messages every run.)
    func testRandomDamageNeverTraps() throws {
        var rng = SeededGenerator(seed: 99)
        for codec in denseCodecs() {
            for n in [0, 1, 13, 200] {
                let good = try encoded(codec, gaussian(n, seed: 12))
                for _ in 0..<100 {
                    var b = good
                    switch rng.nextIndex(below: 3) {
                    case 0 where !b.isEmpty:
                        for _ in 0...rng.nextIndex(below: 4) { b[rng.nextIndex(below: b.count)] = UInt8(truncatingIfNeeded: rng.next()) }
                    case 1:
                        b = Array(b.prefix(rng.nextIndex(below: b.count + 1)))
                    default:
                        b += (0...rng.nextIndex(below: 8)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                    }
                    var out = [Float](repeating: 0, count: n)
                    do {
                        try codec.decode(b, adding: &out)
                        XCTAssertTrue(out.allSatisfy(\.isFinite), "\(codec.name): a decoded message holds a non-finite value")
                    } catch let e as CompressionError {
                        XCTAssertFalse("\(e)".contains("\n"))
                    }
                }
            }
        }
    }

    func testEncodersRefuseNaNAndInfinityNamingTheElement() {
        for codec in denseCodecs() {
            for bad: Float in [.nan, .infinity, -.infinity] {
                var x = gaussian(70, seed: 2)
                x[66] = bad
                var rng = SeededGenerator(seed: 1)
                XCTAssertThrowsError(try codec.encode(x, using: &rng)) {
                    // (NaN != NaN, so the case is matched field by field.)
                    guard case let .notFinite(position, value, encoding)? = $0 as? CompressionError else { return XCTFail("\($0)") }
                    XCTAssertEqual(position, 66)
                    XCTAssertEqual(value.bitPattern, bad.bitPattern)
                    XCTAssertEqual(encoding, codec.name)
                    XCTAssertEqual("\($0)", "\(bad) at element 66 of the input; the \(codec.name) encoding takes finite values only")
                }
            }
        }
    }

    /// The adding and subtracting decoders are the overwriting one plus or
    /// minus what was there, bit for bit (one Float32 add per element).
    func testDecodeModesAddAndSubtract() throws {
        for codec in denseCodecs() {
            let x = gaussian(301, seed: 21), base = gaussian(301, seed: 22)
            let bytes = try encoded(codec, x)
            let decoded = try codec.decode(bytes, count: 301)
            var added = base
            try codec.decode(bytes, adding: &added)
            XCTAssertEqual(added, zip(base, decoded).map(+), codec.name)
            var subtracted = base
            var span = subtracted.mutableSpan
            try codec.decode(bytes.span.bytes, into: &span, .subtract)
            XCTAssertEqual(subtracted, zip(base, decoded).map(-), codec.name)
        }
    }
}
