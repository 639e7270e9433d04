import Collectives
import Compression

/// Where SGD's momentum goes when gradients are compressed.
public enum SparseMomentum: String, CaseIterable, Sendable {
    /// Plain SGD at the momentum-equivalent rate lr / (1 - momentum): with
    /// error feedback this matches dense momentum SGD (docs/design.md).
    case fold
    /// DGC's momentum correction: momentum accumulated locally before
    /// selection, cleared where sent; the optimizer has no momentum.
    case correction
    /// Momentum in the optimizer, on the averaged sparse gradient.
    case optimizer
}

/// The compression methods (`--compression NAME`, docs/compression.md).
public enum CompressionMethod: String, CaseIterable, Sendable {
    /// Group-TopK on the sparse ring (Float32 values), the seed method.
    case groupTopK = "group-topk"
    /// Group-TopK with Float16 or scaled Int8 values: each rank's message
    /// all-gathered (`GroupTopKCodec`).
    case groupTopKFP16 = "group-topk-fp16"
    case groupTopKInt8 = "group-topk-int8"
    /// Dense codecs, each rank's message all-gathered: Float16, scaled Int8,
    /// QSGD, scaled sign (EF-SignSGD).
    case fp16, int8, qsgd, sign
    /// Low-rank factors summed by the dense ring (Vogels et al. 2019).
    case powerSGD = "powersgd"

    /// Whether the method is one message of the whole vector (`GradientCodec`).
    public var isCodec: Bool { self != .groupTopK && self != .powerSGD }
    /// Whether it keeps top-k entries (the Group-TopK settings apply).
    public var isTopK: Bool { self == .groupTopK || self == .groupTopKFP16 || self == .groupTopKInt8 }
    /// Error feedback by default: on for the biased methods, off for QSGD
    /// (unbiased) and for Float16 (its error is a rounding).
    public var errorFeedbackByDefault: Bool { self != .qsgd && self != .fp16 }

    /// Whether the method reads `field` of its `CompressionSettings`: the
    /// command line refuses an option a method would ignore
    /// (docs/compression.md, "What `train` and `federated` use").
    ///
    /// - `groupSize`, `ratio`: the Group-TopK methods (the sparse ring's
    ///   `GroupLayout`, `GroupTopKCodec`'s selection).
    /// - `policy`, `momentumCorrection`: `group-topk` only; the other two
    ///   Group-TopK forms are all-gathered, not merged on the sparse ring,
    ///   and only the sparse ring's exchange keeps DGC's velocity.
    /// - `errorFeedback`, `momentum` (fold or optimizer): every method.
    /// - `bucketSize`: int8 and QSGD (elements per scale) and sign (per
    ///   group); `group-topk-int8` scales per group of `groupSize`.
    /// - `levels`: QSGD; `stochasticRounding`: int8 (`group-topk-int8`
    ///   rounds to nearest); `powerRank`: PowerSGD.
    public func reads(_ field: CompressionSettings.Field) -> Bool {
        switch field {
        case .groupSize, .ratio: return isTopK
        case .policy, .momentumCorrection: return self == .groupTopK
        case .errorFeedback, .momentum: return true
        case .bucketSize: return self == .int8 || self == .qsgd || self == .sign
        case .levels: return self == .qsgd
        case .stochasticRounding: return self == .int8
        case .powerRank: return self == .powerSGD
        }
    }
}

/// The compression settings of a run. Each method reads only some of them
/// (`CompressionMethod.reads(_:)`); the defaults are the command line's.
public struct CompressionSettings: Sendable, Equatable {
    /// A setting only some methods read.
    public enum Field: CaseIterable, Sendable {
        case groupSize, ratio, policy, errorFeedback
        /// `momentum` `.fold` or `.optimizer`: where SGD's momentum goes.
        case momentum
        /// `momentum` `.correction`: DGC's momentum correction.
        case momentumCorrection
        case bucketSize, levels, stochasticRounding, powerRank
    }

    public var method: CompressionMethod = .groupTopK
    public var groupSize = CodecOptions().groupSize
    public var ratio = CodecOptions().ratio
    /// `reselect` needs `errorFeedback`: the residual is where it keeps the
    /// mass its merges drop (the command line refuses the combination).
    public var policy: SparseReducePolicy = .exact
    public var errorFeedback = true
    public var momentum: SparseMomentum = .fold
    /// The dense codecs' options: bucket (int8, qsgd) or sign group size,
    /// QSGD's levels, int8's rounding.
    public var bucketSize = CodecOptions().bucketSize
    public var levels = CodecOptions().levels
    public var stochasticRounding = false
    /// PowerSGD's rank.
    public var powerRank = 2

    public init() {}

    /// The codec of a codec method (nil for Group-TopK on the ring and PowerSGD).
    public func makeCodec() -> (any GradientCodec)? {
        guard method.isCodec else { return nil }
        var o = CodecOptions()
        o.bucketSize = bucketSize
        o.levels = levels
        o.rounding = stochasticRounding ? .stochastic : .nearest
        o.groupSize = groupSize
        o.ratio = ratio
        return makeGradientCodec(named: method.rawValue, options: o)
    }

    /// What decides the trained model, for fingerprints: the Group-TopK
    /// form as before, the method and its options appended for the others.
    public var fingerprint: String {
        let topK = "\(groupSize)/\(ratio)/\(policy.rawValue)/\(errorFeedback)/\(momentum.rawValue)"
        switch method {
        case .groupTopK: return topK
        case .powerSGD: return "powersgd/\(powerRank)/\(errorFeedback)/\(momentum.rawValue)"
        default: return "\(method.rawValue)/\(topK)/\(bucketSize)/\(levels)/\(stochasticRounding)"
        }
    }
}
