import Foundation
import MPI

/// `PeerGroup` over MPI: the collectives are MPI's own, the tagged messages
/// go on the same communicator as the ring's (which uses `tag`).
extension MPITransport: PeerGroup {
    /// Seconds any single wait may take before it throws: the
    /// communicator's deadline, the same as its collectives' (nil: forever).
    public var timeout: Double? {
        get { communicator.collectiveTimeout }
        set { communicator.collectiveTimeout = newValue }
    }

    /// `MPI_Allreduce` (sum); not counted in `traffic`.
    public func sum(_ values: inout [Double]) throws {
        try communicator.allReduce(&values, op: .sum)
    }

    /// Two `MPI_Bcast`: the length, then the bytes; not counted in `traffic`.
    public func broadcast(_ bytes: [UInt8], root: Int) throws -> [UInt8] {
        var length = [Int64(bytes.count)]
        try communicator.broadcast(&length, root: root)
        var result = rank == root ? bytes : [UInt8](repeating: 0, count: Int(length[0]))
        try communicator.broadcast(&result, root: root)
        return result
    }

    /// `MPI_Allgather` of the lengths, then `MPI_Allgatherv`; not counted in `traffic`.
    public func allGather(_ bytes: [UInt8]) throws -> [[UInt8]] {
        try communicator.allGatherv(bytes)
    }

    /// `MPI_Isend` from a copy the request owns.
    public func startSend(_ bytes: [UInt8], to destination: Int, tag: Int) throws -> PendingSend {
        MPISend(request: try communicator.isend(MessageBuffer(bytes), to: destination, tag: tag))
    }

    /// `MPI_Send`.
    public func send(_ bytes: [UInt8], to destination: Int, tag: Int) throws {
        try communicator.send(bytes, to: destination, tag: tag)
    }

    /// `MPI_Iprobe` polled until a message is ready (or `seconds` pass),
    /// then `MPI_Recv` of it.
    public func receive(from source: Int?, tag: Int, waiting seconds: Double) throws -> (source: Int, bytes: [UInt8])? {
        guard let status = try communicator.waitForMessage(UInt8.self, from: source, tag: tag, timeout: seconds) else { return nil }
        let (bytes, _) = try communicator.receive(UInt8.self, from: status.source, tag: tag)
        return (status.source, bytes)
    }

    /// `MPI_Comm_split` into a transport with this one's tag and deadline.
    /// `MPI_Comm_split` itself has no deadline: a `minMax` under the
    /// deadline goes first, so a rank that never arrives fails the wait
    /// there, and the colors are checked on every rank before the split.
    public func split(color: Int?, key: Int) throws -> PeerGroup? {
        let colors = try minMax([color ?? 0])[0]
        if colors.min < 0 {
            throw CollectiveError.invalidArgument("split: a rank passed color \(colors.min); colors must be >= 0 (nil leaves a rank out)")
        }
        guard let sub = try communicator.split(color: color, key: key) else { return nil }
        sub.collectiveTimeout = communicator.collectiveTimeout
        return MPITransport(communicator: sub, tag: tag)
    }

    /// Sleeps forever: the others' deadlines, or mpirun's, end the job.
    public func stopResponding() throws -> Never {
        while true { sleep(3600) }
    }
}

/// An `MPI_Isend` in flight.
final class MPISend: PendingSend {
    let request: Request
    init(request: Request) { self.request = request }
    func test() throws -> Bool { try request.test() }
    func wait(timeout: Double?) throws { try request.wait(timeout: timeout) }
}
