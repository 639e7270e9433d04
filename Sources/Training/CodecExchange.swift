import Collectives
import NN
import Compression
import Random
import RunSupport

/// A codec's data parallelism (`--compression fp16|int8|qsgd|sign|
/// group-topk-fp16|group-topk-int8`): each rank encodes its gradient (with
/// error feedback when on: p = g + e, send C(p), e = p - decode(C(p))),
/// the ring all-gather gives every rank every rank's message, and every
/// rank decodes them all into one sum, in rank order, then divides by N.
///
/// Why an all-gather: a quantized message cannot be summed on the way round
/// a ring without decoding, summing and re-encoding at every hop, which
/// adds a rounding per hop (docs/compression.md). Gathering the messages
/// costs (N - 1) x the message per rank against the dense ring's
/// 2 (N - 1) / N x 4 bytes a float: less while a message holds under 8/N
/// bytes a float (sign: 1/8 + 4/G; int8: about 1; qsgd at 127 levels: 1;
/// fp16: 2, so fp16 gains only for N < 4). Every rank decodes the same
/// bytes in the same order: the same bits everywhere.
public final class CodecExchange: GradientExchange {
    public let codec: any GradientCodec
    public let errorFeedback: Bool
    public let gather: RingAllGather
    /// What error feedback has not sent yet (empty without it).
    public private(set) var residual: [Float]
    /// QSGD's and stochastic rounding's draws, seeded by (seed, rank).
    public private(set) var generator: SeededGenerator
    private var message: [UInt8] = []

    public init(codec: any GradientCodec, length: Int, errorFeedback: Bool, seed: UInt64, transport: Transport) {
        self.codec = codec
        self.errorFeedback = errorFeedback
        gather = RingAllGather(transport: transport, clock: monotonicSeconds)
        residual = [Float](repeating: 0, count: errorFeedback ? length : 0)
        generator = SeededGenerator(seed: seed, stream: 0xC0DEC_0000 &+ UInt64(transport.rank))
    }

    package func average(_ gradients: UnsafeMutableBufferPointer<Float>) throws -> ExchangeStats {
        var stats = ExchangeStats()
        let t0 = monotonicSeconds()
        let g = Array(gradients)
        message = errorFeedback ? try codec.encode(gradient: g, residual: &residual, using: &generator)
                                : try codec.encode(g, using: &generator)
        stats.compressSeconds = monotonicSeconds() - t0
        stats.compressIntervals.append((t0, t0 + stats.compressSeconds))
        let (all, traffic) = try gather.gather(message)
        stats.traffic = traffic
        stats.communicateSeconds = traffic.seconds
        let t1 = monotonicSeconds()
        let n = gather.transport.size, b = message.count
        gradients.update(repeating: 0)
        var out = MutableSpan(_unsafeElements: gradients)
        for k in 0..<n {
            do {
                try all.withUnsafeBytes { a in
                    try codec.decode(RawSpan(_unsafeBytes: UnsafeRawBufferPointer(rebasing: a[k * b..<(k + 1) * b])), into: &out, .add)
                }
            } catch {
                throw CollectiveError.brokenProtocol("rank \(k)'s \(codec.name) message does not decode: \(error)")
            }
        }
        let scale = 1 / Float(n)
        if scale != 1 { for i in 0..<gradients.count { gradients[i] *= scale } }
        let t2 = monotonicSeconds()
        stats.compressSeconds += t2 - t1
        stats.compressIntervals.append((t1, t2))
        var nonZero = 0
        for i in 0..<gradients.count where gradients[i] != 0 { nonZero += 1 }
        stats.density = gradients.isEmpty ? 0 : Double(nonZero) / Double(gradients.count)
        return stats
    }
}

/// PowerSGD data parallelism (`--compression powersgd --powersgd-rank R`,
/// Vogels et al. 2019, as PyTorch's DDP hook): every weight matrix whose
/// rank-R factors are smaller than it (`PowerSGD.matrixShape`) is sent as
/// P (m x R) and Q (n x R); the other tensors (biases, small layers) go
/// dense. One step: each matrix's P = (M + E) Q, then one dense ring of all
/// the P's and the dense tensors together (mean over ranks); each P
/// orthonormalized and Q = (M + E)^T P; a second dense ring of all the Q's;
/// M_hat = P Q^T, E = M + E - M_hat, Q kept as the next step's warm start.
/// The rings carry r (m + n) floats a matrix instead of m n.
public final class PowerSGDExchange: GradientExchange {
    public let rank: Int
    public let ring: RingAllReduce
    /// The compressed matrices: their place in the flat gradient and their state.
    public let matrices: [(range: Range<Int>, state: PowerSGD)]
    /// The tensors sent dense.
    public let dense: [Range<Int>]
    private var first: [Float]
    private var second: [Float]

