import Random

/// A uniform sample of at most `capacity` rows from a stream of rows of
/// `width` activations and a label each, whatever the stream's length:
/// reservoir sampling (Vitter's algorithm R). The first `capacity` rows fill
/// the reservoir; row n (0-based) after that replaces the slot drawn
/// uniformly from 0...n if that slot is below `capacity`. Every row of the
/// stream ends up kept with the same probability, capacity / rows seen.
struct SampleReservoir {
    let capacity: Int
    let width: Int
    private var rng: SeededGenerator
    private(set) var seen = 0
    private(set) var floats: [Float] = []
    private(set) var labels: [Int32] = []

    init(capacity: Int, width: Int, rng: SeededGenerator) {
        (self.capacity, self.width, self.rng) = (capacity, width, rng)
    }

    /// The generator of edge server `edge`'s reservoir in round `round`:
    /// a stream of the seed and the round, then one per edge server, so
    /// every (seed, round, edge) draws its own sample.
    static func generator(seed: UInt64, round: Int, edge: Int) -> SeededGenerator {
        var perRound = SeededGenerator(seed: seed, stream: 0xD157_5A4D &+ UInt64(bitPattern: Int64(round)))
        return SeededGenerator(seed: perRound.next(), stream: UInt64(edge))
    }

    /// Offers the rows of `features` (rows x width) with their `labels`.
    mutating func offer(features: [Float], labels rowLabels: [Int32]) {
        precondition(features.count == rowLabels.count * width, "one row of \(width) activations per label")
        for row in rowLabels.indices {
            let slot = seen < capacity ? seen : rng.nextIndex(below: seen + 1)
            seen += 1
            guard slot < capacity else { continue }
            let values = features[row * width..<(row + 1) * width]
            if slot == labels.count {
                floats += values
                labels.append(rowLabels[row])
            } else {
                floats.replaceSubrange(slot * width..<(slot + 1) * width, with: values)
                labels[slot] = rowLabels[row]
            }
        }
    }
}
