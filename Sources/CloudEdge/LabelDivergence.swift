import Foundation

/// The KL divergence, in nats, of each cluster's pooled label distribution
/// from the global one: KL(cluster || global) = sum over labels of
/// p ln(p / g), where p is the cluster's share of the label in its pooled
/// counts and g the label's share in all clients' counts together.
///
/// `histograms` holds one row of label counts per client (as `labelHistogram`
/// gives); `clusters` holds client indices (any subsets). A label the
/// cluster lacks adds 0 (0 ln 0 = 0); no smoothing is needed, since any label
/// a cluster holds the global distribution holds too. A cluster with no
/// samples has divergence infinity. Equal distributions give bitwise equal
/// divergences (each share is one rounded division of exact integers).
public func clusterDivergences(histograms: [[Int]], clusters: [[Int]]) throws -> [Double] {
    let global = try globalDistribution(histograms)
    return try clusters.map { members in
        for client in members where !histograms.indices.contains(client) {
            throw CloudEdgeError.clientOutOfRange(client: client, clients: histograms.count)
        }
        return klDivergence(counts: pooledCounts(members, histograms), global: global)
    }
}

/// The global label distribution: the counts of all clients summed per
/// label, divided by their total. Checks that the rows have one width, that
/// no count is negative and that some count is positive.
func globalDistribution(_ histograms: [[Int]]) throws -> [Double] {
    let classes = histograms.first?.count ?? 0
    var pooled = [Int](repeating: 0, count: classes)
    for (client, row) in histograms.enumerated() {
        guard row.count == classes else {
            throw CloudEdgeError.raggedHistogram(client: client, classes: row.count, expected: classes)
        }
        for (label, count) in row.enumerated() {
            guard count >= 0 else { throw CloudEdgeError.negativeCount(client: client, label: label, count: count) }
            pooled[label] += count
        }
    }
    let total = pooled.reduce(0, +)
    guard total > 0 else { throw CloudEdgeError.emptyGlobalDistribution(clients: histograms.count) }
    return pooled.map { Double($0) / Double(total) }
}

/// The label counts of `members` summed per label.
func pooledCounts(_ members: [Int], _ histograms: [[Int]]) -> [Int] {
    var pooled = [Int](repeating: 0, count: histograms.first?.count ?? 0)
    for client in members {
        for (label, count) in histograms[client].enumerated() { pooled[label] += count }
    }
    return pooled
}

/// KL(p || global) in nats for p = `counts` / their total, with 0 ln 0 = 0;
/// infinity when `counts` hold no sample. Every label with a positive count
/// must have a positive global share.
func klDivergence(counts: [Int], global: [Double]) -> Double {
    let total = counts.reduce(0, +)
    guard total > 0 else { return .infinity }
    var sum = 0.0
    for (label, count) in counts.enumerated() where count > 0 {
        let p = Double(count) / Double(total)
        sum += p * log(p / global[label])
    }
    return sum
}
