@testable import CloudEdge
import Random
import XCTest

/// The edge servers' distillation sample: uniform over the whole round.
final class SampleReservoirTests: XCTestCase {
    /// Rows of width 2 whose activations and label carry the row's index.
    private func offerSteps(_ reservoir: inout SampleReservoir, steps: Int, rowsPerStep: Int) {
        for step in 0..<steps {
            let rows = (0..<rowsPerStep).map { step * rowsPerStep + $0 }
            reservoir.offer(features: rows.flatMap { [Float($0), -Float($0)] }, labels: rows.map { Int32($0) })
        }
    }

    func testFewerRowsThanTheCapacityAreAllKeptInOrder() {
        var r = SampleReservoir(capacity: 10, width: 2, rng: SeededGenerator(seed: 1))
        offerSteps(&r, steps: 2, rowsPerStep: 3)
        XCTAssertEqual(r.labels, [0, 1, 2, 3, 4, 5])
        XCTAssertEqual(r.floats, [0, -0, 1, -1, 2, -2, 3, -3, 4, -4, 5, -5])
        XCTAssertEqual(r.seen, 6)
    }

    /// 40 rows in 4 steps of 10, capacity 8: every row is kept with
    /// probability 1/5, later steps' as often as the first's (keeping the
    /// first 8 never keeps rows 8...39). Over 4000 draws a row's count is
    /// binomial, mean 800 and standard deviation sqrt(4000 x 0.2 x 0.8) = 25.3;
    /// the bound is 6 deviations. Each kept row's activations match its label.
    func testEveryRowOfTheRoundIsEquallyLikely() {
        var counts = [Int](repeating: 0, count: 40)
        for trial in 0..<4000 {
            var r = SampleReservoir(capacity: 8, width: 2, rng: SeededGenerator(seed: 9, stream: UInt64(trial)))
            offerSteps(&r, steps: 4, rowsPerStep: 10)
            XCTAssertEqual(r.labels.count, 8)
            XCTAssertEqual(Set(r.labels).count, 8, "no row twice")
            for (i, label) in r.labels.enumerated() {
                counts[Int(label)] += 1
                XCTAssertEqual(r.floats[2 * i], Float(label))
                XCTAssertEqual(r.floats[2 * i + 1], -Float(label))
            }
        }
        for (row, n) in counts.enumerated() {
            XCTAssertEqual(Double(n), 800, accuracy: 6 * 25.3, "row \(row)")
        }
    }

    func testTheGeneratorIsSeededBySeedRoundAndEdge() {
        func sample(_ seed: UInt64, _ round: Int, _ edge: Int) -> [Int32] {
            var r = SampleReservoir(capacity: 8, width: 2, rng: SampleReservoir.generator(seed: seed, round: round, edge: edge))
            offerSteps(&r, steps: 8, rowsPerStep: 16)
            return r.labels
        }
        XCTAssertEqual(sample(1, 3, 0), sample(1, 3, 0))
        let draws = [sample(1, 3, 0), sample(1, 4, 0), sample(1, 3, 1), sample(2, 3, 0), sample(2, 2, 0), sample(1, 4, 1)]
        XCTAssertEqual(Set(draws).count, draws.count, "each (seed, round, edge) draws its own sample")
    }
}
