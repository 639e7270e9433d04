import Compression

/// The keys of a metrics record that name a run's compression setting, the
/// same in every mode that compresses (`train` and `federated` uploads):
/// the method and, present only for the methods that read them, its
/// options, so that a reader can rerun the exact setting. A mode adds its
/// own keys beside these (train: `sparse_reduce`, momentum, PowerSGD).
/// `docs/metrics.md` lists them with the records that carry them.
public struct CompressionKeys: Codable, Sendable, Equatable {
    /// "none" or the `CompressionMethod`'s name.
    public var compression: String
    /// Group-TopK methods: the ratio as asked, as kept (see
    /// `GroupLayout.effectiveRatio`), and the group size.
    public var ratio: Double?
    public var effectiveRatio: Double?
    public var groupSize: Int?
    /// Any method.
    public var errorFeedback: Bool?
    /// int8, qsgd: elements per scale; sign: per group.
    public var bucketSize: Int?
    /// qsgd: s.
    public var levels: Int?
    /// int8: stochastic rather than round-to-nearest rounding.
    public var stochasticRounding: Bool?

    enum CodingKeys: String, CodingKey {
        case compression, ratio, effectiveRatio = "ratio_effective", groupSize = "group_size", errorFeedback = "error_feedback",
             bucketSize = "bucket_size", levels = "qsgd_levels", stochasticRounding = "stochastic_rounding"
    }

    public init(compression: String) {
        self.compression = compression
    }

    /// The keys of `settings` (nil: no compression) for a model of
    /// `parameterCount` parameters (the effective ratio depends on it).
    public init(_ settings: CompressionSettings?, parameterCount: Int) {
        guard let s = settings else {
            self.init(compression: "none")
            return
        }
        self.init(compression: s.method.rawValue)
        // Only what the method reads (`CompressionMethod.reads(_:)`).
        let m = s.method
        if m.reads(.errorFeedback) { errorFeedback = s.errorFeedback }
        if m.reads(.ratio) {
            ratio = s.ratio
            effectiveRatio = GroupLayout(length: parameterCount, groupSize: s.groupSize, ratio: s.ratio).effectiveRatio
        }
        if m.reads(.groupSize) { groupSize = s.groupSize }
        if m.reads(.bucketSize) { bucketSize = s.bucketSize }
        if m.reads(.levels) { levels = s.levels }
        if m.reads(.stochasticRounding) { stochasticRounding = s.stochasticRounding }
    }
}
