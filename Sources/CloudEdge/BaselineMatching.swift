import Random

// The ablation baselines of offload matching. Each returns `assignment`,
// where cluster c goes to edge server `assignment[c]`, all distinct.

/// Greedy matching: repeatedly takes the cheapest pair of a cluster and an
/// edge server both still free (ties to the lowest cluster, then the lowest
/// edge server). Never cheaper than `optimalMatching`; can be dearer.
public func greedyMatching(costs: [[Double]]) throws -> [Int] {
    let (rows, columns) = try checkCostMatrix(costs)
    var assignment = [Int](repeating: -1, count: rows)
    var taken = [Bool](repeating: false, count: columns)
    for _ in 0..<rows {
        var (bestRow, bestColumn) = (-1, -1)
        for r in 0..<rows where assignment[r] < 0 {
            for e in 0..<columns where !taken[e] && (bestRow < 0 || costs[r][e] < costs[bestRow][bestColumn]) {
                (bestRow, bestColumn) = (r, e)
            }
        }
        (assignment[bestRow], taken[bestColumn]) = (bestColumn, true)
    }
    return assignment
}

/// Random matching: a seeded shuffle of the edge servers, of which cluster c
/// takes the c-th. The same seed gives the same matching.
public func randomMatching(clusters: Int, edges: Int, seed: UInt64, round: Int = 0) throws -> [Int] {
    guard clusters <= edges else { throw CloudEdgeError.moreClustersThanEdges(clusters: clusters, edges: edges) }
    var rng = SeededGenerator(seed: seed, stream: 0x3A7C_4E5 &+ UInt64(bitPattern: Int64(round)))
    var order = Array(0..<edges)
    rng.shuffle(&order)
    return Array(order.prefix(clusters))
}

/// Nearest matching: clusters in index order each take, among the edge
/// servers not yet taken, the one with the fastest mean link rate from the
/// cluster's devices (ties to the lowest edge server), ignoring edge speeds
/// and sample counts. An empty cluster takes the lowest free edge server.
public func nearestMatching(clusters: [[Int]], network: NetworkState) throws -> [Int] {
    guard clusters.count <= network.edgeCount else {
        throw CloudEdgeError.moreClustersThanEdges(clusters: clusters.count, edges: network.edgeCount)
    }
    for device in clusters.joined() where !(0..<network.deviceCount).contains(device) {
        throw CloudEdgeError.clientOutOfRange(client: device, clients: network.deviceCount)
    }
    var taken = [Bool](repeating: false, count: network.edgeCount)
    return clusters.map { devices in
        var best = -1
        var bestRate = -Double.infinity
        for e in 0..<network.edgeCount where !taken[e] {
            let total = devices.reduce(0.0) { $0 + network.linkMbps[$1][e] }
            let mean = devices.isEmpty ? 0 : total / Double(devices.count)
            if mean > bestRate { (best, bestRate) = (e, mean) }
        }
        taken[best] = true
        return best
    }
}
