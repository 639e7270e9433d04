import MPI

/// Federated's one error type: one line saying what is wrong, naming the
/// setting, peer or round where there is one.
public enum FederatedError: JobError, Equatable {
    /// A setting that cannot work with this many ranks. Every rank finds it
    /// before any collective call, so every rank stops together.
    case setup(String)
    /// A failure on one rank (the job aborts): a silent peer, a malformed
    /// message, a failed checkpoint.
    case failed(String)
    /// An upload the coordinator refuses: counted and left out of the round,
    /// never thrown out of the module.
    case rejectedUpload(String)

    public var raisedOnEveryRank: Bool {
        if case .setup = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case let .setup(message), let .failed(message), let .rejectedUpload(message): return message
        }
    }
}
