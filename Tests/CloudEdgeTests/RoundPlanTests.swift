@testable import CloudEdge
import Foundation
import RunSupport
import XCTest

/// The runtime's pieces that need no peers: roles by rank, the round plan,
/// the wire format and the weighted average.
final class RoundPlanTests: XCTestCase {
    /// Devices per round follow RunSupport's `selectionCount`, the
    /// federated mode's rule.
    func testPerRoundIsTheSharedSelectionCount() {
        var quarter = CloudEdgeConfig()
        quarter.fraction = 0.25
        XCTAssertEqual(quarter.perRound(devices: 10), 3)
        for clients in 1...12 {
            for count in [nil, 0, 3, 20] as [Int?] {
                for fraction in [nil, 0.04, 0.25, 0.5, 1] as [Double?] {
                    var c = CloudEdgeConfig()
                    (c.clientsPerRound, c.fraction) = (count, fraction)
                    XCTAssertEqual(c.perRound(devices: clients), selectionCount(clientsPerRound: count, fraction: fraction, of: clients),
                                   "\(clients) \(String(describing: count)) \(String(describing: fraction))")
                }
            }
        }
    }

    func testRolesGoByRank() throws {
        let roles = try CloudEdgeRoles(ranks: 8, edges: 2)
        XCTAssertEqual(roles.devices, 5)
        XCTAssertEqual(roles.executors, 5)
        XCTAssertFalse(roles.virtual)
        XCTAssertEqual((0..<8).map { roles.role(of: $0) },
                       [.cloud, .edge(0), .edge(1), .executor(0), .executor(1), .executor(2), .executor(3), .executor(4)])
        XCTAssertEqual(roles.rank(ofDevice: 4), 7)
        XCTAssertEqual(roles.tierRank(ofDevice: 0), 2)
        XCTAssertEqual((0..<5).map(roles.devices(ofExecutor:)), [[0], [1], [2], [3], [4]])
        XCTAssertEqual((0..<5).map(roles.samplerStream(ofDevice:)), [3, 4, 5, 6, 7], "one device per rank: the device's rank")
        XCTAssertThrowsError(try CloudEdgeRoles(ranks: 3, edges: 2)) {
            XCTAssertEqual("\($0)", "--edge-servers 2 needs at least 4 ranks (the cloud, 2 edge server(s) and at least one device), got 3")
        }
        XCTAssertThrowsError(try CloudEdgeRoles(ranks: 5, edges: 0))
    }

    /// `--devices D` over X executors: device d on executor d mod X (every
    /// executor serving D / X or one more), its sampler stream by its id
    /// alone, and the counts that cannot work refused with one line.
    func testVirtualDevicesAreDealtToTheExecutors() throws {
        for (ranks, edges, devices) in [(4, 2, 1), (4, 2, 7), (5, 2, 9), (6, 2, 9), (8, 3, 4), (7, 1, 1000)] {
            let roles = try CloudEdgeRoles(ranks: ranks, edges: edges, devices: devices)
            let x = ranks - 1 - edges
            XCTAssertEqual(roles.executors, x)
            XCTAssertTrue(roles.virtual)
            let served = (0..<x).map(roles.devices(ofExecutor:))
            XCTAssertEqual(served.flatMap { $0 }.sorted(), Array(0..<devices), "every device on one executor")
            XCTAssertLessThanOrEqual(served.map(\.count).max()! - served.map(\.count).min()!, 1, "balanced: \(served.map(\.count))")
            for d in 0..<devices {
                let e = roles.executor(ofDevice: d)
                XCTAssertTrue(served[e].contains(d))
                XCTAssertEqual(roles.rank(ofDevice: d), edges + 1 + e)
                XCTAssertEqual(roles.role(of: roles.rank(ofDevice: d)), .executor(e))
                XCTAssertEqual(roles.tierRank(ofDevice: d), edges + e)
                XCTAssertEqual(roles.samplerStream(ofDevice: d), UInt64(edges + 1 + d), "by the device's id, not its executor")
            }
        }
        XCTAssertThrowsError(try CloudEdgeRoles(ranks: 8, edges: 2, devices: 4)) {
            XCTAssertEqual("\($0)", "--devices 4 is fewer than the 5 device executor ranks (ranks 3...7 with --edge-servers 2); run at most 7 ranks")
        }
        XCTAssertThrowsError(try CloudEdgeRoles(ranks: 4, edges: 2, devices: 0)) {
            XCTAssertEqual("\($0)", "--devices must be at least 1, got 0")
        }
        XCTAssertEqual(try CloudEdgeRoles(ranks: 6, edges: 2, devices: 9).devicesWhere(), "9 device(s) on 3 executor(s) (ranks 3...5)")
        XCTAssertEqual(try CloudEdgeRoles(ranks: 6, edges: 2).devicesWhere(), "3 device(s) (ranks 3...5)")
    }

    static let histograms = (0..<6).map { $0 < 3 ? [10, 0] : [0, 10] }

