import Data
import NN
import RunSupport

/// How the round's sampled devices are grouped into clusters (`--clustering`).
public enum ClusteringKind: String, CaseIterable, Sendable {
    /// `klClusters`: the greedy KL rule of issue 16.
    case kl
    /// `randomClusters`, seeded by the round: the ablation.
    case random
    /// SplitFed-style: the sampled devices dealt to the clusters in order,
    /// device i of the round to cluster i mod K.
    case none
}

/// How clusters are matched to edge servers (`--matching`).
public enum MatchingKind: String, CaseIterable, Sendable {
    case optimal, greedy, random, nearest
}

/// Everything `edgetrain cloud-edge` needs; the flags are checked by the
/// command line before MPI starts, and what needs the rank count by
/// `runCloudEdge` before any collective call.
public struct CloudEdgeConfig: Sendable {
    public var model: ModelKind = .mlp
    public var hidden = [256, 128]
    /// The layer the model is cut after (nil: `defaultCutLayer`).
    public var cutLayer: String?
    /// Edge servers E: ranks 1...E.
    public var edgeServers = 2
    /// Virtual devices D over the device executor ranks E+1...R-1
    /// (`--devices`; nil: one device per executor rank).
    public var devices: Int?
    /// Clusters K per round (nil: E).
    public var clusters: Int?
    public var minClusterSize = 1
    /// KL clusters of at most ceil(sampled / K) devices (`--balanced-clusters`,
    /// the default); false lets the walk grow one cluster past the others.
    public var balancedClusters = true
    public var clustering: ClusteringKind = .kl
    public var matching: MatchingKind = .optimal
    public var rounds = 10
    /// Devices per round (nil: `fraction`, or all).
    public var clientsPerRound: Int?
    public var fraction: Double?
    /// Split-training steps per round; each sampled device runs one batch per step.
    public var localSteps = 10
    public var batch = 32
    public var learningRate = 0.05
    public var distill = true
    public var temperature = 3.0
    public var distillAlpha = 0.5
    public var distillSteps = 1
    /// Activations each edge server sends the cloud per round, at most.
    public var distillSamples = 128
    /// Edge speeds in GFLOP/s (one for all, or one per edge server; nil: 10).
    public var edgeSpeed: [Double]?
    /// Device link rates in Mbit/s (one for all, or one per device; nil: 10).
    public var deviceBandwidth: [Double]?
    /// A topology file instead of the two lists.
    public var topologyPath: String?
    /// Each edge server's back-half step lasts at least the time its speed
    /// gives (work / speed; it sleeps the rest), so that heterogeneous edge
    /// servers on one machine differ in wall time as the cost model says.
    /// Timing only: the models are the same either way.
    public var emulateEdgeSpeed = false
    public var partition: PartitionScheme = .iid
    public var seed: UInt64 = 1
    public var data: DataSource = .fashionMNIST(directory: FashionMNIST.defaultDirectory)
    public var evalBatch = 1000
    /// Seconds any wait for a peer may take before the run fails.
    public var communicationTimeout = 600.0
    public var metricsPath: String?
    public var json = false
    public var checkpointDir: String?
    public var checkpointEvery = 0
    public var resume = false

    public init() {}

    /// What makes the training settings unusable, as one line naming the
    /// flag and its value (the command line's wording), or nil. The
    /// command line checks it before MPI starts, `runCloudEdge` on every
    /// rank before any collective call: a zero count would trap in a range,
    /// a temperature or alpha out of range in the distillation loss.
    public var settingsProblem: String? {
        if localSteps < 1 { return "--local-steps must be at least 1, got \(localSteps)" }
        if batch < 1 { return "--batch must be at least 1, got \(batch)" }
        if !(learningRate > 0 && learningRate.isFinite) { return "--lr must be > 0, got \(learningRate)" }
        if !(temperature > 0 && temperature.isFinite) { return "--temperature must be > 0, got \(temperature)" }
        if !(distillAlpha >= 0 && distillAlpha <= 1) { return "--distill-alpha must be in [0, 1], got \(distillAlpha)" }
        if distillSteps < 1 { return "--distill-steps must be at least 1, got \(distillSteps)" }
        if distillSamples < 1 { return "--distill-samples must be at least 1, got \(distillSamples)" }
        if rounds < 1 { return "--rounds must be at least 1, got \(rounds)" }
        return nil
    }

    /// The cut layer when none is given: after the first hidden layer's ReLU
    /// (mlp) or the first pooling (cnn).
    public static func defaultCutLayer(_ model: ModelKind) -> String {
        model == .mlp ? "relu1" : "pool1"
    }

    public var cut: String { cutLayer ?? Self.defaultCutLayer(model) }

    /// Clusters per round.
    public var clusterCount: Int { clusters ?? edgeServers }

    /// Devices sampled per round out of `devices` (`selectionCount`, the
    /// federated mode's rule).
    public func perRound(devices: Int) -> Int {
        selectionCount(clientsPerRound: clientsPerRound, fraction: fraction, of: devices)
    }

    /// SHA-256 of everything that decides the trained models (checkpoints
    /// resume only a run with the same fingerprint). `--devices` counts when
    /// given (and leaves the fingerprint of a run without it as it was). The network counts, as
    /// parsed (`network`: edge speeds and link rates, however given): it
    /// decides the matching. So an edited topology file changes the
    /// fingerprint, and the same network from another path or from the
    /// flags does not.
    public func fingerprint(network: NetworkState) -> String {
        let fields: [String] = [
            "cloud-edge", model.rawValue, hidden.map(String.init).joined(separator: ","), cut, "\(edgeServers)",
            "\(clusterCount)", "\(minClusterSize)/\(balancedClusters)", clustering.rawValue, matching.rawValue, "\(rounds)",
            "\(clientsPerRound ?? -1)", "\(fraction ?? -1)", "\(localSteps)", "\(batch)", "\(learningRate)",
            "\(distill)/\(temperature)/\(distillAlpha)/\(distillSteps)/\(distillSamples)", "\(network.edgeSpeeds)",
            "\(network.linkMbps)", "\(partition)", "\(seed)", "\(data)",
        ] + (devices.map { ["devices \($0)"] } ?? [])
        return SHA256.hex(Array(fields.joined(separator: "|").utf8))
    }
}
