@testable import Compression
import Random
import XCTest

/// Group-TopK against a brute-force sort.
final class GroupTopKTests: XCTestCase {
    /// The reference: sort a group's indices by (magnitude desc, index asc), keep k, sort ascending.
    func bruteForce(_ x: [Float], layout: GroupLayout) -> (values: [Float], positions: [UInt32]) {
        var values = [Float](), positions = [UInt32]()
        for g in 0..<layout.groupCount {
            let range = layout.range(ofGroup: g)
            let order = range.sorted { abs(x[$0]) > abs(x[$1]) || (abs(x[$0]) == abs(x[$1]) && $0 < $1) }
            for i in order.prefix(layout.kept(inGroup: g)).sorted() {
                values.append(x[i])
                positions.append(UInt32(i - range.lowerBound))
            }
        }
        return (values, positions)
    }

    func check(_ x: [Float], groupSize: Int, ratio: Double, _ message: String) {
        let layout = GroupLayout(length: x.count, groupSize: groupSize, ratio: ratio)
        var out = SparseGradient(layout: layout)
        XCTAssertNoThrow(try x.withUnsafeBufferPointer { try GroupTopK(layout: layout).compress($0, into: &out) }, message)
        let want = bruteForce(x, layout: layout)
        XCTAssertEqual(out.positions, want.positions, message)
        XCTAssertEqual(out.values, want.values, message)
    }

    func testKeptCounts() {
        let layout = GroupLayout(length: 2500, groupSize: 1024, ratio: 0.01)
        XCTAssertEqual(layout.k, 10)
        XCTAssertEqual(layout.groupCount, 3)
        XCTAssertEqual(layout.kept(inGroup: 0), 10)
        XCTAssertEqual(layout.kept(inGroup: 2), 4)  // 452 elements: round(10 x 452 / 1024) = 4
        XCTAssertEqual(GroupLayout(length: 1030, groupSize: 1024, ratio: 0.01).kept(inGroup: 1), 1)  // at least 1
        XCTAssertEqual(GroupLayout(length: 100, groupSize: 256, ratio: 0.001).k, 1)
        XCTAssertEqual(GroupLayout(length: 3, groupSize: 1024, ratio: 1).kept(inGroup: 0), 3)  // never more than it has
        XCTAssertEqual(GroupLayout(length: 10, groupSize: 4, ratio: 0.5).kept(inGroups: 0..<3), 2 + 2 + 1)
        XCTAssertEqual(GroupLayout(length: 10, groupSize: 65_536, ratio: 0.5).positionBytes, 2)
        XCTAssertEqual(GroupLayout(length: 10, groupSize: 65_537, ratio: 0.5).positionBytes, 4)
    }

    /// What is kept, not what was asked: k >= 1 and rounding lift the ratio.
    func testEffectiveRatioCountsEveryKeptEntry() {
        // 2500 in groups of 1024 at 0.01: 10 + 10 + 4 = 24 kept.
        XCTAssertEqual(GroupLayout(length: 2500, groupSize: 1024, ratio: 0.01).effectiveRatio, 24.0 / 2500, accuracy: 1e-15)
        // Group 256 at 0.001: one per group, 1 / 256 = 3.9x the ratio.
        XCTAssertEqual(GroupLayout(length: 256 * 10, groupSize: 256, ratio: 0.001).effectiveRatio, 1.0 / 256, accuracy: 1e-15)
        XCTAssertEqual(GroupLayout(length: 0, groupSize: 256, ratio: 0.5).effectiveRatio, 0)
    }

    func testRandomGroupsMatchBruteForce() {
        var rng = SeededGenerator(seed: 1)
        for (length, g, r) in [(5000, 1024, 0.01), (4097, 256, 0.05), (1000, 64, 0.3), (777, 33, 0.1), (300, 1024, 0.01),
                               (20_000, 4096, 0.001), (50, 7, 1.0), (1, 1, 1.0)] {
            let x = (0..<length).map { _ in Float(rng.nextGaussian()) }
            check(x, groupSize: g, ratio: r, "length \(length) G \(g) r \(r)")
        }
    }

