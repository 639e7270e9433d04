/// The cloud-edge mode's metrics records, written by the cloud (rank 0) to
/// `--metrics` (JSON Lines) and, for the final one, to stdout with `--json`.
/// `docs/metrics.md` is their schema; the JSON keys are the `CodingKeys`
/// raw values. A non-finite number is written as null (see `jsonLine`); an
/// optional that is nil is left out.

/// What crossed each link in a round (or a whole run), in bytes: whole
/// messages, headers included.
public struct LinkBytes: Codable, Sendable, Equatable {
    /// Devices to edge servers: activations and labels.
    public var deviceEdgeUp = 0
    /// Edge servers to devices: gradients at the cut.
    public var deviceEdgeDown = 0
    /// Devices to the aggregator (rank 1): trained fronts.
    public var frontUpload = 0
    /// Edge servers to the aggregator: trained back halves.
    public var backUpload = 0
    /// Edge servers and the aggregator to the cloud: distillation samples,
    /// the averaged model.
    public var edgeCloudUp = 0
    /// The global front to the devices: from the aggregator over the
    /// device-edge tier (to every device and the other edge servers), and
    /// at the start and on resume from the cloud to the aggregator first.
    public var frontBroadcast = 0
    /// The global back half from the cloud to the edge servers.
    public var backBroadcast = 0

    public init() {}

    static func + (a: LinkBytes, b: LinkBytes) -> LinkBytes {
        var r = a
        r.deviceEdgeUp += b.deviceEdgeUp
        r.deviceEdgeDown += b.deviceEdgeDown
        r.frontUpload += b.frontUpload
        r.backUpload += b.backUpload
        r.edgeCloudUp += b.edgeCloudUp
        r.frontBroadcast += b.frontBroadcast
        r.backBroadcast += b.backBroadcast
        return r
    }

    enum CodingKeys: String, CodingKey {
        case deviceEdgeUp = "device_edge_up_bytes", deviceEdgeDown = "device_edge_down_bytes",
             frontUpload = "front_upload_bytes", backUpload = "back_upload_bytes", edgeCloudUp = "edge_cloud_up_bytes",
             frontBroadcast = "front_broadcast_bytes", backBroadcast = "back_broadcast_bytes"
    }
}

/// One sampled device's entry of a round record.
struct CloudEdgeDeviceEntry: Codable, Sendable, Equatable {
    var device: Int
    /// The executor rank that trained it.
    var rank: Int
    /// Measured: its own front forward, backward and steps.
    var computeSeconds: Double
    /// Emulated (the cost model, not waited for): its activations up and
    /// gradients down on its link to its cluster's edge server.
    var emulatedLinkSeconds: Double

    enum CodingKeys: String, CodingKey {
        case device, rank, computeSeconds = "compute_s", emulatedLinkSeconds = "emulated_link_s"
    }
}

/// `{"event":"round"}`: one round, after the cloud evaluated both models.
struct CloudEdgeRoundRecord: Codable, Sendable {
    var figures: Figures
    var bytes: LinkBytes

    struct Figures: Codable, Sendable {
        private(set) var event = "round"
        var round: Int
        var wallSeconds: Double
        var testAccuracy: Double
        var testLoss: Double
        var cloudTestAccuracy: Double
        var cloudTestLoss: Double
        /// Mean back-half training loss over the edge servers' steps, weighted by samples.
        var trainLoss: Double
        var sampled: [Int]
        var clusters: [[Int]]
        var assignment: [Int]
        var clusterKLMean: Double
        var matchingCost: Double
        var optimalMatchingCost: Double
        var randomClusterKLMean: Double
        var greedyMatchingCost: Double
        var randomMatchingCost: Double
        var emulatedRoundSeconds: Double
        var deviceComputeMax: Double
        var deviceComputeMean: Double
        var deviceRSSPeakBytes: Int
        /// One entry per sampled device, in device order.
        var devices: [CloudEdgeDeviceEntry]
        /// With distillation: the last distillation step's mean losses.
        var distillBackLoss: Double?
        var distillCloudLoss: Double?
        var distillSamples: Int

