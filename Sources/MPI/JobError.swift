/// An error that knows whether every rank raised it at the same point of the
/// program: bad input that all ranks checked and agreed on before any
/// collective call, or a collective's own argument check. The error types
/// of Collectives and of the modes conform and answer case by case; the
/// others (MPIError, and the errors of Compression, Data, NN and RunSupport)
/// do not, so they abort the job unless the caller agreed them first
/// (`PeerGroup.agree`). The command line prints an
/// agreed error once, from rank 0, and every rank exits with status 1 after
/// finalizing, so no rank is left waiting. Any other error aborts the whole
/// job (`MPIEnvironment.terminate(after:program:)`).
public protocol JobError: Error, CustomStringConvertible {
    /// True when every rank raised this error at the same point.
    var raisedOnEveryRank: Bool { get }
}
