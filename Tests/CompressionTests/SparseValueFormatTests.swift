@testable import Compression
import Random
import XCTest

/// Sparse blocks with float16 and int8 values: byte accounting of every
/// form, round trips within the formats' bounds, refusals.
final class SparseValueFormatTests: XCTestCase {
    func compressed(_ x: [Float], _ layout: GroupLayout) throws -> SparseGradient {
        var out = SparseGradient(layout: layout)
        try x.withUnsafeBufferPointer { try GroupTopK(layout: layout).compress($0, into: &out) }
        return out
    }

    func encode(_ block: SparseBlock, _ format: SparseValueFormat) throws -> [UInt8] {
        var bytes = [UInt8]()
        let n = try block.encode(into: &bytes, values: format)
        XCTAssertEqual(n, block.wireBytes(values: format))
        return Array(bytes[0..<n])
    }

    func decode(_ bytes: [UInt8], like block: SparseBlock, _ format: SparseValueFormat) throws -> SparseBlock {
        try bytes.withUnsafeBytes { try SparseBlock(decoding: $0, layout: block.layout, groups: block.groups, values: format) }
    }

    /// The three forms (fixed from compression, variable from an exact
    /// merge, dense), each of a block of `groups`.
    func forms(_ layout: GroupLayout, groups: Range<Int>) throws -> [SparseBlock] {
        let a = SparseBlock(try compressed(gaussian(layout.length, seed: 1), layout), groups: groups)
        var b = a
        b.mergeExact(SparseBlock(try compressed(gaussian(layout.length, seed: 2), layout), groups: groups))
        var c = b
        c.makeDense()
        XCTAssertEqual([a.form, b.form, c.form], [.fixed, .variable, .dense])
        return [a, b, c]
    }

    /// bytes = 4 + [variable: count bytes x groups] + [int8: 4 x groups] + n (value + position bytes),
    /// or 4 + [int8: 4 x groups] + elements x value bytes when dense; written out here from the docs.
    func testByteCountsOfEveryFormAndFormat() throws {
        for (length, groupSize, ratio, blockGroups) in [(10_007, 100, 0.05, 3..<9), (1000, 7, 0.3, 0..<143), (50, 10, 0.1, 0..<5),
                                                        (250_000, 70_000, 0.01, 1..<4), (5000, 1024, 0.01, 4..<5)] {
            let layout = GroupLayout(length: length, groupSize: groupSize, ratio: ratio)
            let positionBytes = groupSize <= 65_536 ? 2 : 4, countBytes = groupSize < 65_536 ? 2 : 4
            for block in try forms(layout, groups: blockGroups) {
                for format in SparseValueFormat.allCases {
                    let valueBytes = [SparseValueFormat.float32: 4, .float16: 2, .int8: 1][format]!
                    let scales = format == .int8 ? 4 * blockGroups.count : 0
                    let want: Int
                    switch block.form {
                    case .fixed: want = 4 + scales + block.values.count * (valueBytes + positionBytes)
                    case .variable: want = 4 + countBytes * blockGroups.count + scales + block.values.count * (valueBytes + positionBytes)
                    case .dense: want = 4 + scales + block.elements.count * valueBytes
                    }
                    let bytes = try encode(block, format)
                    XCTAssertEqual(bytes.count, want, "G \(groupSize) \(block.form) \(format)")
                    XCTAssertEqual(Array(bytes[0..<4]), [block.form.rawValue, UInt8(positionBytes), format.rawValue, 0])
                }
            }
        }
    }

    /// What Group-TopK pays an entry, before (Float32 values, UInt16
    /// positions: 6 bytes) and after (float16: 4; int8: 3 + 4 / k).
    func testBytesAnEntryBeforeAndAfter() throws {
        let layout = GroupLayout(length: 102_400, groupSize: 1024, ratio: 0.01)  // 100 groups, k = 10
        let block = SparseBlock(try compressed(gaussian(layout.length, seed: 3), layout), groups: 0..<100)
        XCTAssertEqual(block.values.count, 1000)
        XCTAssertEqual(block.wireBytes, 4 + 6 * 1000)
        XCTAssertEqual(block.wireBytes(values: .float32), block.wireBytes)
        XCTAssertEqual(block.wireBytes(values: .float16), 4 + 4 * 1000)
        XCTAssertEqual(block.wireBytes(values: .int8), 4 + 4 * 100 + 3 * 1000)
    }

    /// Positions are exact in every format; values within the format's bound
    /// (float16: 2^-11 |v|, or 2^-25 below 2^-14; int8: m / 254 + 4 u m, m the
    /// group's largest magnitude in the block); float32 exact.
    func testRoundTripsWithinTheFormatsBounds() throws {
        let layout = GroupLayout(length: 3001, groupSize: 64, ratio: 0.2)
        for block in try forms(layout, groups: 2..<47) {
            for format in SparseValueFormat.allCases {
                let back = try decode(try encode(block, format), like: block, format)
                XCTAssertEqual(back.form, block.form)
                XCTAssertEqual(back.counts, block.counts)
                XCTAssertEqual(back.positions, block.positions)
                var start = 0
                for j in 0..<block.groups.count {
                    let r = block.valueRange(ofGroup: j, start: &start)
                    let m = Double(block.values[r].map(abs).max() ?? 0)
                    for e in r {
                        let v = Double(block.values[e]), w = Double(back.values[e])
                        switch format {
                        case .float32: XCTAssertEqual(w, v)
                        case .float16: XCTAssertLessThanOrEqual(abs(w - v), abs(v) >= 0x1p-14 ? abs(v) * 0x1p-11 : 0x1p-25)
                        case .int8: XCTAssertLessThanOrEqual(abs(w - v), m / 254 + 4 * unitRoundoff * m)
                        }
                    }
                }
            }
        }
    }

