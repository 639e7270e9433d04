import Random

/// Seeded choice of `count` clients among `candidates` (ranks, or device
/// indices), the same on every run with the same seed and round: the
/// federated and cloud-edge modes' sampling. Returns them in rank order.
public func selectClients(_ candidates: [Int], count: Int, seed: UInt64, round: Int) -> [Int] {
    guard count < candidates.count else { return candidates.sorted() }
    var rng = SeededGenerator(seed: seed, stream: 0x5E1E_C700 &+ UInt64(round))
    var pool = candidates.sorted()
    rng.shuffle(&pool)
    return Array(pool.prefix(max(count, 0))).sorted()
}
