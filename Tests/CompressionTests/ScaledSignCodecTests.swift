@testable import Compression
import Random
import XCTest

final class ScaledSignCodecTests: XCTestCase {
    /// Each element comes back as +-(its group's mean magnitude), with its sign.
    func testElementsComeBackAsTheSignedGroupMean() throws {
        let codec = ScaledSignCodec(groupSize: 3)
        let x: [Float] = [1, -2, 3, -4, 0, 8, 0.5]
        // Means: 2, 4, 0.5.
        XCTAssertEqual(try roundTrip(codec, x), [2, -2, 2, -4, 4, 4, 0.5])
        XCTAssertEqual(try roundTrip(codec, [0, 0, 0, -0.0]), [0, 0, 0, -0.0])
    }

    /// The contraction of the docs, an equality per group of d elements:
    ///     ||C(p) - p||^2 = (1 - delta) ||p||^2,  delta = ||p||_1^2 / (d ||p||_2^2).
    /// Both sides are computed in Double from the Float32 data and the decoded
    /// +-a. The only rounding is the scale's (relative u): the error is
    /// f(a) = ||p||^2 - 2 a ||p||_1 + a^2 d, smallest at the mean, so a
    /// relative error u in a adds u^2 a^2 d <= u^2 ||p||^2; Double's sums of
    /// d terms add at most 4 d 2^-53 (||p||^2 + a ||p||_1 + a^2 d) <= 12 d 2^-53 ||p||^2.
    func testContractionBoundHoldsPerGroup() throws {
        for groupSize in [1, 2, 7, 64, 512] {
            let codec = ScaledSignCodec(groupSize: groupSize)
            // Gaussian, a heavy-tailed group (one spike: delta near 1/d), and zeros.
            var x = gaussian(1537, seed: UInt64(groupSize))
            for i in 0..<min(64, x.count) { x[i] = i == 3 ? 1000 : 0.001 }
            for i in 700..<720 { x[i] = 0 }
            let back = try roundTrip(codec, x)
            for start in stride(from: 0, to: x.count, by: groupSize) {
                let range = start..<min(x.count, start + groupSize)
                let d = Double(range.count)
                let l1 = range.reduce(0.0) { $0 + Double(abs(x[$1])) }
                let l2sq = range.reduce(0.0) { $0 + Double(x[$1]) * Double(x[$1]) }
                let error = range.reduce(0.0) { $0 + (Double(back[$1]) - Double(x[$1])) * (Double(back[$1]) - Double(x[$1])) }
                guard l2sq > 0 else {
                    XCTAssertEqual(error, 0)
                    continue
                }
                let delta = l1 * l1 / (d * l2sq)
                XCTAssertGreaterThanOrEqual(delta, 1 / d * (1 - 1e-12))
                XCTAssertLessThanOrEqual(delta, 1 + 1e-12)
                let tolerance = (unitRoundoff * unitRoundoff + 12 * d * 0x1p-53) * l2sq
                XCTAssertEqual(error, (1 - delta) * l2sq, accuracy: tolerance, "group \(groupSize) at \(start)")
                XCTAssertLessThanOrEqual(error, (1 - delta) * l2sq + tolerance)
            }
        }
    }

    /// Error feedback: after every step, what was sent plus the residual is
    /// the sum of all gradients. Each step rounds twice in Float32 (p = g + e,
    /// e = p - C(p)), each at most u |.|; the decoded sum is kept in Double.
    /// And the new residual is the contraction of p: ||e||^2 <= (1 - delta_min) ||p||^2,
    /// delta_min the smallest delta of p's groups (equality per group, up to
    /// the scale's rounding and e's own, 3 u ||e||^2 + u^2 ||p||^2).
    func testErrorFeedbackKeepsEverythingNotSent() throws {
        let codec = ScaledSignCodec(groupSize: 64)
        let n = 1001
        var residual = [Float](repeating: 0, count: n)
        var sent = [Double](repeating: 0, count: n), given = [Double](repeating: 0, count: n)
        var roundingBound = [Double](repeating: 0, count: n)
        var rng = SeededGenerator(seed: 1)
        for step in 0..<50 {
            let g = gaussian(n, seed: 100 + UInt64(step))
            let p = zip(residual, g).map { $0 + $1 }  // Float32, as the helper adds
            let bytes = try codec.encode(gradient: g, residual: &residual, using: &rng)
            XCTAssertEqual(bytes.count, codec.encodedBytes(count: n))
            let c = try codec.decode(bytes, count: n)
            for i in 0..<n {
                sent[i] += Double(c[i])
                given[i] += Double(g[i])
                roundingBound[i] += unitRoundoff * (abs(Double(p[i])) + abs(Double(residual[i])))
                XCTAssertEqual(sent[i] + Double(residual[i]), given[i], accuracy: roundingBound[i] * 1.01, "step \(step) element \(i)")
            }
            var deltaMin = 1.0
            for start in stride(from: 0, to: n, by: 64) {
                let group = p[start..<min(n, start + 64)]
                let l1 = group.reduce(0.0) { $0 + Double(abs($1)) }, l2sq = group.reduce(0.0) { $0 + Double($1) * Double($1) }
                deltaMin = min(deltaMin, l1 * l1 / (Double(group.count) * l2sq))
            }
            let pSquared = p.reduce(0.0) { $0 + Double($1) * Double($1) }
            let eSquared = residual.reduce(0.0) { $0 + Double($1) * Double($1) }
            XCTAssertLessThanOrEqual(eSquared, (1 - deltaMin) * pSquared + 3 * unitRoundoff * eSquared + unitRoundoff * unitRoundoff * pSquared,
                                     "step \(step)")
        }
    }
}