        enum CodingKeys: String, CodingKey {
            case event, round, wallSeconds = "wall_s", testAccuracy = "test_accuracy", testLoss = "test_loss",
                 cloudTestAccuracy = "cloud_test_accuracy", cloudTestLoss = "cloud_test_loss", trainLoss = "train_loss",
                 sampled = "sampled_devices", clusters, assignment, clusterKLMean = "cluster_kl_mean",
                 matchingCost = "matching_cost_s", optimalMatchingCost = "optimal_matching_cost_s",
                 randomClusterKLMean = "random_cluster_kl_mean", greedyMatchingCost = "greedy_matching_cost_s",
                 randomMatchingCost = "random_matching_cost_s",
                 emulatedRoundSeconds = "emulated_round_s", deviceComputeMax = "device_compute_max_s",
                 deviceComputeMean = "device_compute_mean_s", deviceRSSPeakBytes = "device_rss_peak_bytes", devices,
                 distillBackLoss = "distill_back_loss", distillCloudLoss = "distill_cloud_loss",
                 distillSamples = "distill_samples"
        }
    }

    func encode(to encoder: Encoder) throws {
        try figures.encode(to: encoder)
        try bytes.encode(to: encoder)
    }

    init(figures: Figures, bytes: LinkBytes) {
        (self.figures, self.bytes) = (figures, bytes)
    }

    init(from decoder: Decoder) throws {
        figures = try Figures(from: decoder)
        bytes = try LinkBytes(from: decoder)
    }
}

/// `{"event":"final"}`: the end of a cloud-edge run (the cloud's view).
public struct CloudEdgeFinalRecord: Codable, Sendable {
    public var summary: Summary
    /// Every round's bytes together.
    public var bytes: LinkBytes

    public struct Summary: Codable, Sendable {
        public private(set) var event = "final"
        public var model: String
        public var cutLayer: String
        public var frontParameters: Int
        public var backParameters: Int
        public var cloudParameters: Int
        public var ranks: Int
        public var edgeServers: Int
        public var devices: Int
        public var clusters: Int
        public var rounds: Int
        public var clustering: String
        public var matching: String
        public var distill: Bool
        public var seed: UInt64
        public var data: String
        public var testAccuracy: Double
        public var testLoss: Double
        public var cloudTestAccuracy: Double
        public var cloudTestLoss: Double
        public var wallSeconds: Double
        public var emulatedSeconds: Double
        /// SHA-256 of the global front's parameters then the back's: the
        /// whole edge model's.
        public var modelSHA256: String
        /// SHA-256 of the cloud model's parameters.
        public var cloudModelSHA256: String

        enum CodingKeys: String, CodingKey {
            case event, model, cutLayer = "cut_layer", frontParameters = "front_parameters",
                 backParameters = "back_parameters", cloudParameters = "cloud_parameters", ranks,
                 edgeServers = "edge_servers", devices, clusters, rounds, clustering, matching, distill, seed, data,
                 testAccuracy = "test_accuracy", testLoss = "test_loss", cloudTestAccuracy = "cloud_test_accuracy",
                 cloudTestLoss = "cloud_test_loss", wallSeconds = "wall_s", emulatedSeconds = "emulated_s",
                 modelSHA256 = "model_sha256", cloudModelSHA256 = "cloud_model_sha256"
        }
    }

    public var modelSHA256: String { summary.modelSHA256 }
    public var cloudModelSHA256: String { summary.cloudModelSHA256 }
    public var testAccuracy: Double { summary.testAccuracy }

    public func encode(to encoder: Encoder) throws {
        try summary.encode(to: encoder)
        try bytes.encode(to: encoder)
    }

    init(summary: Summary, bytes: LinkBytes) {
        (self.summary, self.bytes) = (summary, bytes)
    }

    public init(from decoder: Decoder) throws {
        summary = try Summary(from: decoder)
        bytes = try LinkBytes(from: decoder)
    }
}
