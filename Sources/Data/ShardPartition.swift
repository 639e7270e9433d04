import Random

/// The pathological non-IID split of McMahan et al. 2017: sort the samples by
/// label (stably, so ties keep index order), cut them into `parts *
/// perPartition` consecutive shards and deal `perPartition` random shards to
/// each partition. With `s = n / shards` and `r = n % shards`, the first
/// `shards - r` shards hold `s` samples and the last `r` hold `s + 1`.
func shardPartition(
    labels: [UInt8], parts: Int, perPartition: Int, rng: inout SeededGenerator
) throws -> [[Int]] {
    guard perPartition >= 1 else {
        throw DataError.invalidPartition("\(perPartition) shards per partition; need at least 1")
    }
    let (shardCount, overflow) = parts.multipliedReportingOverflow(by: perPartition)
    guard !overflow, shardCount <= labels.count else {
        throw DataError.invalidPartition(
            "\(parts) partitions x \(perPartition) shards is more shards than the \(labels.count) samples")
    }
    let byLabel = indicesByClass(labels: labels, classes: 256).flatMap { $0 }
    let small = labels.count / shardCount
    let largeFrom = shardCount - labels.count % shardCount
    // Shard k starts after k small shards and max(0, k - largeFrom) extra samples.
    func shardStart(_ k: Int) -> Int { k * small + max(0, k - largeFrom) }

    var order = Array(0..<shardCount)
    rng.shuffle(&order)
    return (0..<parts).map { p in
        var members: [Int] = []
        for k in order[p * perPartition..<(p + 1) * perPartition] {
            members += byLabel[shardStart(k)..<shardStart(k + 1)]
        }
        return members.sorted()
    }
}
