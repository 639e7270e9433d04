/// The samples a holder of several partitions needs, and each partition as
/// positions in them: `samples` is the union of `parts`, ascending (what
/// `loadTrainingSubset` takes), and `local[i]` is `parts[i]` with every
/// index replaced by its position in `samples`, in the same order. A
/// sampler over `local[i]` on the loaded subset therefore draws the samples
/// a sampler over `parts[i]` draws on the whole set (its shuffles depend on
/// positions, not values): what a rank serving many virtual clients or
/// devices loads and samples.
public func gatherPartitions(_ parts: [[Int]]) -> (samples: [Int], local: [[Int]]) {
    let samples = Array(Set(parts.joined())).sorted()
    var position = [Int: Int](minimumCapacity: samples.count)
    for (k, i) in samples.enumerated() { position[i] = k }
    return (samples, parts.map { $0.map { position[$0]! } })
}
