/// The ranks of a run as the modes (training, federated) see them: the ring
/// moves of `Transport`, plus the few collectives and the tagged
/// point-to-point messages the modes use. `MPITransport` implements it over
/// an MPI communicator, `LoopbackTransport` over threads and mailboxes in one
/// process, so that a whole run is testable without mpirun.
///
/// Collectives are called by every rank in the same order. Every wait for
/// another rank is bounded by `timeout` and throws when it passes: in one
/// process `CollectiveError.timeout` naming the peer, over MPI the MPI
/// layer's `MPIError` of kind `.timeout` (the timed wait lives there and
/// knows no peer); a wait cancelled by another rank's failure exists only in
/// one process (over MPI the failing rank aborts the job).
public protocol PeerGroup: Transport {
    /// Seconds any wait for another rank may take before it throws (nil:
    /// forever). Under MPI this is the communicator's collective deadline.
    var timeout: Double? { get set }

    /// Replaces `values` by their element-wise sums over all ranks
    /// (collective; every rank passes the same count).
    func sum(_ values: inout [Double]) throws

    /// `root`'s bytes, on every rank (collective; the other ranks' `bytes`
    /// are ignored).
    func broadcast(_ bytes: [UInt8], root: Int) throws -> [UInt8]

    /// Every rank's bytes, in rank order (collective; lengths may differ).
    func allGather(_ bytes: [UInt8]) throws -> [[UInt8]]

    /// Starts sending `bytes` to `destination` with `tag` (0...32767) and
    /// returns without waiting for the receiver.
    func startSend(_ bytes: [UInt8], to destination: Int, tag: Int) throws -> PendingSend

    /// Sends `bytes` to `destination` with `tag`; returns once the bytes
    /// have left (the receiver may not have them yet).
    func send(_ bytes: [UInt8], to destination: Int, tag: Int) throws

    /// The next message with `tag` from `source` (nil: any rank), or nil
    /// when `seconds` pass without one.
    func receive(from source: Int?, tag: Int, waiting seconds: Double) throws -> (source: Int, bytes: [UInt8])?

    /// Splits the group (collective: every rank calls it, in the same order
    /// as the group's other collectives). Ranks passing the same `color`
    /// (>= 0) form a new group, numbered by `key`, ties by their rank here;
    /// a nil color takes no part and gets nil. The new group's messages
    /// never mix with this group's or a sibling's, it inherits `timeout`,
    /// and a rank failing anywhere still ends every wait. A negative color
    /// is refused on every rank (`CollectiveError.invalidArgument`).
    func split(color: Int?, key: Int) throws -> PeerGroup?

    /// Fault injection: this rank stops taking part without exiting. Under
    /// MPI it sleeps forever (the other ranks' deadlines must end the job);
    /// in one process it waits until another rank has failed, then throws.
    func stopResponding() throws -> Never
}

/// A send started by `PeerGroup.startSend`. The group owns the bytes until
/// it completes.
public protocol PendingSend: AnyObject {
    /// True once the send has completed.
    func test() throws -> Bool
    /// Waits until the send completes, at most `timeout` seconds (nil:
    /// forever); throws when the time passes.
    func wait(timeout: Double?) throws
}

extension PeerGroup {
    /// Runs `body` on every rank, then agrees on the outcome (collective: one
    /// `minMax`, plus one `broadcast` on failure). If any rank's `body`
    /// threw, every rank throws `CollectiveError.agreedFailure` carrying the message of the
    /// lowest failing rank, so that the ranks stop together, before any of
    /// them reaches a collective the others will never call.
    public func agree<T>(_ body: () throws -> T) throws -> T {
        var result: Result<T, Error>
        do { result = .success(try body()) } catch { result = .failure(error) }
        var failed = size
        if case .failure = result { failed = rank }
        let first = try minMax([failed])[0].min
        if first == size, case let .success(value) = result { return value }
        var message = ""
        if case let .failure(error) = result, rank == first { message = "\(error)" }
        throw CollectiveError.agreedFailure(rank: first, message: try broadcast(message, root: first))
    }

    /// `root`'s string on every rank (collective).
    public func broadcast(_ text: String, root: Int) throws -> String {
        String(decoding: try broadcast(Array(text.utf8), root: root), as: UTF8.self)
    }

    /// `root`'s flag on every rank (collective).
    public func broadcast(_ flag: Bool, root: Int) throws -> Bool {
        try broadcast([flag ? 1 : 0], root: root) == [1]
    }

    /// Waits for every send in `sends`, each at most `timeout` seconds.
    public func waitAll(_ sends: [PendingSend], timeout: Double?) throws {
        for s in sends { try s.wait(timeout: timeout) }
    }
}
