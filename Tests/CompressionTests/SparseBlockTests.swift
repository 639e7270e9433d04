@testable import Compression
import Random
import XCTest

final class SparseBlockTests: XCTestCase {
    func compressed(_ x: [Float], _ layout: GroupLayout) -> SparseGradient {
        var out = SparseGradient(layout: layout)
        XCTAssertNoThrow(try x.withUnsafeBufferPointer { try GroupTopK(layout: layout).compress($0, into: &out) })
        return out
    }

    func dense(_ block: SparseBlock, length: Int) -> [Float] {
        var d = [Float](repeating: 0, count: length)
        d.withUnsafeMutableBufferPointer { block.add(into: $0.baseAddress!) }
        return d
    }

    func random(_ n: Int, _ seed: UInt64) -> [Float] {
        var rng = SeededGenerator(seed: seed)
        return (0..<n).map { _ in Float(rng.nextGaussian()) }
    }

    func roundTrip(_ block: SparseBlock) throws -> SparseBlock {
        var bytes = [UInt8]()
        let n = block.encode(into: &bytes)
        XCTAssertEqual(n, block.wireBytes)
        return try bytes.withUnsafeBytes {
            try SparseBlock(decoding: UnsafeRawBufferPointer(rebasing: $0[0..<n]), layout: block.layout, groups: block.groups)
        }
    }

    func testCodecRoundTripsEveryForm() throws {
        for groupSize in [100, 70_000] {
            let layout = GroupLayout(length: 250_000, groupSize: groupSize, ratio: 0.01)
            let a = SparseBlock(compressed(random(layout.length, 1), layout), groups: 1..<3)
            XCTAssertEqual(a.form, .fixed)
            XCTAssertEqual(a.wireBytes, 4 + a.values.count * (groupSize <= 65_536 ? 6 : 8))
            var b = a
            b.mergeExact(SparseBlock(compressed(random(layout.length, 2), layout), groups: 1..<3))
            XCTAssertEqual(b.form, .variable)
            var c = b
            c.makeDense()
            for block in [a, b, c] {
                let back = try roundTrip(block)
                XCTAssertEqual(back.form, block.form)
                XCTAssertEqual(dense(back, length: layout.length), dense(block, length: layout.length))
            }
        }
    }

    func testDecodingRejectsDamage() throws {
        let layout = GroupLayout(length: 1000, groupSize: 100, ratio: 0.05)
        let block = SparseBlock(compressed(random(1000, 3), layout), groups: 2..<5)
        var bytes = [UInt8]()
        let n = block.encode(into: &bytes)
        func expectRefusal(_ b: [UInt8], _ reason: String, line: UInt = #line) {
            XCTAssertThrowsError(try b.withUnsafeBytes { try SparseBlock(decoding: $0, layout: layout, groups: 2..<5) }, line: line) {
                XCTAssertEqual($0 as? CompressionError, .undecodableBlock(groups: 2..<5, reason: reason), line: line)
                XCTAssertEqual("\($0)", "bad sparse block for groups 2..<5: \(reason)", line: line)
            }
        }
        expectRefusal(Array(bytes[0..<n - 1]), "\(n - 1) bytes where \(n) were expected")
        expectRefusal(Array(bytes[0..<n]) + [0], "\(n + 1) bytes where \(n) were expected")
        var badForm = Array(bytes[0..<n]); badForm[0] = 9
        expectRefusal(badForm, "unknown form 9")
        var badPosition = Array(bytes[0..<n]); badPosition[n - 2] = 200  // last position >= 100
        expectRefusal(badPosition, "position 200 in group 4 is out of order or range")
        expectRefusal([0, 2], "2 bytes, shorter than the header")
    }

    func testExactMergeIsTheSumOfBoth() {
        let layout = GroupLayout(length: 5000, groupSize: 128, ratio: 0.05)
        let x = compressed(random(5000, 4), layout), y = compressed(random(5000, 5), layout)
        var a = SparseBlock(x, groups: 3..<20)
        let b = SparseBlock(y, groups: 3..<20)
        let want = zip(dense(a, length: 5000), dense(b, length: 5000)).map(+)
        a.mergeExact(b)
        XCTAssertEqual(dense(a, length: 5000), want)
        XCTAssertEqual(a.form, .variable)
    }

    func testExactMergeTurnsDenseWhenThatIsSmaller() {
        // ratio 0.5: the union of two random halves is ~75% full, denser than 4/6.
        let layout = GroupLayout(length: 2000, groupSize: 100, ratio: 0.5)
        var a = SparseBlock(compressed(random(2000, 6), layout), groups: 0..<20)
        let b = SparseBlock(compressed(random(2000, 7), layout), groups: 0..<20)
        let want = zip(dense(a, length: 2000), dense(b, length: 2000)).map(+)
        a.mergeExact(b)
        XCTAssertEqual(a.form, .dense)
        XCTAssertEqual(a.wireBytes, 4 + 2000 * 4)
        XCTAssertEqual(dense(a, length: 2000), want)
        // Dense absorbs further sparse blocks.
        let c = SparseBlock(compressed(random(2000, 8), layout), groups: 0..<20)
        a.mergeExact(c)
        XCTAssertEqual(dense(a, length: 2000), zip(want, dense(c, length: 2000)).map(+))
    }

