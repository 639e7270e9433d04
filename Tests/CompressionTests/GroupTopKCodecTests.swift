@testable import Compression
import Random
import XCTest

final class GroupTopKCodecTests: XCTestCase {
    func testNames() {
        XCTAssertEqual(GroupTopKCodec(values: .float32).name, "group-topk")
        XCTAssertEqual(GroupTopKCodec(values: .float16).name, "group-topk-fp16")
        XCTAssertEqual(GroupTopKCodec(values: .int8).name, "group-topk-int8")
    }

    /// bytes = 4 + [int8: 4 ceil(n / G)] + K (value bytes + position bytes),
    /// K = the kept entries (`GroupLayout`), at awkward lengths.
    func testByteCountsAreTheDocumentedFormula() throws {
        for (groupSize, ratio) in [(1, 1.0), (7, 0.3), (64, 0.05), (1024, 0.01), (70_000, 0.001)] {
            for format in SparseValueFormat.allCases {
                let codec = GroupTopKCodec(groupSize: groupSize, ratio: ratio, values: format)
                for n in awkwardLengths + [70_001] {
                    let layout = GroupLayout(length: n, groupSize: groupSize, ratio: ratio)
                    let kept = layout.kept(inGroups: 0..<layout.groupCount)
                    let groups = (n + groupSize - 1) / groupSize
                    let want = 4 + (format == .int8 ? 4 * groups : 0) + kept * (format.valueBytes + (groupSize <= 65_536 ? 2 : 4))
                    XCTAssertEqual(codec.encodedBytes(count: n), want, "\(codec.name) G \(groupSize) n \(n)")
                    XCTAssertEqual(try encoded(codec, gaussian(n, seed: UInt64(n))).count, want, "\(codec.name) G \(groupSize) n \(n)")
                }
            }
        }
    }

    /// Decoding gives Group-TopK's selection (the existing compressor,
    /// densified), with values within the format's bound.
    func testRoundTripIsTheSelectionWithinTheFormatsBound() throws {
        for (n, groupSize, ratio) in [(1001, 64, 0.1), (5000, 1024, 0.01), (3, 1024, 0.01), (77, 7, 0.5)] {
            let x = gaussian(n, seed: 9)
            let layout = GroupLayout(length: n, groupSize: groupSize, ratio: ratio)
            var selection = SparseGradient(layout: layout)
            try x.withUnsafeBufferPointer { try GroupTopK(layout: layout).compress($0, into: &selection) }
            var want = [Float](repeating: 0, count: n)
            want.withUnsafeMutableBufferPointer { selection.densify(into: $0) }
            for format in SparseValueFormat.allCases {
                let codec = GroupTopKCodec(groupSize: groupSize, ratio: ratio, values: format)
                let back = try roundTrip(codec, x)
                for g in 0..<layout.groupCount {
                    let r = layout.range(ofGroup: g)
                    let m = Double(want[r].map(abs).max()!)
                    for i in r {
                        let v = Double(want[i]), w = Double(back[i])
                        XCTAssertEqual(w == 0, v == 0, "\(codec.name) element \(i): selection differs")
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

    /// Error feedback through the codec: the residual keeps what was not
    /// selected and the rounding of what was, so sent + residual is every
    /// gradient (within a Float32 rounding of each sum and difference, as
    /// in ScaledSignCodecTests); with fp16 values the residual at a sent
    /// position is that entry's rounding error, at most 2^-11 of it.
    func testErrorFeedbackKeepsTheDroppedEntriesAndTheRounding() throws {
        let n = 2001
        for format in SparseValueFormat.allCases {
            let codec = GroupTopKCodec(groupSize: 256, ratio: 0.02, values: format)
            var residual = [Float](repeating: 0, count: n)
            var sent = [Double](repeating: 0, count: n), given = [Double](repeating: 0, count: n), bound = [Double](repeating: 0, count: n)
            var rng = SeededGenerator(seed: 3)
            for step in 0..<20 {
                let g = gaussian(n, seed: 200 + UInt64(step))
                let p = zip(residual, g).map { $0 + $1 }
                let bytes = try codec.encode(gradient: g, residual: &residual, using: &rng)
                let c = try codec.decode(bytes, count: n)
                for i in 0..<n {
                    sent[i] += Double(c[i])
                    given[i] += Double(g[i])
                    bound[i] += unitRoundoff * (abs(Double(p[i])) + abs(Double(residual[i])))
                    XCTAssertEqual(sent[i] + Double(residual[i]), given[i], accuracy: bound[i] * 1.01, "\(codec.name) step \(step) element \(i)")
                    if c[i] != 0 {
                        switch format {
                        case .float32: XCTAssertEqual(residual[i], 0)
                        case .float16: XCTAssertLessThanOrEqual(abs(residual[i]), abs(p[i]) * 0x1p-11 + 0x1p-25)
                        case .int8: break
                        }
                    } else {
                        XCTAssertEqual(residual[i], p[i])
                    }
                }
            }
        }
    }

    func testHostileBytesAreOneLineNamingTheCodec() throws {
        let codec = GroupTopKCodec(groupSize: 64, ratio: 0.1, values: .float16)
        let good = try encoded(codec, gaussian(300, seed: 4))
        expectRefusal(codec, Array(good.dropLast()), count: 300, "\(good.count - 1) bytes where \(good.count) were expected")
        expectRefusal(codec, [], count: 300, "0 bytes, shorter than the header")
        var b = good; b[2] = 2
        expectRefusal(codec, b, count: 300, "value format 2 where 1 (fp16) was expected")
        b = good; b[b.count - 1] = 0xFF  // the last position, 65280 + ..., beyond the group
        expectRefusal(codec, b, count: 300, "position \(Int(good[good.count - 2]) | 0xFF00) in group 4 is out of order or range")
        // The block carries no length (the receiver knows the layout; the ring
        // checks that every rank has the same before data moves): a message
        // of another length is refused when its size differs, as here, one
        // more group.
        expectRefusal(codec, good, count: 330, "\(good.count) bytes where \(codec.encodedBytes(count: 330)) were expected")
    }

    func testDecodeModes() throws {
        for format in SparseValueFormat.allCases {
            let codec = GroupTopKCodec(groupSize: 32, ratio: 0.25, values: format)
            let bytes = try encoded(codec, gaussian(301, seed: 5))
            let decoded = try codec.decode(bytes, count: 301)
            let base = gaussian(301, seed: 6)
            var added = base
            try codec.decode(bytes, adding: &added)
            XCTAssertEqual(added, zip(base, decoded).map(+))
            var subtracted = base
            var span = subtracted.mutableSpan
            try codec.decode(bytes.span.bytes, into: &span, .subtract)
            XCTAssertEqual(subtracted, zip(base, decoded).map(-))
            var overwritten = base
            var overwrittenSpan = overwritten.mutableSpan
            try codec.decode(bytes.span.bytes, into: &overwrittenSpan, .overwrite)
            XCTAssertEqual(overwritten, decoded)
        }
    }
}