    public init(spans: [(range: Range<Int>, shape: [Int])], rank: Int, errorFeedback: Bool, seed: UInt64, transport: Transport) {
        self.rank = rank
        ring = RingAllReduce(transport: transport, clock: monotonicSeconds)
        var matrices = [(range: Range<Int>, state: PowerSGD)]()
        var dense = [Range<Int>]()
        for (k, s) in spans.enumerated() {
            if let (m, n) = PowerSGD.matrixShape(s.shape, rank: rank) {
                // The same seed on every rank (the first Q must agree), another per matrix.
                matrices.append((s.range, PowerSGD(rows: m, columns: n, rank: rank, errorFeedback: errorFeedback,
                                                   seed: seed &+ 0x9E37_79B9 &* UInt64(k + 1))))
            } else {
                dense.append(s.range)
            }
        }
        self.matrices = matrices
        self.dense = dense
        first = [Float](repeating: 0, count: matrices.reduce(0) { $0 + $1.state.rows * rank } + dense.reduce(0) { $0 + $1.count })
        second = [Float](repeating: 0, count: matrices.reduce(0) { $0 + $1.state.columns * rank })
    }

    /// Floats each rank puts on the rings per step (both rings).
    public var floatsPerStep: Int { first.count + second.count }

    package func average(_ gradients: UnsafeMutableBufferPointer<Float>) throws -> ExchangeStats {
        var stats = ExchangeStats()
        let n = Float(ring.transport.size)
        var t = monotonicSeconds()
        var offset = 0
        for (range, state) in matrices {
            try state.computeP(gradient: Span(_unsafeElements: UnsafeBufferPointer(rebasing: gradients[range])))
            let p = state.p
            first.replaceSubrange(offset..<offset + p.count, with: p)
            offset += p.count
        }
        for range in dense {
            first.replaceSubrange(offset..<offset + range.count, with: gradients[range])
            offset += range.count
        }
        stats.record(compressFrom: t)
        var traffic = try ring.sum(&first)
        t = monotonicSeconds()
        for i in first.indices { first[i] /= n }
        offset = 0
        var qOffset = 0
        for (_, state) in matrices {
            state.p = Array(first[offset..<offset + state.rows * rank])
            offset += state.rows * rank
            try state.computeQ()
            second.replaceSubrange(qOffset..<qOffset + state.columns * rank, with: state.q)
            qOffset += state.columns * rank
        }
        for range in dense {
            for (k, i) in range.enumerated() { gradients[i] = first[offset + k] }
            offset += range.count
        }
        stats.record(compressFrom: t)
        let secondTraffic = try ring.sum(&second)
        traffic = traffic + secondTraffic
        t = monotonicSeconds()
        for i in second.indices { second[i] /= n }
        qOffset = 0
        for (range, state) in matrices {
            state.q = Array(second[qOffset..<qOffset + state.columns * rank])
            qOffset += state.columns * rank
            var out = MutableSpan(_unsafeElements: UnsafeMutableBufferPointer(rebasing: gradients[range]))
            try state.finish(into: &out)
        }
        stats.record(compressFrom: t)
        stats.traffic = traffic
        stats.communicateSeconds = traffic.seconds
        return stats
    }
}

/// The exchange `config` asks for: the dense ring, Group-TopK's sparse ring,
/// a codec's all-gather or PowerSGD's two rings.
func makeExchange(_ config: TrainConfig, model: Model, peers: PeerGroup) -> GradientExchange {
    guard let c = config.compression else { return DenseExchange(transport: peers) }
    switch c.method {
    case .groupTopK:
        return GroupTopKExchange(length: model.parameterCount, settings: c, momentum: config.momentum, transport: peers)
    case .powerSGD:
        return PowerSGDExchange(spans: model.store.spans.map { ($0.offset..<$0.offset + $0.count, $0.shape) }, rank: c.powerRank,
                                errorFeedback: c.errorFeedback, seed: config.seed, transport: peers)
    default:
        return CodecExchange(codec: c.makeCodec()!, length: model.parameterCount, errorFeedback: c.errorFeedback,
                             seed: config.seed, transport: peers)
    }
}
