/// Clusters clients so that each cluster's pooled label distribution is close
/// to the global one: the greedy rule of issue 16, with divergences as in
/// `clusterDivergences` (KL(cluster || global), an empty cluster at infinity).
///
/// 1. The walk. Clients are visited once, in index order, starting at
///    cluster 0. A client joins the current cluster if that lowers its KL
///    strictly and the cluster may grow (below). Otherwise, if the current
///    cluster has members and is not the last, the walk moves to the next
///    cluster and the client joins it if that lowers its KL (an empty
///    cluster's KL is infinite, so any client with a sample does). A client
///    that joins no cluster remains for steps 2 and 3.
/// 2. The minimum size. In index order, each cluster below `minimumSize`
///    takes, one at a time, the remaining client that leaves its KL lowest.
/// 3. Left-overs. Each client still remaining, in index order, joins the
///    cluster whose KL it changes least in the signed sense: the smallest
///    new-minus-old KL, so a cluster it lowers most wins and, if it lowers
///    none, the one it raises least. Only that cluster's KL changes, so this
///    is the choice that leaves the sum (and mean) of the clusters' KLs
///    lowest; the absolute change would prefer a cluster the client barely
///    moves over one it brings to the global distribution.
///
/// A cluster may grow past `minimumSize` only while the clients left over
/// for the clusters still below it suffice: the sum over clusters of
/// max(size, `minimumSize`) never exceeds the client count. This is what
/// closes a cluster that every client would improve (so that K clusters
/// exist), and it makes step 2 always complete; so the case of
/// fewer clients remaining than a cluster lacks never arises, and every
/// client remaining after step 2 takes step 3.
///
/// With `maximumSize` (at least ceil(clients / count), so that every client
/// fits), no cluster grows past it in any step: the walk moves on from a
/// full cluster, and left-overs choose among clusters with room. Balanced
/// sizes keep one big cluster from pooling most of the labels while a small
/// one keeps a skewed few (measured in docs/cloud-edge.md: without a cap the
/// walk's clusters were further from the global distribution than random
/// ones of even sizes).
///
/// Ties go to the lowest client, then the lowest cluster: the same
/// histograms give the same clusters. Returns `count` clusters, each of at
/// least `minimumSize` clients, in the order the walk opened them, each
/// listing its clients in increasing order; together they hold every client
/// once. `histograms` holds one row of label counts per client.
public func klClusters(histograms: [[Int]], count: Int, minimumSize: Int, maximumSize: Int? = nil) throws -> [[Int]] {
    let clients = histograms.count
    try checkClusterSizes(clients: clients, count: count, minimumSize: minimumSize)
    let capacity = maximumSize ?? clients
    guard capacity >= (clients + count - 1) / count else {
        throw CloudEdgeError.maximumSizeTooSmall(maximumSize: capacity, count: count, clients: clients)
    }
    let global = try globalDistribution(histograms)
    var members = [[Int]](repeating: [], count: count)
    var pooled = [[Int]](repeating: [Int](repeating: 0, count: global.count), count: count)
    var kl = [Double](repeating: .infinity, count: count)

    func divergence(of cluster: Int, adding client: Int) -> Double {
        klDivergence(counts: zip(pooled[cluster], histograms[client]).map { $0 + $1 }, global: global)
    }
    func add(_ client: Int, to cluster: Int) {
        members[cluster].append(client)
        for (label, n) in histograms[client].enumerated() { pooled[cluster][label] += n }
        kl[cluster] = klDivergence(counts: pooled[cluster], global: global)
    }
    func mayGrow(_ cluster: Int) -> Bool {
        guard members[cluster].count < capacity else { return false }
        return members[cluster].count < minimumSize
            || members.reduce(0) { $0 + max($1.count, minimumSize) } < clients
    }
    func joins(_ client: Int, _ cluster: Int) -> Bool {
        guard mayGrow(cluster), divergence(of: cluster, adding: client) < kl[cluster] else { return false }
        add(client, to: cluster)
        return true
    }

    var remaining: [Int] = []
    var current = 0
    for client in 0..<clients {
        if joins(client, current) { continue }
        if current + 1 < count, !members[current].isEmpty {
            current += 1
            if joins(client, current) { continue }
        }
        remaining.append(client)
    }

    for cluster in 0..<count {
        while members[cluster].count < minimumSize {
            precondition(!remaining.isEmpty, "the growth rule leaves enough clients for every minimum")
            var best = 0
            var bestDivergence = divergence(of: cluster, adding: remaining[0])
            for (i, client) in remaining.enumerated().dropFirst() {
                let d = divergence(of: cluster, adding: client)
                if d < bestDivergence { (best, bestDivergence) = (i, d) }
            }
            add(remaining.remove(at: best), to: cluster)
        }
    }

    for client in remaining {
        var best: Int?
        var bestChange = Double.infinity
        for cluster in 0..<count where members[cluster].count < capacity {
            let change = divergenceChange(from: kl[cluster], to: divergence(of: cluster, adding: client))
            if best == nil || change < bestChange { (best, bestChange) = (cluster, change) }
        }
        add(client, to: best!)  // capacity x count >= clients: some cluster has room
    }
    return members.map { $0.sorted() }
}

/// to - from (signed), and 0 when both are infinite (a client with no sample
/// joining a cluster with none); -infinity when a client brings the first
/// sample to a cluster.
private func divergenceChange(from: Double, to: Double) -> Double {
    from == to ? 0 : to - from
}

/// Checks that `count` clusters of at least `minimumSize` can be made of `clients` clients.
func checkClusterSizes(clients: Int, count: Int, minimumSize: Int) throws {
    guard count >= 1 else { throw CloudEdgeError.tooFewClusters(count: count) }
    guard count <= clients else { throw CloudEdgeError.moreClustersThanClients(count: count, clients: clients) }
    guard minimumSize >= 1 else { throw CloudEdgeError.minimumSizeTooSmall(minimumSize: minimumSize) }
    let (needed, overflow) = minimumSize.multipliedReportingOverflow(by: count)
    guard !overflow, needed <= clients else {
        throw CloudEdgeError.minimumSizeTooLarge(minimumSize: minimumSize, count: count, clients: clients)
    }
}
