import Data
import XCTest

/// Asserts that `parts` are sorted index lists that together hold each of
/// `0..<count` exactly once.
func assertExactCover(_ parts: [[Int]], count: Int, file: StaticString = #filePath, line: UInt = #line) {
    var seen = [Int](repeating: 0, count: count)
    for part in parts {
        XCTAssertEqual(part, part.sorted(), "a partition is not sorted", file: file, line: line)
        for i in part {
            guard i >= 0 && i < count else { return XCTFail("index \(i) out of range", file: file, line: line) }
            seen[i] += 1
        }
    }
    XCTAssertTrue(seen.allSatisfy { $0 == 1 }, "indices missing or repeated", file: file, line: line)
}

/// Balanced labels `i % classes` for `count` samples.
func roundRobinLabels(count: Int, classes: Int) -> [UInt8] {
    (0..<count).map { UInt8($0 % classes) }
}

final class PartitionTests: XCTestCase {
    func testIIDCoversAndIsNearEqual() throws {
        let labels = roundRobinLabels(count: 1003, classes: 10)
        for parts in [1, 2, 7, 10, 1003] {
            let result = try partition(labels: labels, classes: 10, parts: parts, scheme: .iid, seed: 4)
            XCTAssertEqual(result.count, parts)
            assertExactCover(result, count: 1003)
            let sizes = result.map(\.count)
            XCTAssertLessThanOrEqual(sizes.max()! - sizes.min()!, 1, "parts \(parts): sizes \(sizes)")
        }
    }

    func testIIDIsShuffledAndSeeded() throws {
        let labels = roundRobinLabels(count: 1000, classes: 10)
        let a = try partition(labels: labels, classes: 10, parts: 4, scheme: .iid, seed: 1)
        let b = try partition(labels: labels, classes: 10, parts: 4, scheme: .iid, seed: 1)
        let c = try partition(labels: labels, classes: 10, parts: 4, scheme: .iid, seed: 2)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, c)
        XCTAssertNotEqual(a[0], Array(0..<250), "iid partitions must not be contiguous ranges")
    }

    func testIIDHasNearUniformLabels() throws {
        let labels = roundRobinLabels(count: 10_000, classes: 10)
        let parts = try partition(labels: labels, classes: 10, parts: 5, scheme: .iid, seed: 9)
        for row in labelHistogram(labels: labels, classes: 10, partitions: parts) {
            for count in row { XCTAssertEqual(Double(count) / 2000, 0.1, accuracy: 0.03) }
        }
    }

    func testCommonErrors() {
        let labels = roundRobinLabels(count: 20, classes: 10)
        for scheme in [PartitionScheme.iid, .dirichlet(alpha: 1, minSize: 0), .shards(perPartition: 1)] {
            assertThrows(.invalidPartition("0 partitions requested; need at least 1")) {
                try partition(labels: labels, classes: 10, parts: 0, scheme: scheme, seed: 1)
            }
            assertThrows(.invalidPartition("21 partitions but only 20 samples")) {
                try partition(labels: labels, classes: 10, parts: 21, scheme: scheme, seed: 1)
            }
            XCTAssertThrowsError(try partition(labels: labels, classes: 5, parts: 2, scheme: scheme, seed: 1)) {
                XCTAssertTrue(String(describing: $0).contains("label 5 at index 5"), "\($0)")
            }
        }
        assertThrows(.invalidPartition("1 partitions but only 0 samples")) {
            try partition(labels: [], classes: 10, parts: 1, scheme: .iid, seed: 1)
        }
    }

    func testLabelHistogramCountsByHand() {
        let labels: [UInt8] = [0, 1, 1, 2, 2, 2]
        let histogram = labelHistogram(labels: labels, classes: 4, partitions: [[0, 3, 4], [1, 2, 5], []])
        XCTAssertEqual(histogram, [[1, 0, 2, 0], [0, 2, 1, 0], [0, 0, 0, 0]])
    }

    func testPartitionSummaryHasOneAlignedLinePerPartition() {
        let summary = partitionSummary(histogram: [[1200, 0, 3], [5, 17, 0]])
        let lines = summary.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(lines.count, 3, summary)
        XCTAssertEqual(Set(lines.map(\.count)).count, 1, "columns are not aligned:\n\(summary)")
        XCTAssertEqual(lines[1].split(separator: " ").map(String.init), ["0", "1203", "|", "1200", "0", "3"])
        XCTAssertEqual(lines[2].split(separator: " ").map(String.init), ["1", "22", "|", "5", "17", "0"])
        XCTAssertTrue(lines[0].contains("size"), summary)
    }
}

