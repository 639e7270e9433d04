import RunSupport

/// The data-parallel mode's metrics records, written by rank 0 to
/// `--metrics` (JSON Lines) and, for the final one, to stdout with `--json`.
/// `docs/metrics.md` is their schema (the key, its JSON type, unit and
/// meaning); the JSON keys are the `CodingKeys` raw values. A non-finite
/// number is written as null (see `jsonLine`); an optional that is nil is
/// left out.

/// `{"event":"eval"}`: one test evaluation every `--eval-every` steps.
public struct TrainEvalRecord: Codable, Sendable {
    public private(set) var event = "eval"
    public var epoch: Int
    public var step: Int
    public var wallSeconds: Double
    public var testAccuracy: Double
    public var testLoss: Double
    /// Bytes this rank (rank 0) sent in the gradient exchange so far.
    public var bytesSent: Int

    enum CodingKeys: String, CodingKey {
        case event, epoch, step, wallSeconds = "wall_s", testAccuracy = "test_accuracy", testLoss = "test_loss",
             bytesSent = "bytes_sent"
    }
}

/// `{"event":"epoch"}`: the end of one epoch. Its keys are the epoch's
/// figures, the compression keys and, with `--report-memory`, the memory keys.
public struct TrainEpochRecord: Codable, Sendable {
    public var figures: Figures
    public var compression: TrainCompressionKeys
    public var memory: MemoryKeys

    public struct Figures: Codable, Sendable {
        public private(set) var event = "epoch"
        public var epoch: Int
        public var step: Int
        /// Summed over ranks.
        public var trainLoss: Double
        public var trainAccuracy: Double
        public var testLoss: Double
        public var testAccuracy: Double
        /// The last rate applied.
        public var learningRate: Double
        public var wallSeconds: Double
        public var epochSeconds: Double
        /// Rank 0's traffic in this epoch.
        public var bytesSent: Int
        public var bytesReceived: Int
        public var bytesSentPerStep: Double
        public var bytesReceivedPerStep: Double
        public var density: Double
        public var computeSeconds: Double
        public var communicateSeconds: Double
        public var compressSeconds: Double

        enum CodingKeys: String, CodingKey {
            case event, epoch, step, trainLoss = "train_loss", trainAccuracy = "train_accuracy", testLoss = "test_loss",
                 testAccuracy = "test_accuracy", learningRate = "lr", wallSeconds = "wall_s", epochSeconds = "epoch_s",
                 bytesSent = "bytes_sent", bytesReceived = "bytes_received", bytesSentPerStep = "bytes_sent_per_step",
                 bytesReceivedPerStep = "bytes_received_per_step", density, computeSeconds = "compute_s",
                 communicateSeconds = "communicate_s", compressSeconds = "compress_s"
        }
    }

    public func encode(to encoder: Encoder) throws {
        try figures.encode(to: encoder)
        try compression.encode(to: encoder)
        try memory.encode(to: encoder)
    }

    public init(figures: Figures, compression: TrainCompressionKeys, memory: MemoryKeys) {
        (self.figures, self.compression, self.memory) = (figures, compression, memory)
    }

    public init(from decoder: Decoder) throws {
        figures = try Figures(from: decoder)
        compression = try TrainCompressionKeys(from: decoder)
        memory = try MemoryKeys(from: decoder)
    }
}

/// `{"event":"final"}`: the end of the run, identical on every rank (the
/// evaluation figures are rank 0's). Its keys are the run's figures, the
/// compression keys, the target keys (with `--target-accuracy`) and the
/// memory keys (with `--report-memory`).
public struct TrainFinalRecord: Codable, Sendable {
    public var figures: Figures
    public var compression: TrainCompressionKeys
    public var target: TargetKeys
    public var memory: MemoryKeys

    public struct Figures: Codable, Sendable {
        public private(set) var event = "final"
        public var model: String
        public var parameters: Int
        public var ranks: Int
        public var epochs: Int
        public var steps: Int
        public var batch: Int
        public var seed: UInt64
        public var data: String
        public var partition: String
        public var testAccuracy: Double
        public var testLoss: Double
        public var wallSeconds: Double
        public var computeSeconds: Double
        public var communicateSeconds: Double
        public var compressSeconds: Double
        public var bytesSent: Int
        public var bytesReceived: Int
        public var samplesPerSecond: Double
        public var peakLearningRate: Double
        public var modelSHA256: String
        public var bytesSentPerStep: Double
        public var learningRateScaling: String
        /// Infinite (written null) when unbounded.
        public var maxLearningRateScale: Double
        public var warmupEpochs: Double

