import CloudEdge
import Foundation
import Random
import XCTest

final class KLClusteringTests: XCTestCase {
    func testWalkMovesOnWhenAClientWouldRaiseTheKL() throws {
        // Global (1/3, 1/3, 1/3). Cluster 0 takes client 0 (KL ln 3), client 1
        // (shares (1/2, 1/2, 0): ln 3/2) and client 2 (uniform: 0). Client 3
        // would raise it to KL of (1/2, 1/4, 1/4) > 0, so the walk moves on and
        // client 3 opens cluster 1, which takes 4 and 5 the same way.
        let h = [[2, 0, 0], [0, 2, 0], [0, 0, 2], [2, 0, 0], [0, 2, 0], [0, 0, 2]]
        XCTAssertEqual(try klClusters(histograms: h, count: 2, minimumSize: 1), [[0, 1, 2], [3, 4, 5]])
    }

    func testAMaximumSizeBalancesTheClusters() throws {
        // Two labels, global (1/2, 1/2); d = KL of shares (2/3, 1/3) = 0.0566.
        // Walk: 0 opens cluster 0 (ln 2), 1 evens it (0); 2 would raise it
        // to d, so 2 opens cluster 1, which 3 evens; 4 and 5 would raise the
        // last cluster to d and remain.
        let h = [[1, 0], [0, 1], [1, 0], [0, 1], [1, 0], [0, 1]]
        // Uncapped left-overs: 4 raises either cluster by d, the tie goes to
        // cluster 0; 5 then evens cluster 0 (-d) rather than raising cluster
        // 1 (+d): sizes 4 and 2, both at KL 0.
        XCTAssertEqual(try klClusters(histograms: h, count: 2, minimumSize: 1), [[0, 1, 4, 5], [2, 3]])
        // At most 3 a cluster: 4 goes to cluster 0 as before, which is then
        // full, so 5 must go to cluster 1: sizes 3 and 3, both at KL d. The
        // cap trades this case's KL for balance.
        let balanced = try klClusters(histograms: h, count: 2, minimumSize: 1, maximumSize: 3)
        XCTAssertEqual(balanced, [[0, 1, 4], [2, 3, 5]])
        let d = 2.0 / 3 * log(4.0 / 3) + 1.0 / 3 * log(2.0 / 3)
        for kl in try clusterDivergences(histograms: h, clusters: balanced) { XCTAssertEqual(kl, d, accuracy: 1e-12) }
        XCTAssertThrowsError(try klClusters(histograms: h, count: 2, minimumSize: 1, maximumSize: 2)) {
            XCTAssertEqual("\($0)", "maximum cluster size 2 x 2 clusters cannot hold the 6 clients")
        }
    }

    func testMinimumSizeAndLeftOverRules() throws {
        // Two labels, global (13, 13): the KL of a share p of label 0 is
        // ln 2 - H(p), growing with |p - 1/2| and 0 at p = 1/2 exactly.
        let h = [[3, 1], [3, 1], [1, 3], [2, 0], [0, 2], [1, 1], [2, 4], [1, 1]]
        // Walk: client 0 opens cluster 0 (p 3/4). Client 1 has the same shares,
        // so the KL does not fall: it opens cluster 1, the last; client 2 brings
        // that to (4, 4), KL 0, which clients 3..7 cannot lower (client 5 and
        // 7 keep it at 0): they remain.
        // Minimum 3: cluster 0 (3, 1) takes the client leaving the lowest KL:
        // 4 and 6 both give p = 1/2; the lower index, 4, wins -> (3, 3); then
        // 5 and 7 both keep 1/2 -> 5 -> (4, 4). Cluster 1 (4, 4) needs one:
        // 3 gives p 6/10, 6 gives 6/14, 7 keeps 1/2 -> 7 -> (5, 5).
        // Left-overs by the least signed change (new KL - old): client 3
        // (2, 0) raises both clusters from KL 0, cluster 0 to p 6/10
        // (|p - 1/2| = 1/10) and cluster 1 to 7/12 (1/12), the smaller rise:
        // cluster 1, now (7, 5). Client 6 (2, 4) raises cluster 0 from 0 to
        // p 6/14 but brings cluster 1 from p 7/12 back to (9, 9), KL 0: a
        // negative change, so cluster 1. (The absolute change would send it to
        // cluster 0, whose KL moves less, 1/14 < 1/12 from 1/2, and leave both
        // clusters skewed.)
        let clusters = try klClusters(histograms: h, count: 2, minimumSize: 3)
        XCTAssertEqual(clusters, [[0, 4, 5], [1, 2, 3, 6, 7]])
        XCTAssertEqual(try clusterDivergences(histograms: h, clusters: clusters), [0, 0])
    }