    /// 6 devices, devices 0-2 hold only label 0 and 3-5 only label 1; two
    /// edge servers, one much faster, every link alike.
    func plans(_ configure: (inout CloudEdgeConfig) -> Void) throws -> [RoundPlan] {
        var config = CloudEdgeConfig()
        config.edgeServers = 2
        configure(&config)
        let histograms = Self.histograms
        let network = try NetworkState(edgeSpeeds: [1e9, 4e9], deviceMbps: [Double](repeating: 10, count: 6))
        let workload = SplitWorkload(uploadBytesPerSample: 100, downloadBytesPerSample: 100, workPerSample: 1e6)
        return try (1...4).map {
            try planRound($0, config: config, histograms: histograms, network: network, workload: workload, samplesPerDevice: 64)
        }
    }

    /// The plan's clusters are `klClusters`' of the sampled devices (all six
    /// here, so the indices agree) with their mean divergence. Uncapped, the
    /// walk opens both clusters with label 0 (devices 0 and 1), device 3
    /// evens cluster 1, and the left-overs 2, 4, 5 go where they lower the
    /// KL most, which evens cluster 0 too: KL 0 in both, sizes 4 and 2.
    /// Balanced (the default, at most 3 each): 2 and 4 join cluster 0 as
    /// before, which is then full, so 5 joins cluster 1: 2:1 and 1:2, the
    /// KL of dealing in turn. `none` deals the devices in turn, 2:1 and 1:2,
    /// mean KL 2/3 ln 4/3 + 1/3 ln 2/3 (about 0.057).
    func testKLClustersAreTheAlgorithmsAndNoneDealsInTurn() throws {
        let kl = try klClusters(histograms: Self.histograms, count: 2, minimumSize: 1)
        XCTAssertEqual(kl, [[0, 2, 4, 5], [1, 3]])
        for plan in try plans({ $0.clustering = .kl; $0.balancedClusters = false }) {
            XCTAssertEqual(plan.sampled, Array(0..<6))
            XCTAssertEqual(plan.clusters, kl)
            XCTAssertEqual(plan.meanDivergence, 0)
        }
        let dealt = 2.0 / 3 * log(4.0 / 3) + 1.0 / 3 * log(2.0 / 3)
        for plan in try plans({ $0.clustering = .kl }) {
            XCTAssertEqual(plan.clusters, [[0, 2, 4], [1, 3, 5]])
            XCTAssertEqual(plan.meanDivergence, dealt, accuracy: 1e-12)
        }
        for plan in try plans({ $0.clustering = .none }) {
            XCTAssertEqual(plan.clusters, [[0, 2, 4], [1, 3, 5]])
            XCTAssertEqual(plan.meanDivergence, dealt, accuracy: 1e-12)
        }
        let random = try plans { $0.clustering = .random }
        XCTAssertGreaterThan(Set(random.map(\.clusters)).count, 1, "random clusters change with the round")
        // Four of the six sampled: the round decides which; none deals them in turn.
        let sampled = try plans { $0.clustering = .none; $0.clientsPerRound = 4 }
        XCTAssertGreaterThan(Set(sampled.map(\.sampled)).count, 1, "sampling changes with the round")
        for plan in sampled {
            XCTAssertEqual(plan.clusters, [[plan.sampled[0], plan.sampled[2]], [plan.sampled[1], plan.sampled[3]]])
            XCTAssertNil(plan.placement(ofDevice: Set(0..<6).subtracting(plan.sampled).first!))
        }
    }

    /// The bigger cluster goes to the faster edge server under the optimal
    /// matching; every other matching costs at least as much; the emulated
    /// round is the slowest matched cluster's cost.
    func testTheMatchingCostsAndTheEmulatedRound() throws {
        let optimal = try plans { $0.clustering = .none; $0.clientsPerRound = 5 }
        for plan in optimal {
            XCTAssertEqual(plan.clusters.map(\.count), [3, 2])
            XCTAssertEqual(plan.assignment, [1, 0], "the 3-device cluster on the 4x faster server")
            XCTAssertEqual(plan.cost, plan.optimalCost)
            XCTAssertEqual(plan.emulatedSeconds, max(plan.costs[0][1], plan.costs[1][0]))
            XCTAssertEqual(plan.cluster(ofEdge: 1), 0)
            XCTAssertEqual(plan.placement(ofDevice: plan.sampled[1])?.edge, 0)
        }
        for matching in [MatchingKind.greedy, .random, .nearest] {
            for plan in try plans({ $0.clustering = .none; $0.clientsPerRound = 5; $0.matching = matching }) {
                XCTAssertGreaterThanOrEqual(plan.cost, plan.optimalCost, "\(matching)")
                // The yardsticks are the same whatever the configured rule.
                XCTAssertEqual(plan.greedyCost, optimal[plan.round - 1].greedyCost)
                XCTAssertEqual(plan.randomCost, optimal[plan.round - 1].randomCost)
                if matching == .greedy { XCTAssertEqual(plan.cost, plan.greedyCost) }
                if matching == .random { XCTAssertEqual(plan.cost, plan.randomCost) }
            }
        }
        for plan in optimal {
            XCTAssertGreaterThanOrEqual(plan.greedyCost, plan.optimalCost)
            XCTAssertGreaterThanOrEqual(plan.randomCost, plan.optimalCost)
        }
        // The random-clusters yardstick is what `--clustering random` uses.
        for (kl, random) in zip(try plans { $0.clustering = .kl }, try plans { $0.clustering = .random }) {
            XCTAssertEqual(kl.randomClustersMeanDivergence, random.meanDivergence)
        }
        // Nearest ignores speeds: with equal links it takes server 0 first, the dearer choice here.
        XCTAssertGreaterThan(try plans { $0.clustering = .none; $0.clientsPerRound = 5; $0.matching = .nearest }[0].cost,
                             optimal[0].cost)
    }

