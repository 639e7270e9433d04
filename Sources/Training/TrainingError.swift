import MPI

/// Training's one error type.
public enum TrainingError: JobError, Equatable {
    /// The ranks' models differ after `step`: a bug or a corrupted rank.
    /// Every rank sees the gathered hashes, so every rank throws it.
    case modelDivergence(step: Int, rank: Int, hash: String, rankZeroHash: String)
    /// A non-finite loss, gradient or weight, or a loss that exploded while
    /// staying finite, on one rank (the job stops); the text names the step,
    /// rank and layer or rate.
    case nonFinite(String)
    /// Settings that do not combine (`TrainConfig.settingsProblem`), found
    /// alike on every rank before any exchange.
    case invalidSettings(String)

    public var raisedOnEveryRank: Bool {
        switch self {
        case .modelDivergence, .invalidSettings: return true
        case .nonFinite: return false
        }
    }

    public var description: String {
        switch self {
        case let .modelDivergence(step, rank, hash, rankZeroHash):
            return "model diverged across ranks at step \(step): rank 0 has sha256 \(rankZeroHash), rank \(rank) has \(hash)"
        case let .nonFinite(message), let .invalidSettings(message):
            return message
        }
    }
}
