/// Refuses a batch larger than the smallest partition, naming its holder:
/// partition i belongs to `holder` (a rank, or a client) `firstRank + i`. It depends only on the
/// partitions, so every rank holding all of them reaches the same verdict.
/// - Throws: `DataError.batchTooLarge` naming the smallest partition's holder.
public func checkBatchFits(_ batch: Int, partitions: [[Int]], firstRank: Int, holder: String = "rank") throws {
    guard let smallest = partitions.indices.min(by: { partitions[$0].count < partitions[$1].count }),
          batch > partitions[smallest].count else { return }
    throw DataError.batchTooLarge(batch: batch, rank: firstRank + smallest, samples: partitions[smallest].count, holder: holder)
}
