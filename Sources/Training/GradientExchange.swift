import Collectives

/// What one exchange cost this rank.
public struct ExchangeStats: Sendable {
    public var traffic = TrafficStats()
    /// Seconds selecting and encoding (zero for dense).
    public var compressSeconds = 0.0
    /// Seconds in the collective itself.
    public var communicateSeconds = 0.0
    /// Fraction of non-zero entries in the summed gradient (1 for dense).
    public var density = 1.0

    public init() {}
}

/// How the ranks combine their gradients at every step (collective: every
/// rank calls `average` once per step, with the same length).
public protocol GradientExchange: AnyObject {
    /// The name in metrics: "none" for dense, "group-topk".
    var compression: String { get }
    /// Replaces `gradients` with the average over ranks of what each rank
    /// contributes. Every rank ends with the same bits.
    func average(_ gradients: UnsafeMutableBufferPointer<Float>) throws -> ExchangeStats
}

/// Dense data parallelism: the ring all-reduce of the whole gradient, / N.
public final class DenseExchange: GradientExchange {
    public let ring: RingAllReduce
    public var compression: String { "none" }

    public init(transport: Transport) {
        ring = RingAllReduce(transport: transport)
    }

    public func average(_ gradients: UnsafeMutableBufferPointer<Float>) throws -> ExchangeStats {
        var stats = ExchangeStats()
        stats.traffic = try ring.sum(gradients)
        stats.communicateSeconds = stats.traffic.seconds
        let scale = 1 / Float(ring.transport.size)
        if scale != 1 { for i in 0..<gradients.count { gradients[i] *= scale } }
        return stats
    }
}
