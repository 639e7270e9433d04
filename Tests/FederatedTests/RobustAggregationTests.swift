@testable import Federated
import XCTest

final class RobustAggregationTests: XCTestCase {
    func contributions(_ deltas: [[Float]]) -> [ClientContribution] {
        deltas.enumerated().map { ClientContribution(rank: $0.offset + 1, samples: 100 * ($0.offset + 1), steps: 5, delta: $0.element) }
    }

    func testMedianIgnoresOneOutlierPerCoordinateAndSampleWeights() throws {
        let c = contributions([[1, 10], [2, -1000], [3, 20], [1e6, 30]])
        // Even count: the mean of the two middle values of each coordinate.
        XCTAssertEqual(try XCTUnwrap(aggregate(c, rule: .median)), [2.5, 15])
        XCTAssertEqual(try XCTUnwrap(aggregate(Array(c.prefix(3)), rule: .median)), [2, 10])
    }

    func testTrimmedMeanDropsTheExtremesAtEachEnd() throws {
        let deltas: [[Float]] = [[-100], [1], [2], [3], [4], [5], [6], [7], [100]]
        // beta 0.1 of 9 clients: ceil(0.9) = 1 value off each end, mean of 1...7.
        XCTAssertEqual(try XCTUnwrap(aggregate(contributions(deltas), rule: .trimmedMean, trimFraction: 0.1)), [4])
        // beta 0: the plain unweighted mean.
        XCTAssertEqual(try XCTUnwrap(aggregate(contributions(deltas), rule: .trimmedMean, trimFraction: 0))[0], 28.0 / 9, accuracy: 1e-6)
        XCTAssertEqual(trimCount(clients: 9, fraction: 0.25), 3)
        XCTAssertEqual(trimCount(clients: 2, fraction: 0.4), 0, "at least one value must be left")
        XCTAssertEqual(trimCount(clients: 8, fraction: 0.49), 3)
        XCTAssertNil(aggregate([], rule: .median))
    }

    func testUploadChecksNameLengthNonFiniteAndNorm() {
        XCTAssertNil(uploadProblem([3, 4], expected: 2, maxNorm: 5))
        XCTAssertEqual(uploadProblem([3, 4], expected: 3, maxNorm: nil), "2 values, expected 3")
        XCTAssertEqual(uploadProblem([1, .nan], expected: 2, maxNorm: nil), "non-finite value nan at index 1")
        XCTAssertEqual(uploadProblem([-.infinity], expected: 1, maxNorm: nil), "non-finite value -inf at index 0")
        XCTAssertEqual(uploadProblem([3, 4], expected: 2, maxNorm: 4.9), "norm 5 above --max-update-norm 4.9")
    }

    func testAttacksPoisonAsDocumentedAndRepeat() {
        let honest: [Float] = [1, -2, 3, -4]
        var flipped = honest
        ByzantineSettings(ranks: [1], attack: .signFlip, scale: 2).poison(&flipped, seed: 1, rank: 1, round: 1)
        XCTAssertEqual(flipped, [-2, 4, -6, 8])
        var scaled = honest
        ByzantineSettings(ranks: [1], attack: .scale, scale: 10).poison(&scaled, seed: 1, rank: 1, round: 1)
        XCTAssertEqual(scaled, [10, -20, 30, -40])
        let noise = ByzantineSettings(ranks: [1], attack: .noise, scale: 3)
        var a = [Float](repeating: 1, count: 20000), b = a, c = a
        noise.poison(&a, seed: 7, rank: 2, round: 5)
        noise.poison(&b, seed: 7, rank: 2, round: 5)
        noise.poison(&c, seed: 7, rank: 2, round: 6)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, c)
        let rms = (a.reduce(0.0) { $0 + Double($1 * $1) } / Double(a.count)).squareRoot()
        XCTAssertEqual(rms, 3, accuracy: 0.1, "noise has S x the honest root mean square")
    }

    func testMessagesRefuseBadIntegerFieldsButCarryNaNMeasurements() throws {
        var m = FederatedMessage(kind: .update)
        m[int: .round] = 3
        m[.lossAfter] = .nan
        let decoded = try FederatedMessage(decoding: m.encoded(), from: "rank 2")
        XCTAssertEqual(decoded[int: .round], 3)
        XCTAssertTrue(decoded[.lossAfter].isNaN, "a diverged client's loss is a measurement, not a malformed frame")
        for bad in [Double.nan, .infinity, 1e300, 2.5] {
            var hostile = m.encoded()
            let at = FederatedHeader.Field.steps.rawValue * 8
            hostile.replaceSubrange(at..<at + 8, with: withUnsafeBytes(of: bad.bitPattern.littleEndian) { Array($0) })
            XCTAssertThrowsError(try FederatedMessage(decoding: hostile, from: "rank 2"), "steps = \(bad)") {
                XCTAssertEqual("\($0)", "rank 2 sent a message whose integer header field steps is \(bad)")
            }
        }
        XCTAssertThrowsError(try FederatedMessage(decoding: Array(m.encoded().prefix(FederatedMessage.headerBytes - 1)), from: "rank 2"))
    }
}
