import Data
import XCTest

final class PartitionGatheringTests: XCTestCase {
    /// The union is ascending with no repeats, and each partition maps to
    /// positions holding its own indices in its own order.
    func testPartitionsMapIntoTheirUnionInOrder() {
        let parts = [[9, 2, 40], [], [7], [2, 31]]
        let (samples, local) = gatherPartitions(parts)
        XCTAssertEqual(samples, [2, 7, 9, 31, 40])
        XCTAssertEqual(local, [[2, 0, 4], [], [1], [0, 3]])
        for (part, positions) in zip(parts, local) { XCTAssertEqual(positions.map { samples[$0] }, part) }
        XCTAssertEqual(gatherPartitions([]).samples, [])
    }

    /// A sampler over the positions on the loaded subset draws the samples
    /// a sampler over the indices draws on the whole set.
    func testASamplerOverPositionsDrawsTheSameSamples() {
        let parts = [[3, 8, 11, 20, 21], [1, 30, 4]]
        let (samples, local) = gatherPartitions(parts)
        for (part, positions) in zip(parts, local) {
            var whole = MinibatchSampler(indices: part, batchSize: 2, seed: 5, stream: 9)
            var subset = MinibatchSampler(indices: positions, batchSize: 2, seed: 5, stream: 9)
            for _ in 0..<7 { XCTAssertEqual(subset.next().map { samples[$0] }, whole.next()) }
        }
    }

    /// Sizes, classes and each rank's partitions and samples.
    func testTheCompactSummaryCountsPerRank() {
        let histogram = [[3, 0, 1], [0, 2, 0], [1, 1, 1], [5, 0, 0]]
        XCTAssertEqual(compactPartitionSummary(histogram: histogram, holder: "device", ranks: [4, 3, 4, 4]), """
            partition: 4 devices, samples per device min 2 median 4 max 5, classes per device mean 1.75
            rank 3: 1 devices, 2 samples
            rank 4: 3 devices, 12 samples
            """)
    }
}