    func testDecodingChecksTheValueFormatAndWhatOnlyItCanHold() throws {
        let layout = GroupLayout(length: 1000, groupSize: 100, ratio: 0.05)  // k = 5
        let block = SparseBlock(try compressed(gaussian(1000, seed: 4), layout), groups: 2..<5)
        func expectRefusal(_ b: [UInt8], _ format: SparseValueFormat, _ reason: String, line: UInt = #line) {
            XCTAssertThrowsError(try decode(b, like: block, format), line: line) {
                XCTAssertEqual($0 as? CompressionError, .undecodableBlock(groups: 2..<5, reason: reason), line: line)
            }
        }
        let fp16 = try encode(block, .float16), int8 = try encode(block, .int8)
        expectRefusal(fp16, .float32, "value format 1 where 0 (float32) was expected")
        expectRefusal(fp16, .int8, "value format 1 where 2 (int8) was expected")
        var b = fp16; b[3] = 7
        expectRefusal(b, .float16, "reserved byte 7, not 0")
        expectRefusal(Array(fp16.dropLast()), .float16, "\(fp16.count - 1) bytes where \(fp16.count) were expected")
        b = fp16; b[4 + 2 * 7] = 0x00; b[4 + 2 * 7 + 1] = 0x7C  // value 7 = +infinity
        expectRefusal(b, .float16, "value 7 is not finite")
        b = int8; putF32(&b, 4 + 4, -.infinity)
        expectRefusal(b, .int8, "the scale of group 3 is -inf")
        b = int8; b[4 + 12 + 14] = 0x80
        expectRefusal(b, .int8, "value 14 is -128, outside -127...127")
        // The Float32 format's messages are the same bytes as before value formats (byte 2 was a reserved 0).
        var plain = [UInt8]()
        let n = block.encode(into: &plain)
        XCTAssertEqual(Array(plain[0..<n]), try encode(block, .float32))
        XCTAssertEqual(plain[2], 0)
    }

    func testQuantizedFormatsRefuseInfinityNamingItsElement() throws {
        let layout = GroupLayout(length: 40, groupSize: 10, ratio: 0.2)  // k = 2
        var x = gaussian(40, seed: 5)
        x[27] = -.infinity
        let block = SparseBlock(try compressed(x, layout), groups: 1..<4)
        for format in [SparseValueFormat.float16, .int8] {
            var bytes = [UInt8]()
            XCTAssertThrowsError(try block.encode(into: &bytes, values: format)) {
                XCTAssertEqual($0 as? CompressionError, .notFinite(position: 27, value: -.infinity, encoding: "\(format.name) sparse values"))
                XCTAssertEqual("\($0)", "-inf at element 27 of the input; the \(format.name) sparse values encoding takes finite values only")
            }
        }
        XCTAssertEqual(try encode(block, .float32).count, block.wireBytes)  // Float32 carries it, as before
    }

    /// Large finite values clamp in float16 (never infinity).
    func testFloat16ValuesClamp() throws {
        let layout = GroupLayout(length: 4, groupSize: 4, ratio: 0.5)
        let block = SparseBlock(SparseGradient(layout: layout, values: [1e6, -7e4], positions: [0, 3]), groups: 0..<1)
        XCTAssertEqual(try decode(try encode(block, .float16), like: block, .float16).values, [65504, -65504])
    }

    /// An exact merge turns dense when that is smaller in the format the
    /// block will travel in: with float16 values dense costs 2 bytes an
    /// element against 4 an entry, so at 60% fill dense wins, while with
    /// Float32 (4 against 6) variable still does.
    func testExactMergeChoosesTheSmallerFormForTheValueFormat() throws {
        let layout = GroupLayout(length: 100, groupSize: 100, ratio: 0.3)
        let a = SparseGradient(layout: layout, values: [Float](repeating: 1, count: 30), positions: (0..<30).map { UInt32($0) })
        let b = SparseGradient(layout: layout, values: [Float](repeating: 2, count: 30), positions: (30..<60).map { UInt32($0) })
        var asFloat32 = SparseBlock(a, groups: 0..<1), asFloat16 = asFloat32
        asFloat32.mergeExact(SparseBlock(b, groups: 0..<1))
        asFloat16.mergeExact(SparseBlock(b, groups: 0..<1), values: .float16)
        XCTAssertEqual(asFloat32.form, .variable)  // 2 + 60 x 6 = 362 < 400
        XCTAssertEqual(asFloat16.form, .dense)  // 200 < 2 + 60 x 4 = 242
        XCTAssertEqual(asFloat16.wireBytes(values: .float16), 4 + 200)
    }

    func testRandomDamageNeverTraps() throws {
        let layout = GroupLayout(length: 700, groupSize: 64, ratio: 0.1)
        var rng = SeededGenerator(seed: 6)
        for block in try forms(layout, groups: 1..<11) {
            for format in SparseValueFormat.allCases {
                let good = try encode(block, format)
                for _ in 0..<200 {
                    var b = good
                    if rng.nextIndex(below: 2) == 0 {
                        for _ in 0...rng.nextIndex(below: 3) { b[rng.nextIndex(below: b.count)] = UInt8(truncatingIfNeeded: rng.next()) }
                    } else {
                        b = Array(b.prefix(rng.nextIndex(below: b.count + 1)))
                    }
                    do {
                        let back = try decode(b, like: block, format)
                        if format != .float32 { XCTAssertTrue(back.values.allSatisfy(\.isFinite)) }
                    } catch is CompressionError {}
                }
            }
        }
    }
}
