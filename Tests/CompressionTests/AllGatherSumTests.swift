@testable import Compression
import Random
import XCTest

/// The all-gather use of a codec, simulated in one process: each of N ranks
/// encodes its vector, every rank decodes all N messages into one
/// accumulator in rank order (`decode(_:adding:)`). N = 1...5, with lengths
/// shorter than N. Every rank must end with the same bits, the sum of the
/// separately decoded messages, and (for the codecs with a per-element
/// bound) within the sum of the bounds of the sum of the inputs.
final class AllGatherSumTests: XCTestCase {
    func testEveryRankSumsTheSameBitsWithinTheBounds() throws {
        let codecs: [any GradientCodec] = denseCodecs() + [GroupTopKCodec(groupSize: 16, ratio: 0.25, values: .int8)]
        for codec in codecs {
            for ranks in 1...5 {
                for n in [0, 1, 3, 4, 9, 130] {
                    let inputs = (0..<ranks).map { gaussian(n, seed: UInt64(100 * ranks + n + $0)) }
                    var messages = [[UInt8]]()
                    for (r, x) in inputs.enumerated() {
                        var rng = SeededGenerator(seed: 1, stream: UInt64(r))  // one stream per rank
                        messages.append(try codec.encode(x, using: &rng))
                    }
                    var sums = [[Float]]()
                    for _ in 0..<ranks {
                        var sum = [Float](repeating: 0, count: n)
                        for message in messages { try codec.decode(message, adding: &sum) }
                        sums.append(sum)
                    }
                    for s in sums.dropFirst() { XCTAssertEqual(s.map(\.bitPattern), sums[0].map(\.bitPattern)) }
                    let decoded = try messages.map { try codec.decode($0, count: n) }
                    let inOrder = (0..<n).map { i in decoded.reduce(Float(0)) { $0 + $1[i] } }
                    XCTAssertEqual(sums[0].map(\.bitPattern), inOrder.map(\.bitPattern), "\(codec.name) N \(ranks) n \(n)")
                    guard let bound = elementBound(codec) else { continue }
                    for i in 0..<n {
                        let exact = inputs.reduce(0.0) { $0 + Double($1[i]) }
                        // Each message within its bound; the N - 1 Float32 adds within u per partial sum.
                        var allowed = 0.0, partial = 0.0
                        for (x, d) in zip(inputs, decoded) {
                            allowed += bound(x, i)
                            partial += abs(Double(d[i]))
                            allowed += unitRoundoff * partial
                        }
                        XCTAssertEqual(Double(sums[0][i]), exact, accuracy: allowed, "\(codec.name) N \(ranks) n \(n) element \(i)")
                    }
                }
            }
        }
    }

    /// |decoded[i] - x[i]| for the codecs that bound it element by element:
    /// fp16 half an ulp (or 2^-25), int8 half a step (a step when stochastic),
    /// QSGD one step of norm / s (the level is within 1 of t), plus the
    /// Float32 roundings the codecs' docs allow.
    func elementBound(_ codec: any GradientCodec) -> (([Float], Int) -> Double)? {
        func bucketOf(_ x: [Float], _ i: Int, _ size: Int) -> ArraySlice<Float> { x[(i / size) * size..<min(x.count, (i / size + 1) * size)] }
        switch codec {
        case is Float16Codec:
            return { x, i in abs(x[i]) >= 0x1p-14 ? Double(abs(x[i])) * 0x1p-11 : 0x1p-25 }
        case let c as ScaledInt8Codec:
            return { x, i in
                let m = Double(bucketOf(x, i, c.bucketSize).map(abs).max()!)
                return (c.rounding == .nearest ? m / 254 : m / 127) + 4 * unitRoundoff * m + Double(Float.leastNonzeroMagnitude)
            }
        case let c as QSGDCodec:
            return { x, i in
                let norm = bucketOf(x, i, c.bucketSize).reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
                return norm / Double(c.levels) * (1 + 4 * unitRoundoff) + 4 * unitRoundoff * norm
            }
        default:
            return nil
        }
    }
}
