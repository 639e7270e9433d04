import Random

/// `n` standard normal Floats from `seed`: the same values on every run.
func gaussian(_ n: Int, seed: UInt64) -> [Float] {
    var rng = SeededGenerator(seed: seed)
    return (0..<n).map { _ in Float(rng.nextGaussian()) }
}
