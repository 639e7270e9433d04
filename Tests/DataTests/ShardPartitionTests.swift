import Data
import XCTest

final class ShardPartitionTests: XCTestCase {
    func testAlignedShardsGiveEachPartitionAtMostPerPartitionLabels() throws {
        // 10 000 samples, 1000 per class, 20 shards of 500: every shard is one class.
        let labels = roundRobinLabels(count: 10_000, classes: 10)
        let parts = try partition(labels: labels, classes: 10, parts: 10, scheme: .shards(perPartition: 2), seed: 1)
        assertExactCover(parts, count: labels.count)
        XCTAssertEqual(parts.map(\.count), [Int](repeating: 1000, count: 10))
        for row in labelHistogram(labels: labels, classes: 10, partitions: parts) {
            XCTAssertLessThanOrEqual(row.filter { $0 > 0 }.count, 2, "\(row)")
            XCTAssertTrue(row.allSatisfy { $0 % 500 == 0 }, "a shard was split: \(row)")
        }
    }

    func testUnevenShardsStillCoverAndAreRunsInLabelOrder() throws {
        // 1003 samples in 7 x 3 = 21 shards: 47 samples each, 16 shards with 48.
        var labels = roundRobinLabels(count: 1003, classes: 10)
        labels.swapAt(0, 500)
        let perPartition = 3
        let parts = try partition(
            labels: labels, classes: 10, parts: 7, scheme: .shards(perPartition: perPartition), seed: 5)
        assertExactCover(parts, count: labels.count)
        XCTAssertEqual(parts.map(\.count).reduce(0, +), 1003)
        for part in parts {
            XCTAssertTrue((141...144).contains(part.count), "size \(part.count)")
        }
        // Position of each sample in the stable sort by label.
        let sorted = labels.indices.sorted { (labels[$0], $0) < (labels[$1], $1) }
        var position = [Int](repeating: 0, count: labels.count)
        for (rank, i) in sorted.enumerated() { position[i] = rank }
        for part in parts {
            let ranks = part.map { position[$0] }.sorted()
            let runs = 1 + zip(ranks, ranks.dropFirst()).filter { $1 != $0 + 1 }.count
            XCTAssertLessThanOrEqual(runs, perPartition, "a partition is not made of \(perPartition) shards")
            // Every class has about 100 samples, more than a shard, so a shard spans at most 2 labels.
            let distinct = Set(part.map { labels[$0] }).count
            XCTAssertLessThanOrEqual(distinct, 2 * perPartition)
        }
    }

    func testSeeded() throws {
        let labels = roundRobinLabels(count: 600, classes: 6)
        let a = try partition(labels: labels, classes: 6, parts: 6, scheme: .shards(perPartition: 2), seed: 10)
        let b = try partition(labels: labels, classes: 6, parts: 6, scheme: .shards(perPartition: 2), seed: 10)
        let c = try partition(labels: labels, classes: 6, parts: 6, scheme: .shards(perPartition: 2), seed: 11)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, c)
    }

    func testErrors() {
        let labels = roundRobinLabels(count: 20, classes: 10)
        assertThrows(.invalidPartition("0 shards per partition; need at least 1")) {
            try partition(labels: labels, classes: 10, parts: 2, scheme: .shards(perPartition: 0), seed: 1)
        }
        XCTAssertThrowsError(
            try partition(labels: labels, classes: 10, parts: 3, scheme: .shards(perPartition: 7), seed: 1)
        ) { XCTAssertTrue(String(describing: $0).contains("20 samples"), "\($0)") }
        XCTAssertThrowsError(
            try partition(labels: labels, classes: 10, parts: 2, scheme: .shards(perPartition: .max), seed: 1))
        XCTAssertNoThrow(
            try partition(labels: labels, classes: 10, parts: 4, scheme: .shards(perPartition: 5), seed: 1))
    }
}