    /// Random clusters and matchings draw from a stream per (seed, round):
    /// seed 1 at round r + 1 is not seed 2 at round r (with `seed + round`
    /// they were the same draw). 40 clients in 4 clusters and 12 edge servers
    /// leave a chance equality no room (about 10^-21 and 10^-9 a pair).
    func testRandomDrawsKeepSeedAndRoundApart() throws {
        for r in 1...20 {
            XCTAssertNotEqual(try randomClusters(clients: 40, count: 4, minimumSize: 1, seed: 1, round: r + 1),
                              try randomClusters(clients: 40, count: 4, minimumSize: 1, seed: 2, round: r), "round \(r)")
            XCTAssertNotEqual(try randomMatching(clusters: 12, edges: 12, seed: 1, round: r + 1),
                              try randomMatching(clusters: 12, edges: 12, seed: 2, round: r), "round \(r)")
        }
        // The plan draws with its seed and round.
        for plan in try plans({ $0.clustering = .random; $0.matching = .random; $0.seed = 5 }) {
            XCTAssertEqual(plan.clusters, try randomClusters(clients: 6, count: 2, minimumSize: 1, seed: 5, round: plan.round))
            XCTAssertEqual(plan.assignment, try randomMatching(clusters: 2, edges: 2, seed: 5, round: plan.round))
        }
    }

    /// The Hungarian method minimizes the sum of the clusters' costs; with
    /// equal clusters on a star network (all links alike) every matching has
    /// the same sum.
    func testEqualClustersOnAStarMakeEveryMatchingSumTheSame() throws {
        for plan in try plans({ $0.clustering = .none }) {
            XCTAssertEqual(plan.clusters.map(\.count), [3, 3])
            let sums = [[0, 1], [1, 0]].map { matchingCost(costs: plan.costs, assignment: $0) }
            // Two positive terms added in another order: a relative rounding of 2 ulp.
            XCTAssertEqual(sums[0], sums[1], accuracy: 2 * sums[0].ulp)
            XCTAssertEqual(plan.optimalCost, sums[0], accuracy: 2 * sums[0].ulp)
        }
    }

    func testTooFewSampledDevicesForTheClustersAreRefused() {
        XCTAssertThrowsError(try plans { $0.clustering = .none; $0.clientsPerRound = 3; $0.minClusterSize = 2 }) {
            XCTAssertEqual($0 as? CloudEdgeError, .minimumSizeTooLarge(minimumSize: 2, count: 2, clients: 3))
        }
    }

    func testWireMessagesRoundTripAndRefuseWhatDoesNotFit() throws {
        let m = WireMessage(scalars: [1.5, -2], floats: [0.25, .infinity, -0], labels: [3, 9])
        let bytes = m.encoded()
        XCTAssertEqual(bytes.count, WireMessage.headerBytes + 2 * 8 + 3 * 4 + 2 * 4)
        let back = try WireMessage(decoding: bytes, from: "rank 3", scalars: 2, floats: 3)
        XCTAssertEqual(back.scalars, m.scalars)
        XCTAssertEqual(back.floats.map(\.bitPattern), m.floats.map(\.bitPattern))
        XCTAssertEqual(back.labels, m.labels)
        func refused(_ bytes: [UInt8], scalars: Int = 2, floats: Int? = nil, _ message: String) {
            XCTAssertThrowsError(try WireMessage(decoding: bytes, from: "rank 3", scalars: scalars, floats: floats)) {
                XCTAssertEqual("\($0)", "malformed message from rank 3: \(message)")
            }
        }
        refused([1, 2, 3], "3 bytes, shorter than the header")
        refused(Array(bytes.dropLast()), "47 bytes do not hold 2 scalars, 3 floats and 2 labels")
        refused(bytes, scalars: 1, "2 scalars, expected 1")
        refused(bytes, floats: 4, "3 floats, expected 4")
    }

    func testTheWeightedAverage() {
        XCTAssertEqual(weightedAverage([(1, [1, 2]), (3, [5, -2])]), [4, -1])
        XCTAssertEqual(weightedAverage([(2, [0.1])]), [0.1])
        XCTAssertEqual(weightedAverage([]), [])
    }
}
