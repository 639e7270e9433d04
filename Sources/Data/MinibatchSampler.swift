import Random

/// An endless, seeded stream of minibatches over a fixed set of sample indices.
///
/// The indices are visited in a seeded random order; when a pass is used up
/// the order is reshuffled by the same generator and drawing continues, so
/// every batch has exactly `batchSize` indices and a batch may straddle two
/// passes. Within a pass every index appears exactly once. `state` captures
/// everything, so a restored sampler continues with exactly the same batches.
public struct MinibatchSampler: Sendable {
    /// Everything needed to continue a sampler's sequence (for checkpoints).
    public struct State: Sendable, Codable, Equatable {
        /// The four words of the generator's xoshiro256** state.
        public var generator: [UInt64]
        /// The order of the current pass.
        public var permutation: [Int]
        /// How many indices of the current pass have been drawn.
        public var position: Int
        /// Completed passes.
        public var passes: Int

        public init(generator: [UInt64], permutation: [Int], position: Int, passes: Int) {
            self.generator = generator
            self.permutation = permutation
            self.position = position
            self.passes = passes
        }
    }

    /// Indices per batch.
    public let batchSize: Int
    /// Completed passes over the indices: it goes up by one as soon as a
    /// batch takes the last index of a pass.
    public private(set) var passes: Int
    private var generator: SeededGenerator
    private var permutation: [Int]
    private var position: Int

    /// A sampler over `indices` (at least one; repeats are treated as distinct
    /// samples) with the generator `SeededGenerator(seed: seed, stream: stream)`.
    /// `batchSize` must be positive and may exceed `indices.count`.
    public init(indices: [Int], batchSize: Int, seed: UInt64, stream: UInt64) {
        precondition(!indices.isEmpty, "a sampler needs at least one index")
        precondition(batchSize > 0, "batch size must be positive")
        self.batchSize = batchSize
        self.passes = 0
        self.generator = SeededGenerator(seed: seed, stream: stream)
        self.permutation = indices
        self.position = 0
        generator.shuffle(&permutation)
    }

    /// Restores a sampler from `state`, which must come from a sampler over
    /// the same `indices` (in any order) and the same `batchSize`.
    public init(indices: [Int], batchSize: Int, state: State) {
        precondition(batchSize > 0, "batch size must be positive")
        precondition(state.generator.count == 4, "generator state must have 4 words")
        precondition(
            state.permutation.count == indices.count && state.permutation.sorted() == indices.sorted(),
            "saved sampler state is for different indices")
        precondition(
            state.position >= 0 && state.position < state.permutation.count && state.passes >= 0,
            "saved sampler position is out of range")
        let g = state.generator
        self.batchSize = batchSize
        self.passes = state.passes
        self.generator = SeededGenerator(state: (g[0], g[1], g[2], g[3]))
        self.permutation = state.permutation
        self.position = state.position
    }

    /// The sampler's complete state; see `init(indices:batchSize:state:)`.
    public var state: State {
        let g = generator.state
        return State(generator: [g.0, g.1, g.2, g.3], permutation: permutation, position: position, passes: passes)
    }

    /// The next `batchSize` indices.
    public mutating func next() -> [Int] {
        var batch: [Int] = []
        batch.reserveCapacity(batchSize)
        while batch.count < batchSize {
            let take = min(batchSize - batch.count, permutation.count - position)
            batch += permutation[position..<position + take]
            position += take
            if position == permutation.count {
                passes += 1
                position = 0
                generator.shuffle(&permutation)
            }
        }
        return batch
    }
}
