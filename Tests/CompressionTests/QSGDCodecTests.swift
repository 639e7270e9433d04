@testable import Compression
import Random
import XCTest

final class QSGDCodecTests: XCTestCase {
    /// One bucket's quantities as the docs define them, in Double from the
    /// Float32 data: the Float32 norm the message carries, the step norm / s,
    /// and each element's t = s |x| / norm and p = frac(t).
    struct Bucket {
        let range: Range<Int>
        let norm: Double, step: Double, sumSquares: Double, sumMagnitudes: Double
        let p: [Double]

        init(_ x: [Float], _ range: Range<Int>, levels s: Int) {
            self.range = range
            sumSquares = x[range].reduce(0.0) { $0 + Double($1) * Double($1) }
            sumMagnitudes = x[range].reduce(0.0) { $0 + Double(abs($1)) }
            let norm = Double(Float(sumSquares.squareRoot()))
            self.norm = norm
            step = norm / Double(s)
            p = x[range].map { v in
                guard norm > 0 else { return 0 }
                let t = Double(abs(v)) / norm * Double(s)
                return t - t.rounded(.down)
            }
        }
    }

    func buckets(_ x: [Float], _ codec: QSGDCodec) -> [Bucket] {
        stride(from: 0, to: x.count, by: codec.bucketSize).map { Bucket(x, $0..<min(x.count, $0 + codec.bucketSize), levels: codec.levels) }
    }

    /// E[decode(encode(x))] = x: the mean of D draws of each element is within
    /// 5 standard deviations of x. A draw is x's rounding-down or -up point,
    /// a step apart, up with probability p, so the mean's deviation is
    /// step sqrt(p (1 - p) / D); p (1 - p) is floored at 1 / D because p is
    /// computed here in Double and in Float32 by the codec (they differ by
    /// at most 3 u s, far below 1 / D). Plus the bias the docs allow: 2^-24 of
    /// a step (the draws' grid) and 4 u of |x| + step (Float32 roundings).
    /// 1,001 elements at 5 sigma: a correct codec fails with probability about
    /// 1001 x 5.7e-7 = 6e-4; seeded, so every run draws the same.
    func testQSGDIsUnbiased() throws {
        for (levels, bucket) in [(4, 64), (1, 100), (127, 512)] {
            let codec = QSGDCodec(levels: levels, bucketSize: bucket)
            let n = 1001, draws = 2000
            var x = gaussian(n, seed: 51)
            x[5] = 0
            var rng = SeededGenerator(seed: 52)
            var sum = [Double](repeating: 0, count: n)
            for _ in 0..<draws {
                let back = try codec.decode(codec.encode(x, using: &rng), count: n)
                for i in 0..<n { sum[i] += Double(back[i]) }
            }
            var worst = 0.0
            for b in buckets(x, codec) {
                for (j, i) in b.range.enumerated() {
                    let p = b.p[j]
                    let sigma = b.step * (max(p * (1 - p), 1 / Double(draws)) / Double(draws)).squareRoot()
                    let bias = unitRoundoff * b.step + 4 * unitRoundoff * (abs(Double(x[i])) + b.step)
                    let error = abs(sum[i] / Double(draws) - Double(x[i]))
                    XCTAssertLessThanOrEqual(error, 5 * sigma + bias, "s \(levels) element \(i)")
                    worst = max(worst, error / (5 * sigma + bias))
                }
            }
            print("qsgd s \(levels) bucket \(bucket): worst mean error \(worst) of its 5-sigma bound")
        }
    }

