import RunSupport

/// What one round does, computed by every rank alike from the seed, the
/// round number, the devices' label histograms and the network state, with
/// no message: the sampled devices, their clusters, the cost of each
/// cluster on each edge server and the matching.
public struct RoundPlan: Equatable, Sendable {
    public let round: Int
    /// Device indices (0..<D), increasing.
    public let sampled: [Int]
    /// Device indices per cluster, each increasing.
    public let clusters: [[Int]]
    /// Cluster c trains on edge server `assignment[c]`.
    public let assignment: [Int]
    /// `offloadCosts`: seconds of cluster c's round on edge server e.
    public let costs: [[Double]]
    /// The matching's total cost and the optimal one's, in seconds.
    public let cost: Double
    public let optimalCost: Double
    /// The emulated round time: the slowest matched cluster's cost (the
    /// clusters run side by side).
    public let emulatedSeconds: Double
    /// The mean over clusters of KL(cluster || sampled devices' pool), nats.
    public let meanDivergence: Double
    /// Yardsticks, whatever the configured rules: the mean KL of seeded
    /// random clusters of the same sampled devices, and what the greedy and
    /// the seeded random matching would cost on this round's clusters.
    public let randomClustersMeanDivergence: Double
    public let greedyCost: Double
    public let randomCost: Double

    /// The cluster edge server `e` trains this round, if any.
    public func cluster(ofEdge e: Int) -> Int? { assignment.firstIndex(of: e) }

    /// The cluster of device `d` and its edge server, if `d` was sampled.
    public func placement(ofDevice d: Int) -> (cluster: Int, edge: Int)? {
        clusters.firstIndex { $0.contains(d) }.map { ($0, assignment[$0]) }
    }
}

/// The plan of round `round` (1-based) under `config`: `histograms[d]` is
/// device d's label histogram, `samplesPerDevice` what a sampled device
/// trains on per round (local steps x batch). Throws the clustering's and
/// matching's refusals (`CloudEdgeError`), which every rank meets alike.
public func planRound(
    _ round: Int, config: CloudEdgeConfig, histograms: [[Int]], network: NetworkState, workload: SplitWorkload,
    samplesPerDevice: Int
) throws -> RoundPlan {
    let devices = histograms.count
    let k = config.clusterCount
    let sampled = selectClients(Array(0..<devices), count: config.perRound(devices: devices), seed: config.seed, round: round)
    let local: [[Int]]
    switch config.clustering {
    case .kl:
        local = try klClusters(histograms: sampled.map { histograms[$0] }, count: k, minimumSize: config.minClusterSize,
                               maximumSize: config.balancedClusters ? (sampled.count + k - 1) / k : nil)
    case .random:
        local = try randomClusters(clients: sampled.count, count: k, minimumSize: config.minClusterSize,
                                   seed: config.seed, round: round)
    case .none:
        try checkClusterSizes(clients: sampled.count, count: k, minimumSize: config.minClusterSize)
        local = (0..<k).map { c in Array(stride(from: c, to: sampled.count, by: k)) }
    }
    let clusters = local.map { $0.map { sampled[$0] } }
    var samples = [Int](repeating: 0, count: devices)
    for d in sampled { samples[d] = samplesPerDevice }
    let costs = try offloadCosts(clusters: clusters, samplesPerRound: samples, network: network, workload: workload)
    let optimal = try optimalMatching(costs: costs)
    let assignment: [Int]
    switch config.matching {
    case .optimal: assignment = optimal
    case .greedy: assignment = try greedyMatching(costs: costs)
    case .random: assignment = try randomMatching(clusters: k, edges: network.edgeCount, seed: config.seed, round: round)
    case .nearest: assignment = try nearestMatching(clusters: clusters, network: network)
    }
    let divergences = try clusterDivergences(histograms: sampled.map { histograms[$0] }, clusters: local)
    let randomLocal = try randomClusters(clients: sampled.count, count: k, minimumSize: config.minClusterSize,
                                         seed: config.seed, round: round)
    let randomDivergences = try clusterDivergences(histograms: sampled.map { histograms[$0] }, clusters: randomLocal)
    let random = try randomMatching(clusters: k, edges: network.edgeCount, seed: config.seed, round: round)
    return RoundPlan(
        round: round, sampled: sampled, clusters: clusters, assignment: assignment, costs: costs,
        cost: matchingCost(costs: costs, assignment: assignment), optimalCost: matchingCost(costs: costs, assignment: optimal),
        emulatedSeconds: assignment.indices.map { costs[$0][assignment[$0]] }.max() ?? 0,
        meanDivergence: mean(divergences), randomClustersMeanDivergence: mean(randomDivergences),
        greedyCost: matchingCost(costs: costs, assignment: try greedyMatching(costs: costs)),
        randomCost: matchingCost(costs: costs, assignment: random))
}

/// The mean of `values` (0 for none).
private func mean(_ values: [Double]) -> Double { values.reduce(0, +) / Double(max(values.count, 1)) }