    /// The left-over rule on three clients of label 0 then three of label 1,
    /// K = 2: the walk opens cluster 0 with client 0 and cluster 1 with client
    /// 1, which client 3 brings to (1/2, 1/2); 2, 4 and 5 are left over.
    /// Client 2 leaves cluster 0 at ln 2 (change 0) and would raise cluster 1:
    /// cluster 0. Client 4 brings cluster 0 from ln 2 to KL(2/3, 1/3) (change
    /// about -0.64) and would raise cluster 1 to the same 0.057: cluster 0.
    /// Client 5 brings cluster 0 to (1/2, 1/2), KL 0: both clusters at 0.
    /// The absolute reading sent 4 and 5 to cluster 1 (mean KL 0.41).
    func testLeftOversGoWhereTheyLowerTheKLMost() throws {
        let h = (0..<6).map { $0 < 3 ? [10, 0] : [0, 10] }
        let clusters = try klClusters(histograms: h, count: 2, minimumSize: 1)
        XCTAssertEqual(clusters, [[0, 2, 4, 5], [1, 3]])
        XCTAssertEqual(try clusterDivergences(histograms: h, clusters: clusters), [0, 0])
    }

    func testGrowthStopsWhereTheMinimaNeedTheRest() throws {
        // 20 one-label clients, client i holding label i % 10; global uniform.
        // Every new label lowers a cluster's KL (k labels: ln(10 / k)).
        let h = oneLabelClients((0..<20).map { $0 % 10 })
        // Minimum 5 of 4 clusters needs all 20: cluster 0 stops at 5 clients,
        // and the walk opens the next, and so on.
        XCTAssertEqual(
            try klClusters(histograms: h, count: 4, minimumSize: 5),
            [Array(0..<5), Array(5..<10), Array(10..<15), Array(15..<20)])
        // Minimum 2: cluster 0 takes 0..9 (KL 0); client 10 would raise it, so
        // cluster 1 opens and grows while 10 + size + 2 + 2 <= 20: to 6
        // clients. Client 16 opens cluster 2, which takes 17 (below its
        // minimum); client 18 finds it full (10 + 6 + 2 + 2 = 20) and opens
        // cluster 3 with 19.
        XCTAssertEqual(
            try klClusters(histograms: h, count: 4, minimumSize: 2),
            [Array(0..<10), Array(10..<16), [16, 17], [18, 19]])
    }

    func testClustersCoverEveryClientOnceAndAreDeterministic() throws {
        var rng = SeededGenerator(seed: 7)
        for trial in 0..<200 {
            let clients = 1 + rng.nextIndex(below: 12)
            let classes = 1 + rng.nextIndex(below: 5)
            let h = (0..<clients).map { _ in (0..<classes).map { _ in rng.nextIndex(below: 4) } }
            guard h.joined().contains(where: { $0 > 0 }) else { continue }
            let count = 1 + rng.nextIndex(below: clients)
            let minimumSize = 1 + rng.nextIndex(below: clients / count)
            let clusters = try klClusters(histograms: h, count: count, minimumSize: minimumSize)
            XCTAssertEqual(clusters.count, count, "trial \(trial)")
            XCTAssertEqual(clusters.joined().sorted(), Array(0..<clients), "trial \(trial)")
            XCTAssertTrue(clusters.allSatisfy { $0.count >= minimumSize && $0 == $0.sorted() }, "trial \(trial)")
            XCTAssertEqual(try klClusters(histograms: h, count: count, minimumSize: minimumSize), clusters)
        }
    }

