/// The error every rank throws when `Communicator.agree` finds that some
/// rank failed: the message of the lowest failing rank, on every rank.
public struct AgreedFailure: AgreedError {
    /// The lowest rank whose check failed.
    public let rank: Int
    public let message: String
    public var description: String { message }
}

extension Communicator {
    /// Runs `body` on every rank, then agrees on the outcome (collective:
    /// one `MPI_Allreduce`, plus two `MPI_Bcast` on failure). If any rank's
    /// `body` threw, every rank throws `AgreedFailure` carrying the message of
    /// the lowest failing rank, so that the job stops together, before any
    /// rank reaches a collective the others will never call.
    public func agree<T>(_ body: () throws -> T) throws -> T {
        var result: Result<T, Error>
        do { result = .success(try body()) } catch { result = .failure(error) }
        let failed: Int32
        if case .failure = result { failed = Int32(rank) } else { failed = Int32(size) }
        let first = Int(try allReduce(failed, op: .min))
        if first == size, case let .success(value) = result { return value }
        var message = ""
        if case let .failure(error) = result, rank == first { message = "\(error)" }
        throw AgreedFailure(rank: first, message: try broadcast(message, root: first))
    }
}

extension Communicator {
    /// `root`'s string on every rank (collective: two `MPI_Bcast`).
    public func broadcast(_ text: String, root: Int) throws -> String {
        var bytes = Array(text.utf8)
        var length = [Int64(bytes.count)]
        try broadcast(&length, root: root)
        if rank != root { bytes = [UInt8](repeating: 0, count: Int(length[0])) }
        try broadcast(&bytes, root: root)
        return String(decoding: bytes, as: UTF8.self)
    }
}
