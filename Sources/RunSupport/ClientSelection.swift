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

/// How many clients to select each round out of `clients`: the federated
/// and cloud-edge modes' rule. `clientsPerRound` (`--clients-per-round`)
/// clamped to 1...clients; else `fraction` of them (`fractionOfClients`),
/// at least 1 and at most all; else all.
public func selectionCount(clientsPerRound: Int?, fraction: Double?, of clients: Int) -> Int {
    if let clientsPerRound { return min(max(clientsPerRound, 1), clients) }
    if let share = fractionOfClients(fraction, of: clients) { return min(max(share, 1), clients) }
    return clients
}

/// `fraction` of `clients`, rounded to the nearest whole client, halves
/// away from zero (possibly 0; `selectionCount` takes at least 1); nil
/// without a fraction.
public func fractionOfClients(_ fraction: Double?, of clients: Int) -> Int? {
    fraction.map { Int(($0 * Double(clients)).rounded()) }
}
