import Random

/// How `partition(labels:classes:parts:scheme:seed:)` splits a data set.
public enum PartitionScheme: Sendable, Equatable {
    /// A seeded shuffle cut into near-equal pieces (sizes differ by at most one).
    case iid
    /// The label-skewed split of Hsu, Qi & Brown 2019: each class is divided
    /// between the partitions in proportions drawn from Dirichlet(`alpha`), all
    /// classes redrawn until every partition has at least `minSize` samples.
    /// Small `alpha` (0.1) gives few classes per partition, large (1000) near-iid.
    case dirichlet(alpha: Double, minSize: Int)
    /// The pathological split of McMahan et al. 2017: samples sorted by label,
    /// cut into `parts * perPartition` shards, `perPartition` random shards each.
    case shards(perPartition: Int)
    /// An iid split whose sizes follow `skew` (LEAF's and FedScale's unequal
    /// clients), every partition holding at least `minSize` samples.
    case skewed(SizeSkew, minSize: Int)
}

/// Splits the samples `0..<labels.count` between `parts` partitions.
///
/// Returns `parts` index lists, each sorted ascending; together they hold every
/// index exactly once. The result depends only on the arguments, so every rank
/// computing it with the same `seed` gets the same split.
///
/// - `.iid`: partition sizes differ by at most one (the first
///   `labels.count % parts` partitions get one more).
/// - `.dirichlet`: see `PartitionScheme.dirichlet`; gives up after 1000 draws.
/// - `.skewed`: see `skewedSizes`; a seeded shuffle cut at those sizes.
/// - `.shards(perPartition: k)`: with `s = labels.count / (parts * k)`, every
///   shard has `s` samples except the last `labels.count % (parts * k)` shards
///   in label order, which have `s + 1`, so every partition gets between
///   `k * s` and `k * (s + 1)` samples.
///
/// - Throws: `DataError.invalidPartition` when `parts < 1`, `classes < 1`, a
///   label is not below `classes`, there are more partitions than samples, or
///   the scheme's own parameters are unusable (`alpha` not positive and finite,
///   `minSize` negative or unreachable, `perPartition < 1` or more shards than samples).
public func partition(
    labels: [UInt8], classes: Int, parts: Int, scheme: PartitionScheme, seed: UInt64
) throws -> [[Int]] {
    guard parts >= 1 else {
        throw DataError.invalidPartition("\(parts) partitions requested; need at least 1")
    }
    guard classes >= 1 else {
        throw DataError.invalidPartition("\(classes) classes; need at least 1")
    }
    if let bad = labels.firstIndex(where: { Int($0) >= classes }) {
        throw DataError.invalidPartition("label \(labels[bad]) at index \(bad) is not below \(classes) classes")
    }
    guard parts <= labels.count else {
        throw DataError.invalidPartition("\(parts) partitions but only \(labels.count) samples")
    }
    var rng = SeededGenerator(seed: seed, stream: partitionStream)
    switch scheme {
    case .iid:
        return iidPartition(count: labels.count, parts: parts, rng: &rng)
    case let .dirichlet(alpha, minSize):
        return try dirichletPartition(
            labels: labels, classes: classes, parts: parts, alpha: alpha, minSize: minSize, rng: &rng)
    case let .shards(perPartition):
        return try shardPartition(labels: labels, parts: parts, perPartition: perPartition, rng: &rng)
    case let .skewed(skew, minSize):
        return try skewedPartition(count: labels.count, parts: parts, minSize: minSize, skew: skew, rng: &rng)
    }
}

/// The generator stream of partitioning, so that the same seed used for data
/// and for partitions gives unrelated draws.
private let partitionStream: UInt64 = 0x5041_5254  // "PART"

private func iidPartition(count: Int, parts: Int, rng: inout SeededGenerator) -> [[Int]] {
    var order = Array(0..<count)
    rng.shuffle(&order)
    let base = count / parts
    let larger = count % parts
    var result: [[Int]] = []
    result.reserveCapacity(parts)
    var start = 0
    for p in 0..<parts {
        let size = base + (p < larger ? 1 : 0)
        result.append(order[start..<start + size].sorted())
        start += size
    }
    return result
}

/// The sample indices of each class, ascending.
func indicesByClass(labels: [UInt8], classes: Int) -> [[Int]] {
    var byClass = [[Int]](repeating: [], count: classes)
    for (i, label) in labels.enumerated() { byClass[Int(label)].append(i) }
    return byClass
}
