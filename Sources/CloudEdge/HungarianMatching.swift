/// The one-to-one matching of clusters (rows) to edge servers (columns) of
/// least total cost: the Hungarian method (Kuhn-Munkres) in its shortest
/// augmenting path form, O(K^2 E) for K rows and E >= K columns.
///
/// Returns `assignment`, where row r goes to column `assignment[r]`, all
/// distinct. Costs may be of any sign but must be finite. Ties between
/// optimal matchings are settled by the scan order (lowest column first),
/// so the same matrix gives the same matching.
///
/// How it works: dual potentials u (rows) and v (columns) keep every
/// reduced cost c[r][e] - u[r] - v[e] non-negative, and zero on matched
/// pairs. Rows join the matching one at a time. For a new row, a Dijkstra
/// search over reduced costs grows a tree of rows and columns along tight
/// edges; each step shifts the potentials of the tree by the least slack
/// to a column outside it (keeping every reduced cost non-negative and
/// making one more edge tight), then takes that column. A free column ends
/// the search and the path to it is flipped. Columns leave v = 0 until they
/// are matched and v only falls, so for any matching M', cost(M') >=
/// sum u + sum over M' of v >= sum u + sum over all columns of v = cost of
/// the matching found: it is optimal, also when E > K.
public func optimalMatching(costs: [[Double]]) throws -> [Int] {
    let (rows, columns) = try checkCostMatrix(costs)
    var u = [Double](repeating: 0, count: rows)
    var v = [Double](repeating: 0, count: columns)
    var columnOwner = [Int](repeating: -1, count: columns)
    var rowColumn = [Int](repeating: -1, count: rows)

    for start in 0..<rows {
        // slack[e]: least reduced cost from a tree row to column e; via[e]: that row.
        var slack = (0..<columns).map { costs[start][$0] - v[$0] }
        var via = [Int](repeating: start, count: columns)
        var inTree = [Bool](repeating: false, count: columns)
        var treeRows = [start]
        var reached = -1
        while reached < 0 {
            var next = -1
            for e in 0..<columns where !inTree[e] && (next < 0 || slack[e] < slack[next]) { next = e }
            let delta = slack[next]
            for r in treeRows { u[r] += delta }
            for e in 0..<columns {
                if inTree[e] { v[e] -= delta } else { slack[e] -= delta }
            }
            inTree[next] = true
            let owner = columnOwner[next]
            if owner < 0 {
                reached = next
            } else {
                treeRows.append(owner)
                for e in 0..<columns where !inTree[e] {
                    let reduced = costs[owner][e] - u[owner] - v[e]
                    if reduced < slack[e] { (slack[e], via[e]) = (reduced, owner) }
                }
            }
        }
        // Flip the path: each row on it takes the column it was reached through.
        var column = reached
        while true {
            let row = via[column]
            let previous = rowColumn[row]
            (rowColumn[row], columnOwner[column]) = (column, row)
            if row == start { break }
            column = previous
        }
    }
    return rowColumn
}

/// The total cost of `assignment` (row r to column `assignment[r]`), summed in row order.
public func matchingCost(costs: [[Double]], assignment: [Int]) -> Double {
    precondition(assignment.count == costs.count, "one column per row")
    return zip(costs, assignment).reduce(0) { $0 + $1.0[$1.1] }
}

/// Checks that `costs` is a K x E matrix of finite entries with K <= E and
/// returns (K, E); an empty matrix is 0 x 0.
func checkCostMatrix(_ costs: [[Double]]) throws -> (rows: Int, columns: Int) {
    let columns = costs.first?.count ?? 0
    for (r, row) in costs.enumerated() {
        guard row.count == columns else {
            throw CloudEdgeError.raggedCostMatrix(row: r, columns: row.count, expected: columns)
        }
        if let e = row.firstIndex(where: { !$0.isFinite }) { throw CloudEdgeError.nonFiniteCost(row: r, column: e) }
    }
    guard costs.count <= columns else { throw CloudEdgeError.moreClustersThanEdges(clusters: costs.count, edges: columns) }
    return (costs.count, columns)
}
