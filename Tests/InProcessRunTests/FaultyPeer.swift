import Collectives

/// One rank's group with a fault: it passes everything to the rank's real
/// in-process group except the move the fault replaces.
final class FaultyPeer: PeerGroup, @unchecked Sendable {
    enum Fault {
        /// Every ring exchange sends 3 bytes of garbage instead of its block.
        case garbageInRing
        /// Every tagged message with `tag` is 3 bytes of garbage.
        case garbageMessage(tag: Int)
        /// The first tagged message with `tag` is never sent: the rank stops responding.
        case hangBefore(tag: Int)
        /// Every tagged message with `tag` goes out as `rewrite` makes it.
        case rewriteMessage(tag: Int, @Sendable ([UInt8]) -> [UInt8])
    }

    static let garbage: [UInt8] = [9, 9, 9]
    let inner: LoopbackTransport
    let fault: Fault

    init(_ inner: LoopbackTransport, fault: Fault) {
        self.inner = inner
        self.fault = fault
    }

    var rank: Int { inner.rank }
    var size: Int { inner.size }
    var traffic: TrafficStats {
        get { inner.traffic }
        set { inner.traffic = newValue }
    }
    var timeout: Double? {
        get { inner.timeout }
        set { inner.timeout = newValue }
    }

    func exchange(sending outgoing: RawSpan, to destination: Int,
                  receiving incoming: inout MutableRawSpan, from source: Int) throws {
        guard case .garbageInRing = fault else {
            return try inner.exchange(sending: outgoing, to: destination, receiving: &incoming, from: source)
        }
        try inner.exchange(sending: Self.garbage.span.bytes, to: destination, receiving: &incoming, from: source)
    }

    func exchangeVariable(sending outgoing: RawSpan, to destination: Int,
                          receivingFrom source: Int, into incoming: inout [UInt8]) throws -> Int {
        guard case .garbageInRing = fault else {
            return try inner.exchangeVariable(sending: outgoing, to: destination, receivingFrom: source, into: &incoming)
        }
        return try inner.exchangeVariable(sending: Self.garbage.span.bytes, to: destination, receivingFrom: source, into: &incoming)
    }

    func minMax(_ values: [Int]) throws -> [(min: Int, max: Int)] { try inner.minMax(values) }
    func sum(_ values: inout [Double]) throws { try inner.sum(&values) }
    func broadcast(_ bytes: [UInt8], root: Int) throws -> [UInt8] { try inner.broadcast(bytes, root: root) }
    func allGather(_ bytes: [UInt8]) throws -> [[UInt8]] { try inner.allGather(bytes) }

    /// The bytes that really go out with `tag`.
    private func outgoing(_ bytes: [UInt8], tag: Int) throws -> [UInt8] {
        switch fault {
        case let .garbageMessage(t) where t == tag: return Self.garbage
        case let .hangBefore(t) where t == tag: try inner.stopResponding()
        case let .rewriteMessage(t, rewrite) where t == tag: return rewrite(bytes)
        default: return bytes
        }
    }

    func startSend(_ bytes: [UInt8], to destination: Int, tag: Int) throws -> PendingSend {
        try inner.startSend(try outgoing(bytes, tag: tag), to: destination, tag: tag)
    }

    func send(_ bytes: [UInt8], to destination: Int, tag: Int) throws {
        try inner.send(try outgoing(bytes, tag: tag), to: destination, tag: tag)
    }

    func receive(from source: Int?, tag: Int, waiting seconds: Double) throws -> (source: Int, bytes: [UInt8])? {
        try inner.receive(from: source, tag: tag, waiting: seconds)
    }

    /// Sub-groups carry the same fault.
    func split(color: Int?, key: Int) throws -> PeerGroup? {
        try inner.split(color: color, key: key).map { FaultyPeer($0 as! LoopbackTransport, fault: fault) }
    }

    func stopResponding() throws -> Never { try inner.stopResponding() }
}
