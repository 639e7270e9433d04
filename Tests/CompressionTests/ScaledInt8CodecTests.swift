@testable import Compression
import Random
import XCTest

final class ScaledInt8CodecTests: XCTestCase {
    /// Round to nearest: |decoded - x| <= m / 254 + 4 u m per element, m the
    /// bucket's largest magnitude (the docs' bound: half a step of m / 127,
    /// plus at most four Float32 roundings of size u m: x / m, x 127, m / 127
    /// and q step), plus the smallest subnormal for buckets of tiny values.
    func testNearestRoundingErrorIsHalfAStep() throws {
        for bucket in [1, 7, 64, 512] {
            for n in awkwardLengths {
                var x = gaussian(n, seed: UInt64(n + bucket))
                // Subnormals (5.7e-42 x), and a bucket of them when bucket = 7.
                if n > 20 { for i in 10..<17 { x[i] *= Float(bitPattern: 0x0000_1000) } }
                let codec = ScaledInt8Codec(bucketSize: bucket)
                let back = try roundTrip(codec, x)
                for start in stride(from: 0, to: n, by: bucket) {
                    let range = start..<min(n, start + bucket)
                    let m = Double(x[range].map(abs).max()!)
                    let bound = m / 254 + 4 * unitRoundoff * m + Double(Float.leastNonzeroMagnitude)
                    for i in range {
                        XCTAssertLessThanOrEqual(abs(Double(back[i]) - Double(x[i])), bound, "bucket \(bucket) n \(n) element \(i)")
                    }
                }
            }
        }
    }

    /// The bound is about right, not just loose: the grid m k / 127 is what
    /// comes back, so a value midway between two points errs by half a step.
    func testValuesComeBackOnTheGridOfTheScale() throws {
        let x: [Float] = [127, 1, -1, 0, 63.5, -2.4, 126.6]
        let back = try roundTrip(ScaledInt8Codec(bucketSize: 512), x)
        XCTAssertEqual(back, [127, 1, -1, 0, 64, -2, 127])
        XCTAssertEqual(try roundTrip(ScaledInt8Codec(), [0, 0, -0.0]), [0, 0, 0])  // scale 0
    }

    /// Stochastic rounding is unbiased: the mean of D draws of each element
    /// is within 5 standard deviations of x (the deviation of a mean of D
    /// draws whose rounding-up probability is p = frac(t): step sqrt(p (1 - p) / D),
    /// with p (1 - p) floored at 1 / D to cover t computed here in Double and
    /// there in Float32), plus the bias the docs allow (2 x 2^-24 of a step and
    /// 4 u of |x| + step). 1,001 elements at 5 sigma: a correct codec fails
    /// with probability about 1001 x 5.7e-7 = 6e-4; seeded, so the same every run.
    func testStochasticRoundingIsUnbiased() throws {
        let n = 1001, draws = 2000, bucket = 64
        let codec = ScaledInt8Codec(bucketSize: bucket, rounding: .stochastic)
        let x = gaussian(n, seed: 31)
        var rng = SeededGenerator(seed: 32)
        // Each element's bucket maximum.
        let scale = (0..<n).map { Double(x[($0 / bucket) * bucket..<min(n, ($0 / bucket + 1) * bucket)].map(abs).max()!) }
        var sum = [Double](repeating: 0, count: n)
        var outside = 0
        for _ in 0..<draws {
            let back = try codec.decode(codec.encode(x, using: &rng), count: n)
            for i in 0..<n {
                sum[i] += Double(back[i])
                let m = scale[i]
                if abs(Double(back[i]) - Double(x[i])) >= m / 127 + 4 * unitRoundoff * m { outside += 1 }
            }
        }
        XCTAssertEqual(outside, 0, "draws a step or more away from x")
        var worst = 0.0
        for i in 0..<n {
            let m = scale[i]
            let step = m / 127, t = Double(x[i]) / m * 127
            let p = t - t.rounded(.down)
            let sigma = step * (max(p * (1 - p), 1 / Double(draws)) / Double(draws)).squareRoot()
            let bias = 2 * unitRoundoff * step + 4 * unitRoundoff * (abs(Double(x[i])) + step)
            let error = abs(sum[i] / Double(draws) - Double(x[i]))
            XCTAssertLessThanOrEqual(error, 5 * sigma + bias, "element \(i)")
            worst = max(worst, error / (5 * sigma + bias))
        }
        print("int8 stochastic: worst mean error \(worst) of its 5-sigma bound")
    }

    /// Nearest rounding draws nothing; stochastic rounding is reproducible from the seed.
    func testGeneratorUse() throws {
        let x = gaussian(500, seed: 40)
        var a = SeededGenerator(seed: 1), b = SeededGenerator(seed: 1)
        _ = try ScaledInt8Codec().encode(x, using: &a)
        XCTAssertEqual(a, b)
        let s = ScaledInt8Codec(rounding: .stochastic)
        XCTAssertEqual(try s.encode(x, using: &a), try s.encode(x, using: &b))
        XCTAssertNotEqual(a, SeededGenerator(seed: 1))
        var c = SeededGenerator(seed: 2)
        XCTAssertNotEqual(try s.encode(x, using: &c), try s.encode(x, using: &a))
    }
}
