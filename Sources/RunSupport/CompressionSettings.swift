import Collectives

/// Where SGD's momentum goes when gradients are compressed.
public enum SparseMomentum: String, CaseIterable, Sendable {
    /// Plain SGD at the momentum-equivalent rate lr / (1 - momentum): with
    /// error feedback this matches dense momentum SGD (docs/design.md).
    case fold
    /// DGC's momentum correction: momentum accumulated locally before
    /// selection, cleared where sent; the optimizer has no momentum.
    case correction
    /// Momentum in the optimizer, on the averaged sparse gradient.
    case optimizer
}

/// Group-TopK settings of a run.
public struct CompressionSettings: Sendable, Equatable {
    public var groupSize = 1024
    public var ratio = 0.01
    /// `reselect` needs `errorFeedback`: the residual is where it keeps the
    /// mass its merges drop (the command line refuses the combination).
    public var policy: SparseReducePolicy = .exact
    public var errorFeedback = true
    public var momentum: SparseMomentum = .fold

    public init() {}
}
