import MPI

/// A `Transport` over an MPI communicator. Exchanges are `MPI_Isend` plus a
/// receive; a variable-length receive probes for the size first. Bytes go as
/// `MPI_BYTE`-sized UInt8, so every rank must share one float format (true of
/// any cluster of one architecture).
public final class MPITransport: Transport {
    public let communicator: Communicator
    public var traffic = TrafficStats()
    /// Tag for this transport's messages, so that it can share a communicator.
    public let tag: Int
    /// The copies MPI sends from and receives into, kept between exchanges:
    /// a ring step reuses them instead of allocating its chunk twice.
    private var sendStaging: MessageBuffer<UInt8>?
    private var receiveStaging: MessageBuffer<UInt8>?

    public init(communicator: Communicator, tag: Int = 100) {
        self.communicator = communicator
        self.tag = tag
    }

    public var rank: Int { communicator.rank }
    public var size: Int { communicator.size }

    public func exchange(
        sending outgoing: RawSpan, to destination: Int,
        receiving incoming: inout MutableRawSpan, from source: Int
    ) throws {
        let expected = incoming.byteCount
        let received = try incoming.withUnsafeMutableBytes { incomingBytes in
            try outgoing.withUnsafeBytes { outgoingBytes in
                let into = incomingBytes.bindMemory(to: UInt8.self)
                return try communicator.withPendingSend(outgoingBytes.bindMemory(to: UInt8.self), to: destination, tag: tag,
                                                        timeout: timeout, staging: &sendStaging) {
                    if let timeout {
                        return try communicator.receive(into: into, from: source, tag: tag, timeout: timeout,
                                                        staging: &receiveStaging)
                    }
                    return try communicator.receive(into: into, from: source, tag: tag)
                }.count
            }
        }
        guard received == expected else {
            throw CollectiveError.brokenProtocol("rank \(source) sent \(received) bytes where \(expected) were expected")
        }
        count(sent: outgoing.byteCount, received: received)
    }

    public func exchangeVariable(
        sending outgoing: RawSpan, to destination: Int,
        receivingFrom source: Int, into incoming: inout [UInt8]
    ) throws -> Int {
        let received = try outgoing.withUnsafeBytes { outgoingBytes in
            try communicator.withPendingSend(outgoingBytes.bindMemory(to: UInt8.self), to: destination, tag: tag,
                                             timeout: timeout, staging: &sendStaging) {
                let probed = try communicator.probe(UInt8.self, from: source, tag: tag, timeout: timeout)
                if incoming.count < probed.count { incoming = [UInt8](repeating: 0, count: probed.count) }
                return try incoming.withUnsafeMutableBufferPointer {
                    try communicator.receive(into: UnsafeMutableBufferPointer(rebasing: $0[0..<probed.count]),
                                             from: source, tag: tag).count
                }
            }
        }
        count(sent: outgoing.byteCount, received: received)
        return received
    }

    /// One `MPI_Allreduce` (min) of (values, -values); not counted in `traffic`.
    public func minMax(_ values: [Int]) throws -> [(min: Int, max: Int)] {
        var v = values.map { Int64($0) } + values.map { -Int64($0) }
        try communicator.allReduce(&v, op: .min)
        return (0..<values.count).map { (Int(v[$0]), Int(-v[values.count + $0])) }
    }

    private func count(sent: Int, received: Int) {
        traffic.bytesSent += sent
        traffic.bytesReceived += received
        traffic.messagesSent += 1
        traffic.messagesReceived += 1
    }
}