    func testKLClustersBeatRandomClustersUnderStrongSkew() throws {
        // 20 one-label clients over 10 labels (two clients per label) in a
        // seeded order, 4 clusters of at least 5.
        var labels = (0..<20).map { $0 % 10 }
        var order = SeededGenerator(seed: 11)
        order.shuffle(&labels)
        let h = oneLabelClients(labels)
        let kl = try clusterDivergences(histograms: h, clusters: klClusters(histograms: h, count: 4, minimumSize: 5))
        for seed: UInt64 in 1...8 {
            let random = try randomClusters(clients: 20, count: 4, minimumSize: 5, seed: seed)
            let randomKL = try clusterDivergences(histograms: h, clusters: random)
            XCTAssertLessThan(mean(kl), mean(randomKL), "seed \(seed)")
        }
    }

    func testRandomClustersAreSeededAndEven() throws {
        let a = try randomClusters(clients: 10, count: 3, minimumSize: 3, seed: 1)
        XCTAssertEqual(a.map(\.count), [4, 3, 3])
        XCTAssertEqual(a.joined().sorted(), Array(0..<10))
        XCTAssertEqual(try randomClusters(clients: 10, count: 3, minimumSize: 3, seed: 1), a)
        XCTAssertNotEqual(try randomClusters(clients: 10, count: 3, minimumSize: 3, seed: 2), a)
    }

    func testDivergencesByHand() throws {
        // Global (1/2, 1/4, 1/4). Cluster {0}: (1, 0, 0): ln 2. Cluster {0, 1}:
        // the global shares: 0. Cluster {2} has no sample: infinity.
        let h = [[2, 0, 0], [0, 1, 1], [0, 0, 0]]
        let d = try clusterDivergences(histograms: h, clusters: [[0], [0, 1], [2]])
        XCTAssertEqual(d[0], log(2.0), accuracy: 4 * Double.ulpOfOne)
        XCTAssertEqual(d[1], 0)
        XCTAssertEqual(d[2], .infinity)
    }

    func testBadInputsNameThemselves() {
        let h = [[1, 0], [0, 1], [1, 1]]
        assertError(try klClusters(histograms: h, count: 0, minimumSize: 1), "cluster count 0 is below 1")
        assertError(try klClusters(histograms: h, count: 4, minimumSize: 1), "cluster count 4 exceeds the 3 clients")
        assertError(try klClusters(histograms: h, count: 2, minimumSize: 0), "minimum cluster size 0 is below 1")
        assertError(
            try klClusters(histograms: h, count: 2, minimumSize: 2),
            "minimum cluster size 2 x 2 clusters needs more than the 3 clients")
        assertError(
            try randomClusters(clients: 3, count: 2, minimumSize: 2, seed: 1),
            "minimum cluster size 2 x 2 clusters needs more than the 3 clients")
        assertError(
            try klClusters(histograms: [[1, 0], [0, 1, 0]], count: 1, minimumSize: 1),
            "label histogram of client 1 has 3 classes, client 0's has 2")
        assertError(
            try klClusters(histograms: [[1, 0], [0, -1]], count: 1, minimumSize: 1),
            "label histogram of client 1 has count -1 for label 1; counts must not be negative")
        assertError(
            try klClusters(histograms: [[0, 0], [0, 0]], count: 1, minimumSize: 1),
            "the label histograms of the 2 clients hold no samples: the global label distribution is empty")
        assertError(
            try clusterDivergences(histograms: h, clusters: [[0, 3]]), "a cluster names client 3, outside 0..<3")
    }

    private func oneLabelClients(_ labels: [Int]) -> [[Int]] {
        labels.map { label in (0..<10).map { $0 == label ? 1 : 0 } }
    }

    private func mean(_ values: [Double]) -> Double {
        values.reduce(0, +) / Double(values.count)
    }
}

/// Asserts that `expression` throws a `CloudEdgeError` whose description is `message`.
func assertError<T>(
    _ expression: @autoclosure () throws -> T, _ message: String, file: StaticString = #filePath, line: UInt = #line
) {
    XCTAssertThrowsError(try expression(), file: file, line: line) { error in
        XCTAssertEqual((error as? CloudEdgeError)?.description, message, file: file, line: line)
    }
}
