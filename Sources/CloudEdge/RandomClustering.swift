import Random

/// Clusters made without looking at labels, for the ablation "random clusters
/// instead of KL": a seeded shuffle of the clients dealt into `count`
/// clusters of sizes as even as possible (the first clients % count clusters
/// hold one more), so each holds at least `minimumSize` under the same checks
/// as `klClusters`. Each cluster lists its clients in increasing order; the
/// same seed and round give the same clusters. The round picks the
/// generator's stream, as in `selectClients`, so (seed, round) pairs are kept
/// apart: seed s at round r + 1 is not seed s + 1 at round r.
public func randomClusters(clients: Int, count: Int, minimumSize: Int, seed: UInt64, round: Int = 0) throws -> [[Int]] {
    try checkClusterSizes(clients: clients, count: count, minimumSize: minimumSize)
    var rng = SeededGenerator(seed: seed, stream: 0xC1_0575 &+ UInt64(bitPattern: Int64(round)))
    var order = Array(0..<clients)
    rng.shuffle(&order)
    var clusters: [[Int]] = []
    var start = 0
    for cluster in 0..<count {
        let size = clients / count + (cluster < clients % count ? 1 : 0)
        clusters.append(order[start..<start + size].sorted())
        start += size
    }
    return clusters
}