    /// Large groups take the guessed-threshold and lane-maxima paths, which
    /// fall back when a group looks nothing like its predecessor.
    func testEveryPathAndFallbackMatchesBruteForce() {
        var rng = SeededGenerator(seed: 3)
        var x = [Float]()
        let g = 512
        // Alike groups (the guess holds), then a group 100x smaller (too few
        // reach the guess), then 100x larger (too many do), an all-zero
        // group, a group of a few distinct values with many ties, a group
        // with a single spike, and a quantized group.
        for _ in 0..<4 { x += (0..<g).map { _ in Float(rng.nextGaussian()) } }
        x += (0..<g).map { _ in Float(rng.nextGaussian() * 0.01) }
        x += (0..<g).map { _ in Float(rng.nextGaussian() * 100) }
        x += [Float](repeating: 0, count: g)
        x += (0..<g).map { _ in Float([0.5, -0.5, 0.25, 1][rng.nextIndex(below: 4)]) }
        x += (0..<g).map { $0 == 300 ? 9 : 0 }
        x += (0..<g).map { _ in Float(rng.nextIndex(below: 7)) - 3 }
        x += (0..<200).map { _ in Float(rng.nextGaussian()) }  // short last group
        for ratio in [0.002, 0.01, 0.05, 0.125, 0.3] {
            check(x, groupSize: g, ratio: ratio, "ratio \(ratio)")
        }
    }

    func testTiesGoToTheLowerIndex() throws {
        check([Float](repeating: 2.5, count: 1000), groupSize: 256, ratio: 0.02, "all equal")
        check([Float](repeating: 0, count: 1000), groupSize: 256, ratio: 0.02, "all zero")
        // Equal magnitudes of both signs, in a pattern.
        let x = (0..<999).map { Float([1, -1, 0.5, -0.5, 1][$0 % 5]) }
        check(x, groupSize: 100, ratio: 0.07, "signed ties")
        let layout = GroupLayout(length: 8, groupSize: 8, ratio: 0.25)
        var out = SparseGradient(layout: layout)
        try [1, -3, 3, 0, -3, 2, 3, 1].withUnsafeBufferPointer { try GroupTopK(layout: layout).compress($0, into: &out) }
        XCTAssertEqual(out.positions, [1, 2])
        XCTAssertEqual(out.values, [-3, 3])
    }

    /// The rule for NaN, on every path of the selector: a NaN has no
    /// magnitude to rank, so compression throws `CompressionError.notANumber` naming the
    /// first NaN's element of the vector (nothing is sent or kept silently).
    func testNaNIsAnErrorNamingItsPositionOnEveryPath() {
        func expectNaN(_ x: [Float], groupSize: Int, ratio: Double, at position: Int, _ message: String) {
            let layout = GroupLayout(length: x.count, groupSize: groupSize, ratio: ratio)
            var out = SparseGradient(layout: layout)
            XCTAssertThrowsError(try x.withUnsafeBufferPointer { try GroupTopK(layout: layout).compress($0, into: &out) }, message) {
                XCTAssertTrue("\($0)".hasPrefix("NaN at element \(position) "), "\(message): \($0)")
            }
            // With error feedback: the NaN is in gradient + residual.
            var residual = [Float](repeating: 0, count: x.count)
            XCTAssertThrowsError(try x.withUnsafeBufferPointer { g in
                try residual.withUnsafeMutableBufferPointer { try GroupTopK(layout: layout).compress(gradient: g, residual: $0, into: &out) }
            }, message) {
                XCTAssertTrue("\($0)".hasPrefix("NaN at element \(position) "), "\(message): \($0)")
            }
        }
        let ramp = (0..<1024).map { Float($0 % 97) + 1 }
        // Heap path, group under 256, NaN among the first k (the heap's seed).
        var small = Array(ramp[0..<64]); small[0] = .nan
        expectNaN(small, groupSize: 64, ratio: 4.0 / 64, at: 0, "heap, NaN in the seed")
        // Heap path, NaN after the seed.
        small = Array(ramp[0..<64]); small[40] = .nan
        expectNaN(small, groupSize: 64, ratio: 2.0 / 64, at: 40, "heap, NaN past the seed")
        // Heap path because k > 64, in the second group.
        var wide = ramp + ramp; wide[1024 + 3] = -.nan
        expectNaN(wide, groupSize: 1024, ratio: 0.1, at: 1027, "heap, k > 64")
        // Lane-maxima path (group >= 256, k <= 64), first group.
        var fast = ramp; fast[700] = .nan
        expectNaN(fast, groupSize: 1024, ratio: 0.01, at: 700, "lane maxima")
        // Guessed-threshold path: alike groups before, NaN in the fourth.
        var guessed = ramp + ramp + ramp + ramp; guessed[3 * 1024 + 5] = .nan
        expectNaN(guessed, groupSize: 1024, ratio: 0.01, at: 3 * 1024 + 5, "guessed threshold")
        // The tail past the last whole sixteen lanes of a short last group.
        var tail = ramp + Array(ramp[0..<300]); tail[1024 + 299] = .nan
        expectNaN(tail, groupSize: 1024, ratio: 0.01, at: 1323, "tail")
    }

