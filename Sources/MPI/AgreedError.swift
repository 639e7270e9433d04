/// An error that every rank raises at the same point of the program: bad
/// input that all ranks checked and agreed on before any collective call, or
/// a collective's own argument check. The command line prints such an error
/// once, from rank 0, and every rank exits with status 1 after finalizing,
/// so no rank is left waiting. Any other error aborts the whole job.
public protocol AgreedError: Error, CustomStringConvertible {}
