import Collectives
import Compression
import RunSupport

/// What one exchange cost this rank.
public struct ExchangeStats: Sendable {
    public var traffic = TrafficStats()
    /// Seconds selecting and encoding (zero for dense).
    public var compressSeconds = 0.0
    /// When the compression work happened (monotonic seconds, start and
    /// end of each part: before and after the collective), for `--trace`.
    public var compressIntervals = [(start: Double, end: Double)]()
    /// Seconds in the collective itself.
    public var communicateSeconds = 0.0
    /// Fraction of non-zero entries in the summed gradient (1 for dense).
    public var density = 1.0

    public init() {}

    /// Adds the compression work from `start` to now.
    mutating func record(compressFrom start: Double) {
        let end = monotonicSeconds()
        compressSeconds += end - start
        compressIntervals.append((start, end))
    }
}

/// How the ranks combine their gradients at every step (collective: every
/// rank calls `average` once per step, with the same length).
package protocol GradientExchange: AnyObject {
    /// Replaces `gradients` with the average over ranks of what each rank
    /// contributes. Every rank ends with the same bits.
    func average(_ gradients: UnsafeMutableBufferPointer<Float>) throws -> ExchangeStats
}

/// Dense data parallelism: the ring all-reduce of the whole gradient, / N.
public final class DenseExchange: GradientExchange {
    public let ring: RingAllReduce

    public init(transport: Transport) {
        ring = RingAllReduce(transport: transport, clock: monotonicSeconds)
    }

    package func average(_ gradients: UnsafeMutableBufferPointer<Float>) throws -> ExchangeStats {
        var stats = ExchangeStats()
        stats.traffic = try ring.sum(gradients)
        stats.communicateSeconds = stats.traffic.seconds
        let scale = 1 / Float(ring.transport.size)
        if scale != 1 { for i in 0..<gradients.count { gradients[i] *= scale } }
        return stats
    }
}

/// Group-TopK data parallelism: each rank compresses gradient + residual
/// (error feedback), the sparse ring sums the compressed gradients, and every
/// rank divides by N.
public final class GroupTopKExchange: GradientExchange {
    public let settings: CompressionSettings
    public let layout: GroupLayout
    public let ring: SparseRingAllReduce
    private let compressor: GroupTopK
    private var sparse: SparseGradient
    /// What error feedback has not sent yet (zero without error feedback).
    public private(set) var residual: [Float]
    /// DGC's local momentum u (empty without momentum correction).
    public private(set) var velocity: [Float]

    /// `momentum` is SGD's momentum factor, used here under `.correction`.
    public init(length: Int, settings: CompressionSettings, momentum: Double, transport: Transport) {
        precondition(settings.policy != .reselect || settings.errorFeedback, "reselect without error feedback would drop mass")
        self.settings = settings
        layout = GroupLayout(length: length, groupSize: settings.groupSize, ratio: settings.ratio)
        ring = SparseRingAllReduce(transport: transport, policy: settings.policy, clock: monotonicSeconds)
        compressor = GroupTopK(layout: layout)
        sparse = SparseGradient(layout: layout)
        residual = [Float](repeating: 0, count: settings.errorFeedback ? length : 0)
        velocity = [Float](repeating: 0, count: settings.momentum == .correction ? length : 0)
        correctionFactor = settings.momentum == .correction ? Float(momentum) : nil
    }

    private let correctionFactor: Float?

    /// Restores the residual and DGC velocity from a checkpoint.
    public func restore(residual r: [Float], velocity u: [Float], file: String) throws {
        guard r.count == residual.count, u.count == velocity.count else {
            throw RunSupportError.checkpoint(file: file, problem: "error-feedback state of \(r.count) floats, expected \(residual.count)")
        }
        residual = r
        velocity = u
    }

    package func average(_ gradients: UnsafeMutableBufferPointer<Float>) throws -> ExchangeStats {
        var stats = ExchangeStats()
        let t0 = monotonicSeconds()
        if settings.errorFeedback {
            try residual.withUnsafeMutableBufferPointer { r in
                if let factor = correctionFactor {
                    try velocity.withUnsafeMutableBufferPointer { u in
                        try compressor.compress(gradient: UnsafeBufferPointer(gradients), residual: r, momentum: (factor, u), into: &sparse)
                    }
                } else {
                    try compressor.compress(gradient: UnsafeBufferPointer(gradients), residual: r, into: &sparse)
                }
            }
        } else {
            try compressor.compress(UnsafeBufferPointer(gradients), into: &sparse)
        }
        stats.compressSeconds = monotonicSeconds() - t0
        stats.compressIntervals.append((t0, t0 + stats.compressSeconds))
        let outcome = try residual.withUnsafeMutableBufferPointer { r in
            try ring.sum(sparse, into: gradients, residual: settings.errorFeedback ? r.baseAddress : nil)
        }
        stats.traffic = outcome.traffic
        stats.communicateSeconds = outcome.traffic.seconds
        stats.density = outcome.density
        let scale = 1 / Float(ring.transport.size)
        if scale != 1 { for i in 0..<gradients.count { gradients[i] *= scale } }
        return stats
    }
}