        enum CodingKeys: String, CodingKey {
            case event, model, parameters, ranks, epochs, steps, batch, seed, data, partition,
                 testAccuracy = "test_accuracy", testLoss = "test_loss", wallSeconds = "wall_s", computeSeconds = "compute_s",
                 communicateSeconds = "communicate_s", compressSeconds = "compress_s", bytesSent = "bytes_sent",
                 bytesReceived = "bytes_received", samplesPerSecond = "samples_per_s", peakLearningRate = "lr_peak",
                 modelSHA256 = "model_sha256", bytesSentPerStep = "bytes_sent_per_step", learningRateScaling = "lr_scaling",
                 maxLearningRateScale = "max_lr_scale", warmupEpochs = "warmup_epochs"
        }
    }

    /// Present together with `--target-accuracy`, absent without.
    public struct TargetKeys: Codable, Sendable {
        public var targetAccuracy: Double?
        public var targetWindow: Int?
        /// NaN (written null) when the target was set but never reached.
        public var timeToTargetSeconds: Double?

        enum CodingKeys: String, CodingKey {
            case targetAccuracy = "target_accuracy", targetWindow = "target_window", timeToTargetSeconds = "time_to_target_s"
        }
    }

    public func encode(to encoder: Encoder) throws {
        try figures.encode(to: encoder)
        try compression.encode(to: encoder)
        try target.encode(to: encoder)
        try memory.encode(to: encoder)
    }

    public init(figures: Figures, compression: TrainCompressionKeys, target: TargetKeys, memory: MemoryKeys) {
        (self.figures, self.compression, self.target, self.memory) = (figures, compression, target, memory)
    }

    public init(from decoder: Decoder) throws {
        figures = try Figures(from: decoder)
        compression = try TrainCompressionKeys(from: decoder)
        target = try TargetKeys(from: decoder)
        memory = try MemoryKeys(from: decoder)
    }
}

/// The compression keys of the epoch and final records: the keys every
/// compressing mode writes (`CompressionKeys`: the method and the options
/// it reads) and train's own, present with compression only.
public struct TrainCompressionKeys: Codable, Sendable {
    public var codec: CompressionKeys
    /// group-topk: the sparse ring's policy.
    public var sparseReduce: String?
    public var sparseMomentum: String?
    public var momentumCorrection: Bool?
    /// powersgd: the factors' rank.
    public var powerRank: Int?

    enum CodingKeys: String, CodingKey {
        case sparseReduce = "sparse_reduce", sparseMomentum = "sparse_momentum", momentumCorrection = "momentum_correction",
             powerRank = "powersgd_rank"
    }

    public init(codec: CompressionKeys) {
        self.codec = codec
    }

    public func encode(to encoder: Encoder) throws {
        try codec.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(sparseReduce, forKey: .sparseReduce)
        try c.encodeIfPresent(sparseMomentum, forKey: .sparseMomentum)
        try c.encodeIfPresent(momentumCorrection, forKey: .momentumCorrection)
        try c.encodeIfPresent(powerRank, forKey: .powerRank)
    }

    public init(from decoder: Decoder) throws {
        codec = try CompressionKeys(from: decoder)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        sparseReduce = try c.decodeIfPresent(String.self, forKey: .sparseReduce)
        sparseMomentum = try c.decodeIfPresent(String.self, forKey: .sparseMomentum)
        momentumCorrection = try c.decodeIfPresent(Bool.self, forKey: .momentumCorrection)
        powerRank = try c.decodeIfPresent(Int.self, forKey: .powerRank)
    }
}

/// Every rank's peak resident memory: present with `--report-memory`.
public struct MemoryKeys: Codable, Sendable {
    public var peakKilobytesPerRank: [Int]?
    public var peakKilobytesMax: Int?

    enum CodingKeys: String, CodingKey {
        case peakKilobytesPerRank = "rss_peak_kb_per_rank", peakKilobytesMax = "rss_peak_kb_max"
    }
}
