import Data
import XCTest

final class DirichletPartitionTests: XCTestCase {
    private let labels = roundRobinLabels(count: 10_000, classes: 10)

    /// The share of each class in each partition.
    private func shares(_ parts: [[Int]]) -> [[Double]] {
        labelHistogram(labels: labels, classes: 10, partitions: parts).map { row in
            let total = Double(row.reduce(0, +))
            return row.map { Double($0) / total }
        }
    }

    func testCoversAndIsSeeded() throws {
        let scheme = PartitionScheme.dirichlet(alpha: 0.5, minSize: 10)
        let a = try partition(labels: labels, classes: 10, parts: 8, scheme: scheme, seed: 1)
        let b = try partition(labels: labels, classes: 10, parts: 8, scheme: scheme, seed: 1)
        let c = try partition(labels: labels, classes: 10, parts: 8, scheme: scheme, seed: 2)
        XCTAssertEqual(a.count, 8)
        assertExactCover(a, count: labels.count)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, c)
    }

    func testLargeAlphaIsNearUniform() throws {
        let parts = try partition(
            labels: labels, classes: 10, parts: 10, scheme: .dirichlet(alpha: 10_000, minSize: 0), seed: 3)
        assertExactCover(parts, count: labels.count)
        for (p, row) in shares(parts).enumerated() {
            for (c, share) in row.enumerated() {
                XCTAssertEqual(share, 0.1, accuracy: 0.03, "partition \(p) class \(c)")
            }
        }
    }

    func testSmallAlphaIsSkewed() throws {
        // Partitions where one class has over 40 % of the samples (an iid split has none).
        var dominatedInAll = 0
        for seed: UInt64 in 1...5 {
            let parts = try partition(
                labels: labels, classes: 10, parts: 10, scheme: .dirichlet(alpha: 0.1, minSize: 10), seed: seed)
            assertExactCover(parts, count: labels.count)
            let dominated = shares(parts).filter { $0.max()! > 0.4 }.count
            XCTAssertGreaterThanOrEqual(dominated, 5, "seed \(seed): only \(dominated) of 10 partitions are skewed")
            dominatedInAll += dominated
        }
        XCTAssertGreaterThanOrEqual(dominatedInAll, 35, "most partitions should be dominated by one class")
    }

    func testMinSizeIsRespected() throws {
        for seed: UInt64 in 1...3 {
            let parts = try partition(
                labels: labels, classes: 10, parts: 20, scheme: .dirichlet(alpha: 0.1, minSize: 150), seed: seed)
            assertExactCover(parts, count: labels.count)
            XCTAssertGreaterThanOrEqual(parts.map(\.count).min()!, 150, "seed \(seed)")
        }
    }

    func testInvalidParameters() {
        for alpha in [0, -1, Double.nan, Double.infinity] {
            XCTAssertThrowsError(
                try partition(labels: labels, classes: 10, parts: 4, scheme: .dirichlet(alpha: alpha, minSize: 0), seed: 1)
            ) { error in
                guard case let .invalidPartition(message) = error as? DataError else {
                    return XCTFail("expected invalidPartition, got \(error)")
                }
                XCTAssertTrue(message.contains("alpha"), message)
            }
        }
        // 4 x 2501 > 10 000 samples: impossible, reported without trying.
        XCTAssertThrowsError(
            try partition(labels: labels, classes: 10, parts: 4, scheme: .dirichlet(alpha: 1, minSize: 2501), seed: 1))
        XCTAssertThrowsError(
            try partition(labels: labels, classes: 10, parts: 4, scheme: .dirichlet(alpha: 1, minSize: -1), seed: 1))
    }

    func testGivesUpWhenMinSizeIsOutOfReach() {
        // Possible in principle (10 x 10 = 100 samples) but not with alpha 0.01.
        let few = roundRobinLabels(count: 100, classes: 10)
        XCTAssertThrowsError(
            try partition(labels: few, classes: 10, parts: 10, scheme: .dirichlet(alpha: 0.01, minSize: 10), seed: 1)
        ) { error in
            guard case let .invalidPartition(message) = error as? DataError else {
                return XCTFail("expected invalidPartition, got \(error)")
            }
            XCTAssertTrue(message.contains("0.01") && message.contains("10 partitions"), message)
        }
    }
}