    /// The paper's variance bound, E||Q(v) - v||^2 <= min(n / s^2, sqrt(n) / s) ||v||^2
    /// per bucket of n, measured as the mean squared error of D draws, and
    /// the exact variance (norm / s)^2 sum p (1 - p) it comes from. A draw's
    /// squared error is a sum of n independent terms step^2 (l - t)^2, each of
    /// variance at most step^4 / 16 (p (1 - p) (1 - 2p)^2 <= 1/16), so the
    /// mean of D draws deviates by at most step^2 sqrt(n / 16 / D) per sigma.
    /// Float32 slack: p moves by at most 3 u s between Double and Float32,
    /// changing the variance by step^2 n 3 u s, and each decoded value carries
    /// 2 u (|x| + step), changing a squared error by 5 u step (||v||_1 + n step).
    /// A constant bucket is the bound's worst case: t = s / sqrt(n) everywhere,
    /// so the variance is (1 - s / sqrt(n)) sqrt(n) / s ||v||^2, 82% of the
    /// bound at n = 512 and s = 4, and a quantizer noisier than QSGD's fails.
    func testVarianceIsWithinThePapersBound() throws {
        let constant = [Float](repeating: 0.3, count: 1000)
        let cases: [(String, [Float], QSGDCodec)] = [
            ("constant, sqrt(n)/s binds", constant, QSGDCodec(levels: 4, bucketSize: 512)),
            ("gaussian, s = 1", gaussian(999, seed: 61), QSGDCodec(levels: 1, bucketSize: 64)),
            ("gaussian, n/s^2 binds", gaussian(999, seed: 62), QSGDCodec(levels: 8, bucketSize: 16)),
            ("gaussian, s = 127", gaussian(1001, seed: 63), QSGDCodec(levels: 127, bucketSize: 512)),
        ]
        let draws = 1000
        for (label, x, codec) in cases {
            let bs = buckets(x, codec)
            var squaredError = [Double](repeating: 0, count: bs.count)
            var rng = SeededGenerator(seed: 64)
            for _ in 0..<draws {
                let back = try codec.decode(codec.encode(x, using: &rng), count: x.count)
                for (k, b) in bs.enumerated() {
                    for i in b.range { squaredError[k] += (Double(back[i]) - Double(x[i])) * (Double(back[i]) - Double(x[i])) }
                }
            }
            let s = Double(codec.levels)
            for (k, b) in bs.enumerated() {
                let n = Double(b.range.count)
                let measured = squaredError[k] / Double(draws)
                let exact = b.step * b.step * b.p.reduce(0) { $0 + $1 * (1 - $1) }
                let bound = min(n / (s * s), n.squareRoot() / s) * b.sumSquares * (1 + 4 * unitRoundoff)
                let sigma = b.step * b.step * (n / 16 / Double(draws)).squareRoot()
                let slack = b.step * b.step * n * 3 * unitRoundoff * s + 5 * unitRoundoff * b.step * (b.sumMagnitudes + n * b.step)
                XCTAssertLessThanOrEqual(exact, bound, "\(label), bucket \(k)")
                XCTAssertEqual(measured, exact, accuracy: 5 * sigma + slack, "\(label), bucket \(k)")
                XCTAssertLessThanOrEqual(measured, bound + 5 * sigma + slack, "\(label), bucket \(k)")
                print("qsgd \(label), bucket \(k): measured \(measured / b.sumSquares), exact \(exact / b.sumSquares), bound \(bound / b.sumSquares) x ||v||^2")
            }
        }
    }

    /// Levels never exceed s, so no decoded magnitude exceeds its bucket's
    /// norm (times 1 + 2u for the step's and the product's roundings).
    func testDecodedMagnitudesStayWithinTheNorm() throws {
        for codec in [QSGDCodec(levels: 3, bucketSize: 7), QSGDCodec(levels: 127, bucketSize: 64)] {
            let x = gaussian(500, seed: 71)
            for seed in 0..<20 as Range<UInt64> {
                let back = try roundTrip(codec, x, seed: seed)
                for b in buckets(x, codec) {
                    for i in b.range {
                        XCTAssertLessThanOrEqual(Double(abs(back[i])), b.norm * (1 + 2 * unitRoundoff))
                        XCTAssertTrue(back[i] == 0 || (back[i] < 0) == (x[i] < 0), "element \(i) changed sign")
                    }
                }
            }
        }
        // One non-zero element per bucket: t = s, certain, and read back within 2 u.
        let spikes: [Float] = [0, 0, -3, 0, 5.5, 0, 0, 0]
        let back = try roundTrip(QSGDCodec(levels: 6, bucketSize: 4), spikes)
        for (v, w) in zip(spikes, back) { XCTAssertEqual(Double(w), Double(v), accuracy: 2 * unitRoundoff * Double(abs(v))) }
    }

    func testReproducibleFromTheSeed() throws {
        let codec = QSGDCodec(levels: 4, bucketSize: 64)
        let x = gaussian(333, seed: 81)
        XCTAssertEqual(try encoded(codec, x, seed: 5), try encoded(codec, x, seed: 5))
        XCTAssertNotEqual(try encoded(codec, x, seed: 5), try encoded(codec, x, seed: 6))
    }
}