    func testReselectKeepsTopKAndMovesTheRestToTheResidual() throws {
        let layout = GroupLayout(length: 8, groupSize: 4, ratio: 0.5)  // k = 2 per group
        let x = SparseGradient(layout: layout, values: [5, 1, -2, 3], positions: [0, 2, 1, 3])
        let y = SparseGradient(layout: layout, values: [-4, 2, 3, 1], positions: [0, 3, 1, 2])
        var a = SparseBlock(x, groups: 0..<2)
        var residual = [Float](repeating: 0, count: 8)
        try residual.withUnsafeMutableBufferPointer { try a.mergeReselect(SparseBlock(y, groups: 0..<2), residual: $0.baseAddress!) }
        // Group 0: union {0: 1, 2: 1, 3: 2} -> keep 3 (2) and the lower of the tied ones, 0.
        // Group 1: union {1: 1, 2: 1, 3: 3} -> keep 3 (3) and 1; drop 2 (1).
        XCTAssertEqual(a.form, .fixed)
        XCTAssertEqual(a.positions, [0, 3, 1, 3])
        XCTAssertEqual(a.values, [1, 2, 1, 3])
        XCTAssertEqual(residual, [0, 0, 1, 0, 0, 0, 1, 0])
    }

    func testReselectConservesMass() throws {
        let layout = GroupLayout(length: 3000, groupSize: 256, ratio: 0.02)
        let x = compressed(random(3000, 9), layout), y = compressed(random(3000, 10), layout)
        var a = SparseBlock(x, groups: 0..<layout.groupCount)
        let b = SparseBlock(y, groups: 0..<layout.groupCount)
        let want = zip(dense(a, length: 3000), dense(b, length: 3000)).map(+)
        var residual = [Float](repeating: 0, count: 3000)
        try residual.withUnsafeMutableBufferPointer { try a.mergeReselect(b, residual: $0.baseAddress!) }
        XCTAssertEqual(a.values.count, layout.kept(inGroups: 0..<layout.groupCount))
        let kept = dense(a, length: 3000)
        for i in 0..<3000 { XCTAssertEqual(kept[i] + residual[i], want[i], accuracy: 1e-6) }
    }

    /// A NaN in a merged group is an error naming its element, as in
    /// Group-TopK: a malformed block when the other block holds it (Group-TopK
    /// never sends one), `.notANumber` when the sum made it (inf + -inf).
    func testReselectThrowsOnNaN() {
        let layout = GroupLayout(length: 8, groupSize: 4, ratio: 0.5)
        let x = SparseGradient(layout: layout, values: [5, 1, -2, .infinity], positions: [0, 2, 1, 3])
        let y = SparseGradient(layout: layout, values: [-4, 2, .nan, 1], positions: [0, 3, 1, 2])
        var a = SparseBlock(x, groups: 0..<2)
        var residual = [Float](repeating: 0, count: 8)
        XCTAssertThrowsError(try residual.withUnsafeMutableBufferPointer {
            try a.mergeReselect(SparseBlock(y, groups: 0..<2), residual: $0.baseAddress!)
        }) {
            XCTAssertEqual($0 as? CompressionError, .notANumberInBlock(position: 5))
            XCTAssertEqual("\($0)", "a NaN at element 5 of the block, which reselect cannot rank")
        }
        let z = SparseGradient(layout: layout, values: [-4, 2, 3, -.infinity], positions: [0, 3, 1, 3])
        XCTAssertThrowsError(try residual.withUnsafeMutableBufferPointer {
            try a.mergeReselect(SparseBlock(z, groups: 0..<2), residual: $0.baseAddress!)
        }) {
            XCTAssertEqual($0 as? CompressionError, .notANumber(position: 7, what: "the merged sum"))
            XCTAssertEqual("\($0)", "NaN at element 7 of the merged sum; Group-TopK cannot rank it")
        }
    }

    /// A block the reselect merge cannot take (dense, or a group with fewer
    /// entries than it keeps) is a thrown error, not a crash.
    func testReselectRefusesBlocksItCannotMerge() throws {
        let layout = GroupLayout(length: 8, groupSize: 4, ratio: 0.5)
        let x = SparseGradient(layout: layout, values: [5, 1, -2, 3], positions: [0, 2, 1, 3])
        var dense = SparseBlock(x, groups: 0..<2)
        dense.makeDense()
        var a = SparseBlock(x, groups: 0..<2)
        XCTAssertThrowsError(try a.mergeReselect(dense, residual: nil)) {
            XCTAssertEqual($0 as? CompressionError, .denseBlockInReselect(groups: 0..<2))
            XCTAssertEqual("\($0)", "a dense block for groups 0..<2, which reselect cannot merge")
        }
        let thin = SparseBlock(layout: layout, groups: 0..<2, form: .variable, counts: [0, 1], values: [2], positions: [1])
        var empty = SparseBlock(layout: layout, groups: 0..<2, form: .variable, counts: [0, 0], values: [], positions: [])
        XCTAssertThrowsError(try empty.mergeReselect(thin, residual: nil)) {
            XCTAssertEqual($0 as? CompressionError, .tooFewEntriesToReselect(group: 0, entries: 0, keeps: 2))
            XCTAssertEqual("\($0)", "group 0 holds 0 entries in the union of both blocks, fewer than the 2 it keeps")
        }
    }
}
