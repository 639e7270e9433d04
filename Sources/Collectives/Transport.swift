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
    /// `incoming.count` bytes from `source`. Returns when both are done.
    func exchange(
        sending outgoing: UnsafeRawBufferPointer, to destination: Int,
        receiving incoming: UnsafeMutableRawBufferPointer, from source: Int
    ) throws

    /// Sends `outgoing` to `destination` while receiving one message of any
    /// length from `source` into `incoming`, which is resized to fit. Returns
    /// the number of bytes received.
    func exchangeVariable(
        sending outgoing: UnsafeRawBufferPointer, to destination: Int,
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

/// Errors a collective finds before it moves any data. Every rank finds the
/// same error, so every rank throws and none is left waiting.
public enum CollectiveError: AgreedError, Equatable {
    case lengthMismatch(local: Int, min: Int, max: Int)
    case invalidArgument(String)

    public var description: String {
        switch self {
        case let .lengthMismatch(local, min, max):
            return "ranks passed different vector lengths (this rank \(local), smallest \(min), largest \(max))"
        case let .invalidArgument(message):
            return message
        }
    }
}

/// A message that broke the ring's protocol (for example a block of the
/// wrong size). Only the receiving rank sees it, so it aborts the job.
public struct TransportError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