    /// Infinities are magnitudes: they are selected first, like any largest value.
    func testInfinityIsTheLargestMagnitude() {
        var x = (0..<300).map { Float($0 % 13) }
        x[10] = -.infinity
        x[299] = .infinity
        check(x, groupSize: 300, ratio: 3.0 / 300, "infinities, lane maxima")
        check(Array(x[0..<64]), groupSize: 64, ratio: 2.0 / 64, "infinity, heap")
    }

    func testErrorFeedbackConservesEveryGradient() throws {
        // sent + residual == sum of all gradients, after every step.
        var rng = SeededGenerator(seed: 2)
        let layout = GroupLayout(length: 3000, groupSize: 256, ratio: 0.02)
        let compressor = GroupTopK(layout: layout)
        var residual = [Float](repeating: 0, count: layout.length)
        var sentTotal = [Double](repeating: 0, count: layout.length)
        var gradientTotal = [Double](repeating: 0, count: layout.length)
        var out = SparseGradient(layout: layout)
        var dense = [Float](repeating: 0, count: layout.length)
        for _ in 0..<25 {
            let gradient = (0..<layout.length).map { _ in Float(rng.nextGaussian()) }
            for i in 0..<layout.length { gradientTotal[i] += Double(gradient[i]) }
            try gradient.withUnsafeBufferPointer { g in
                try residual.withUnsafeMutableBufferPointer { try compressor.compress(gradient: g, residual: $0, into: &out) }
            }
            dense.withUnsafeMutableBufferPointer { out.densify(into: $0) }
            for i in 0..<layout.length { sentTotal[i] += Double(dense[i]) }
            var worst = 0.0
            for i in 0..<layout.length { worst = max(worst, abs(sentTotal[i] + Double(residual[i]) - gradientTotal[i])) }
            XCTAssertLessThan(worst, 1e-4)
            // What was sent is exactly what was cleared: selected entries of the residual are zero.
            for g in 0..<layout.groupCount {
                let start = layout.range(ofGroup: g).lowerBound
                for j in out.entryStart(ofGroup: g)..<out.entryStart(ofGroup: g) + layout.kept(inGroup: g) {
                    XCTAssertEqual(residual[start + Int(out.positions[j])], 0)
                }
            }
        }
    }

    func testErrorFeedbackSelectsFromGradientPlusResidual() throws {
        let layout = GroupLayout(length: 4, groupSize: 4, ratio: 0.25)
        let compressor = GroupTopK(layout: layout)
        var residual: [Float] = [0, 0, 0, 0]
        var out = SparseGradient(layout: layout)
        func step(_ g: [Float]) throws {
            try g.withUnsafeBufferPointer { gp in try residual.withUnsafeMutableBufferPointer { try compressor.compress(gradient: gp, residual: $0, into: &out) } }
        }
        try step([3, 1, 0, -2])
        XCTAssertEqual(out.positions, [0]); XCTAssertEqual(out.values, [3]); XCTAssertEqual(residual, [0, 1, 0, -2])
        try step([1, 1, 0, -1])
        XCTAssertEqual(out.positions, [3]); XCTAssertEqual(out.values, [-3]); XCTAssertEqual(residual, [1, 2, 0, 0])
    }

    func testMomentumCorrectionAccumulatesVelocityAndMasksBoth() throws {
        let layout = GroupLayout(length: 3, groupSize: 3, ratio: 1.0 / 3)
        let compressor = GroupTopK(layout: layout)
        var v: [Float] = [0, 0, 0]
        var u: [Float] = [0, 0, 0]
        var out = SparseGradient(layout: layout)
        func step(_ g: [Float]) throws {
            try g.withUnsafeBufferPointer { gp in
                try v.withUnsafeMutableBufferPointer { vp in
                    try u.withUnsafeMutableBufferPointer { up in
                        try compressor.compress(gradient: gp, residual: vp, momentum: (0.5, up), into: &out)
                    }
                }
            }
        }
        try step([1, 2, 0])  // u = [1, 2, 0], v = [1, 2, 0]: send index 1, clear u[1] and v[1]
        XCTAssertEqual(out.positions, [1]); XCTAssertEqual(v, [1, 0, 0]); XCTAssertEqual(u, [1, 0, 0])
        try step([1, 1, 0])  // u = [1.5, 1, 0], v = [2.5, 1, 0]: send index 0
        XCTAssertEqual(out.positions, [0]); XCTAssertEqual(out.values, [2.5]); XCTAssertEqual(v, [0, 1, 0]); XCTAssertEqual(u, [0, 1, 0])
    }
}
