import Random

/// A client's emulated slowness, seeded and reproducible.
///
/// After every local step the client really waits
///     (factor x (slow ? slowdownFactor : 1) - 1) x the step's measured compute time,
/// so wall clocks and the client's own per-step timings both see it. Before
/// each step it may enter a slow state for `slowdownSteps` steps, with
/// probability `slowdownProbability` (the in-round change the autonomy seed
/// is about).
public struct ClientSpeedModel: Sendable {
    public let factor: Double
    public let slowdownProbability: Double
    public let slowdownFactor: Double
    public let slowdownSteps: Int
    public private(set) var rng: SeededGenerator
    public private(set) var slowStepsLeft = 0

    public init(factor: Double, slowdownProbability: Double, slowdownFactor: Double, slowdownSteps: Int,
                seed: UInt64, rank: Int) {
        self.factor = factor
        self.slowdownProbability = slowdownProbability
        self.slowdownFactor = slowdownFactor
        self.slowdownSteps = slowdownSteps
        rng = SeededGenerator(seed: seed, stream: 0x510E_0000 &+ UInt64(rank))
    }

    /// Restores the random state (checkpoints).
    public mutating func restore(state: (UInt64, UInt64, UInt64, UInt64), slowStepsLeft: Int) {
        rng = SeededGenerator(state: state)
        self.slowStepsLeft = slowStepsLeft
    }

    /// Decides, before a step, whether this step is slow.
    public mutating func beginStep() -> Bool {
        if slowStepsLeft == 0 && slowdownProbability > 0 && rng.nextUnit() < slowdownProbability {
            slowStepsLeft = slowdownSteps
        }
        if slowStepsLeft > 0 {
            slowStepsLeft -= 1
            return true
        }
        return false
    }

    /// Seconds to wait after a step that computed for `computeSeconds`.
    public func extraWait(computeSeconds: Double, slow: Bool) -> Double {
        max(0, (factor * (slow ? slowdownFactor : 1) - 1) * computeSeconds)
    }
}

/// Seconds a transfer of `bytes` takes on a link of `megabitsPerSecond`
/// (the `--client-bandwidth` model; nil: no model).
public func linkSeconds(bytes: Int, megabitsPerSecond: Double?) -> Double {
    guard let rate = megabitsPerSecond, rate > 0 else { return 0 }
    return Double(bytes) * 8 / (rate * 1e6)
}
