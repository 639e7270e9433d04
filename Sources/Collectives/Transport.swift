import MPI

/// The point-to-point moves a ring collective needs. The same ring code runs
/// over MPI (`MPITransport`) and over threads in one process
/// (`LoopbackTransport`), so that the maths is testable without mpirun.
///
/// Every method is called by every rank of the ring in the same order.
/// Implementations count what they move in `traffic`.
public protocol Transport: AnyObject {
    /// This rank, 0..<size.
    var rank: Int { get }
    /// The number of ranks in the ring.
    var size: Int { get }
    /// What this rank has sent and received so far (bytes and messages; the
    /// collectives add the seconds).
    var traffic: TrafficStats { get set }

    /// Sends `outgoing` to `destination` while receiving exactly
    /// `incoming.byteCount` bytes from `source`. Returns when both are done.
    /// The spans are borrowed for the call only: no implementation keeps a
    /// pointer into them once it returns or throws (a timed-out MPI request
    /// works on its own staging copy).
    func exchange(
        sending outgoing: RawSpan, to destination: Int,
        receiving incoming: inout MutableRawSpan, from source: Int
    ) throws

    /// Sends `outgoing` to `destination` while receiving one message of any
    /// length from `source` into `incoming`, which is resized to fit. Returns
    /// the number of bytes received.
    func exchangeVariable(
        sending outgoing: RawSpan, to destination: Int,
        receivingFrom source: Int, into incoming: inout [UInt8]
    ) throws -> Int

    /// The minimum and maximum of each of `values` over all ranks (every
    /// rank passes the same number of values).
    func minMax(_ values: [Int]) throws -> [(min: Int, max: Int)]
}

/// Per-rank traffic of one or more collective calls.
public struct TrafficStats: Sendable, Equatable {
    public var bytesSent: Int = 0
    public var bytesReceived: Int = 0
    public var messagesSent: Int = 0
    public var messagesReceived: Int = 0
    /// Wall-clock seconds spent inside collective calls.
    public var seconds: Double = 0

    public init() {}

    public static func + (a: TrafficStats, b: TrafficStats) -> TrafficStats {
        var r = a
        r.bytesSent += b.bytesSent
        r.bytesReceived += b.bytesReceived
        r.messagesSent += b.messagesSent
        r.messagesReceived += b.messagesReceived
        r.seconds += b.seconds
        return r
    }

    public static func - (a: TrafficStats, b: TrafficStats) -> TrafficStats {
        var r = a
        r.bytesSent -= b.bytesSent
        r.bytesReceived -= b.bytesReceived
        r.messagesSent -= b.messagesSent
        r.messagesReceived -= b.messagesReceived
        r.seconds -= b.seconds
        return r
    }
}

/// Collectives' one error type: what a collective, a ring or a peer wait
/// can go wrong with. The argument checks (`lengthMismatch`,
/// `invalidArgument`), `agreedFailure` and the benchmarks' mismatches are
/// found by every rank alike, so every rank throws and none is left waiting;
/// the others are seen by one rank only, and end the job.
public enum CollectiveError: JobError, Equatable {
    /// Ranks passed different vector lengths to a collective.
    case lengthMismatch(local: Int, min: Int, max: Int)
    /// Ranks passed arguments that cannot work together.
    case invalidArgument(String)
    /// A message that broke the ring's or a group's protocol (for example a
    /// block of the wrong size, or a send to a rank outside the group).
    case brokenProtocol(String)
    /// Nothing arrived from `peer` (nil: any rank) within `seconds`, in the
    /// in-process group (`MPITransport`'s waits throw `MPIError.timeout`).
    case timeout(rank: Int, peer: Int?, seconds: Double, operation: String)
    /// Rank `failed` threw `message`, so this rank's wait was cancelled (in
    /// one process, where a failed rank cannot abort the others).
    case cancelled(rank: Int, failed: Int, message: String)
    /// `PeerGroup.agree` found that some rank failed: the message of the
    /// lowest failing rank, on every rank.
    case agreedFailure(rank: Int, message: String)
    /// The dense ring disagreed with `MPI_Allreduce` beyond float tolerance.
    case ringMismatch(size: Int, maxAbsError: Double, tolerance: Double)
    /// The sparse ring disagreed with `MPI_Allreduce` of the densified inputs.
    case sparseRingMismatch(policy: SparseReducePolicy, size: Int, maxAbsError: Double, tolerance: Double)

    public var raisedOnEveryRank: Bool {
        switch self {
        case .lengthMismatch, .invalidArgument, .agreedFailure, .ringMismatch, .sparseRingMismatch: return true
        case .brokenProtocol, .timeout, .cancelled: return false
        }
    }

    public var description: String {
        switch self {
        case let .lengthMismatch(local, min, max):
            return "ranks passed different vector lengths (this rank \(local), smallest \(min), largest \(max))"
        case let .invalidArgument(message), let .brokenProtocol(message), let .agreedFailure(_, message):
            return message
        case let .timeout(rank, peer, seconds, operation):
            let from = peer.map { "rank \($0)" } ?? "any rank"
            return "rank \(rank): \(operation): nothing arrived from \(from) within \(seconds) s; a peer is gone or stuck"
        case let .cancelled(rank, failed, message):
            return "rank \(rank): stopped waiting because rank \(failed) failed: \(message)"
        case let .ringMismatch(size, maxAbsError, tolerance):
            return "ring all-reduce of \(size) floats differs from MPI_Allreduce by \(maxAbsError) (tolerance \(tolerance))"
        case let .sparseRingMismatch(policy, size, maxAbsError, tolerance):
            return "sparse ring (\(policy.rawValue)) of \(size) floats differs from MPI_Allreduce of the densified inputs by \(maxAbsError) (tolerance \(tolerance))"
        }
    }
}
