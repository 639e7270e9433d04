import RunSupport

/// The federated mode's metrics records, written by the coordinator (rank 0)
/// to `--metrics` (JSON Lines) and, for the final one, to stdout with
/// `--json`. `docs/metrics.md` is their schema; the JSON keys are the
/// `CodingKeys` raw values. A non-finite number is written as null (see
/// `jsonLine`); an optional that is nil is left out.

/// `{"event":"round"}`: one synchronous round, or in `--async` mode one new
/// global model version. The coordinator's own keys after evaluating, and
/// the keys of the round loop that produced it.
struct FederatedRoundRecord: Codable, Sendable {
    var summary: Summary
    var figures: FederatedRoundFigures

    struct Summary: Codable, Sendable {
        private(set) var event = "round"
        var round: Int
        var wallSeconds: Double
        var testAccuracy: Double
        var testLoss: Double
        /// The coordinator's traffic since the run started.
        var bytesUpTotal: Int
        var bytesDownTotal: Int

        enum CodingKeys: String, CodingKey {
            case event, round, wallSeconds = "wall_s", testAccuracy = "test_accuracy", testLoss = "test_loss",
                 bytesUpTotal = "bytes_up_total", bytesDownTotal = "bytes_down_total"
        }
    }

    func encode(to encoder: Encoder) throws {
        try summary.encode(to: encoder)
        try figures.encode(to: encoder)
    }

    init(summary: Summary, figures: FederatedRoundFigures) {
        (self.summary, self.figures) = (summary, figures)
    }

    init(from decoder: Decoder) throws {
        summary = try Summary(from: decoder)
        figures = try FederatedRoundFigures(from: decoder)
    }
}

/// What a round loop knows of its round. The synchronous loop's keys
/// (`selected` ... `assigned_steps`) are absent in `--async` mode.
struct FederatedRoundFigures: Codable, Sendable {
    var roundSeconds: Double
    /// Sync: summed over participants, the time each waited for the slowest; async: 0.
    var idleSeconds: Double
    var clients: [FederatedClientEntry]
    var participants: Int
    var dropped: Int
    var selected: [Int]?
    var rejected: Int?
    var samplingRound: Bool?
    var referenceSeconds: Double?
    /// Client rank (as a string) to its assigned local steps (FedAda); empty otherwise.
    var assignedSteps: [String: Int]?
    /// `--clients`: the slowest participant's emulated round time.
    var emulatedRoundSeconds: Double?

    enum CodingKeys: String, CodingKey {
        case roundSeconds = "round_s", idleSeconds = "idle_s", clients, participants, dropped, selected, rejected,
             samplingRound = "sampling_round", referenceSeconds = "reference_s", assignedSteps = "assigned_steps",
             emulatedRoundSeconds = "emulated_round_s"
    }
}

/// One client's upload in a round record (`clients` array). A selected
/// client whose update missed the round has only `rank`, `dropped` and
/// `staleness`; an update has its figures too, `rejected` when the
/// coordinator refused it, and the autonomy keys with `--early-stop`, `--early-transmit` or
/// `--partial-work` (sync only).
struct FederatedClientEntry: Codable, Sendable {
    var upload: Upload
    var autonomy: FederatedAutonomyKeys

    struct Upload: Codable, Sendable {
        var rank: Int
        var dropped: Bool
        var staleness: Int
        var steps: Int?
        var computeSeconds: Double?
        var waitSeconds: Double?
        var secondsPerStep: Double?
        var lossChange: Double?
        var bytesUp: Int?
        var bytesDown: Int?
        var roundSeconds: Double?
        var uploadSeconds: Double?
        /// Why the coordinator refused the update.
        var rejected: String?
        /// `--clients`: the virtual client's id (`rank` is then its executor).
        var client: Int?
        /// `--clients`: the client's emulated round time (`emulatedSeconds`).
        var emulatedSeconds: Double?

        enum CodingKeys: String, CodingKey {
            case rank, dropped, staleness, steps, computeSeconds = "compute_s", waitSeconds = "wait_s",
                 secondsPerStep = "seconds_per_step", lossChange = "loss_change", bytesUp = "bytes_up",
                 bytesDown = "bytes_down", roundSeconds = "round_s", uploadSeconds = "upload_s", rejected, client,
                 emulatedSeconds = "emulated_s"
        }
    }

    var rejected: String? {
        get { upload.rejected }
        set { upload.rejected = newValue }
    }

    var dropped: Bool { upload.dropped }

    func encode(to encoder: Encoder) throws {
        try upload.encode(to: encoder)
        try autonomy.encode(to: encoder)
    }

    init(_ upload: Upload, autonomy: FederatedAutonomyKeys = FederatedAutonomyKeys()) {
        (self.upload, self.autonomy) = (upload, autonomy)
    }

    init(from decoder: Decoder) throws {
        upload = try Upload(from: decoder)
        autonomy = try FederatedAutonomyKeys(from: decoder)
    }
}

/// The autonomy keys of a client entry: all present or all absent.
struct FederatedAutonomyKeys: Codable, Sendable {
    var stoppedEarly: Bool?
    var stopIteration: Int?
    var plannedSteps: Int?
    var layersSentEarly: [String]?
    var layersResent: [String]?
    var overlapSavedSeconds: Double?

    enum CodingKeys: String, CodingKey {
        case stoppedEarly = "stopped_early", stopIteration = "stop_iteration", plannedSteps = "planned_steps",
             layersSentEarly = "layers_sent_early", layersResent = "layers_resent", overlapSavedSeconds = "overlap_saved_s"
    }
}

/// `{"event":"final"}`: the end of a federated run (the coordinator's view):
/// the run's figures and the upload compression's keys (`CompressionKeys`,
/// the same keys as train's records).
public struct FederatedFinalRecord: Codable, Sendable {
    public var figures: Figures
    public var compression: CompressionKeys

    public struct Figures: Codable, Sendable {
        public private(set) var event = "final"
        /// "sync" or "async".
        public var mode: String
        public var model: String
        public var parameters: Int
        public var ranks: Int
        public var clients: Int
        public var rounds: Int
        /// Global model versions made (fewer than rounds when rounds aggregated nothing).
        public var versions: Int
        public var strategy: String
        public var aggregation: String
        public var seed: UInt64
        public var data: String
        public var testAccuracy: Double
        public var testLoss: Double
        public var wallSeconds: Double
        /// The coordinator's: sent = down, received = up.
        public var bytesSent: Int
        public var bytesReceived: Int
        public var bytesUp: Int
        public var bytesDown: Int
        public var droppedUpdates: Int
        public var lateUpdates: Int
        public var rejectedUpdates: Int
        public var modelSHA256: String

        enum CodingKeys: String, CodingKey {
            case event, mode, model, parameters, ranks, clients, rounds, versions, strategy, aggregation, seed, data,
                 testAccuracy = "test_accuracy", testLoss = "test_loss", wallSeconds = "wall_s", bytesSent = "bytes_sent",
                 bytesReceived = "bytes_received", bytesUp = "bytes_up", bytesDown = "bytes_down",
                 droppedUpdates = "dropped_updates", lateUpdates = "late_updates", rejectedUpdates = "rejected_updates",
                 modelSHA256 = "model_sha256"
        }
    }

    public func encode(to encoder: Encoder) throws {
        try figures.encode(to: encoder)
        try compression.encode(to: encoder)
    }

    public init(figures: Figures, compression: CompressionKeys) {
        (self.figures, self.compression) = (figures, compression)
    }

    public init(from decoder: Decoder) throws {
        figures = try Figures(from: decoder)
        compression = try CompressionKeys(from: decoder)
    }
}
