import Random

/// Most draws `dirichletPartition` makes before giving up on `minSize`.
let dirichletMaxAttempts = 1000

/// The label-Dirichlet split (Hsu, Qi & Brown 2019) with the minimum-size
/// redraw loop of the common reference implementation: for each class,
/// shuffle its samples, draw p ~ Dir(alpha) over the partitions and cut the
/// class at the cumulative proportions; redraw everything while a partition
/// has fewer than `minSize` samples.
func dirichletPartition(
    labels: [UInt8], classes: Int, parts: Int, alpha: Double, minSize: Int, rng: inout SeededGenerator
) throws -> [[Int]] {
    guard alpha > 0, alpha.isFinite else {
        throw DataError.invalidPartition("Dirichlet alpha must be positive and finite, got \(alpha)")
    }
    guard minSize >= 0 else {
        throw DataError.invalidPartition("minimum partition size must not be negative, got \(minSize)")
    }
    let (needed, overflow) = minSize.multipliedReportingOverflow(by: parts)
    guard !overflow, needed <= labels.count else {
        throw DataError.invalidPartition(
            "\(parts) partitions of at least \(minSize) samples need more than the \(labels.count) samples")
    }
    let byClass = indicesByClass(labels: labels, classes: classes)
    for _ in 0..<dirichletMaxAttempts {
        var result = [[Int]](repeating: [], count: parts)
        for classIndices in byClass {
            var members = classIndices
            rng.shuffle(&members)
            let proportions = rng.nextDirichlet(alpha: alpha, count: parts)
            var cumulative = 0.0
            var start = 0
            for p in 0..<parts {
                cumulative += proportions[p]
                // The last cut is the end of the class whatever rounding did.
                let end = p == parts - 1
                    ? members.count
                    : min(max(Int(cumulative * Double(members.count)), start), members.count)
                result[p] += members[start..<end]
                start = end
            }
        }
        if result.allSatisfy({ $0.count >= minSize }) {
            return result.map { $0.sorted() }
        }
    }
    throw DataError.invalidPartition(
        "Dirichlet alpha \(alpha) gave some of \(parts) partitions fewer than \(minSize) samples "
            + "in all \(dirichletMaxAttempts) draws (\(labels.count) samples); "
            + "use a larger alpha, a smaller minimum size or fewer partitions")
}