/// `--size-skew`: iid labels, unequal seeded sizes.
final class SizeSkewPartitionTests: XCTestCase {
    func testSkewedSizesCoverEverySampleOnceAndKeepTheMinimum() throws {
        let labels = (0..<5003).map { UInt8($0 % 10) }
        for skew in [SizeSkew.lognormal(sigma: 1.5), .powerLaw(exponent: 1.2)] {
            let parts = try partition(labels: labels, classes: 10, parts: 97, scheme: .skewed(skew, minSize: 3), seed: 7)
            XCTAssertEqual(parts.count, 97)
            XCTAssertEqual(parts.flatMap { $0 }.sorted(), Array(0..<5003), "\(skew)")
            XCTAssertGreaterThanOrEqual(parts.map(\.count).min()!, 3, "\(skew)")
            // Skewed: the largest partition is several times the mean (about 52).
            XCTAssertGreaterThan(parts.map(\.count).max()!, 150, "\(skew): \(parts.map(\.count).sorted())")
            XCTAssertEqual(parts, try partition(labels: labels, classes: 10, parts: 97, scheme: .skewed(skew, minSize: 3), seed: 7))
            XCTAssertNotEqual(parts, try partition(labels: labels, classes: 10, parts: 97, scheme: .skewed(skew, minSize: 3), seed: 8))
        }
    }

    /// Extreme spreads on 1,000 clients: weights that overflow a Double
    /// (powerlaw:0.01 draws u^-100) or span hundreds of orders of magnitude
    /// (lognormal:50) still give sizes that cover every sample once, keep the
    /// minimum and leave most samples to the few heaviest clients.
    func testExtremeSpreadsOnAThousandClients() throws {
        let labels = (0..<20_000).map { UInt8($0 % 10) }
        for skew in [SizeSkew.powerLaw(exponent: 0.01), .lognormal(sigma: 50), .powerLaw(exponent: 1e-300)] {
            for seed in [1, 2, 3] as [UInt64] {
                let parts = try partition(labels: labels, classes: 10, parts: 1000, scheme: .skewed(skew, minSize: 3), seed: seed)
                let sizes = parts.map(\.count)
                XCTAssertEqual(parts.flatMap { $0 }.sorted(), Array(0..<20_000), "\(skew) seed \(seed)")
                XCTAssertGreaterThanOrEqual(sizes.min()!, 3, "\(skew) seed \(seed)")
                // 17,000 samples are free beyond the minimum; the heaviest client takes most of them.
                XCTAssertGreaterThan(sizes.max()!, 3 + 8_500, "\(skew) seed \(seed)")
            }
        }
    }

    func testTooFewSamplesForTheMinimumAreRefused() {
        XCTAssertThrowsError(try partition(labels: [UInt8](repeating: 0, count: 10), classes: 1, parts: 4,
                                           scheme: .skewed(.lognormal(sigma: 1), minSize: 3), seed: 1)) {
            XCTAssertEqual("\($0)".contains("4 partitions of at least 3 samples need more than the 10 samples"), true, "\($0)")
        }
    }

    func testParsing() {
        XCTAssertEqual(SizeSkew(argument: "lognormal:0.5"), .lognormal(sigma: 0.5))
        XCTAssertEqual(SizeSkew(argument: "powerlaw:2"), .powerLaw(exponent: 2))
        for bad in ["lognormal", "lognormal:0", "powerlaw:-1", "zipf:1", "powerlaw:nan"] { XCTAssertNil(SizeSkew(argument: bad), bad) }
    }
}
