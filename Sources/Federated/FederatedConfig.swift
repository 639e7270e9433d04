import Data
import NN
import RunSupport

/// What each client does locally, as chosen by `--strategy`.
public enum FederatedStrategy: String, CaseIterable, Sendable {
    /// FedAvg: plain local SGD.
    case fedavg
    /// FedProx: the client adds mu (w - w_global) to its gradient.
    case fedprox
    /// FedAda-style: the coordinator assigns each client's iterations.
    case fedada
    /// Client autonomy: in-round early stopping and layer-wise early
    /// transmission, each client deciding for itself (docs/federated.md).
    case autonomy
}

/// The client-autonomy settings (`--early-stop`, `--early-transmit`, or both
/// with `--strategy autonomy`).
public struct AutonomySettings: Sendable, Equatable {
    public var earlyStop = false
    public var earlyTransmit = false
    /// Every this many rounds is a sampling round (rounds P, 2P, ...).
    public var sampleEvery = 5
    public var benefitWeight = 2.0
    /// A layer is converged where its progress reaches this.
    public var convergeThreshold = 0.9
    /// An early copy whose update's cosine to the final one is below this is re-sent.
    public var resendThreshold = 0.95
    /// Iterations cost nothing while the round has run less than this
    /// fraction of the reference round time.
    public var freeFraction = 1.0

    public init() {}

    public var enabled: Bool { earlyStop || earlyTransmit }

    /// Whether `round` (1-based) is a sampling round: every P-th, so the
    /// first curve comes from a trained model rather than from the random
    /// start, whose curve looks nothing like later rounds'.
    public func isSampling(round: Int) -> Bool { round % sampleEvery == 0 }
}

/// Everything `edgetrain federated` needs; checked by the command line
/// before MPI starts.
public struct FederatedConfig: Sendable {
    public var model: ModelKind = .mlp
    public var hidden = [256, 128]
    public var rounds = 20
    /// Clients per round (nil: `fraction`, or all).
    public var clientsPerRound: Int?
    /// Fraction of clients per round (nil: all).
    public var fraction: Double?
    public var localEpochs = 1
    /// Local steps per round instead of epochs.
    public var localSteps: Int?
    public var batch = 64
    public var learningRate = 0.05
    public var momentum = 0.0
    public var weightDecay = 0.0
    public var strategy: FederatedStrategy = .fedavg
    public var autonomy = AutonomySettings()
    public var aggregation: AggregationRule = .weighted
    public var mu = 0.01
    /// The trimmed mean drops ceil(beta x n) values at each end.
    public var trimFraction = 0.1
    /// Uploads whose change has a larger L2 norm are rejected (nil: no bound).
    public var maxUpdateNorm: Double?
    /// Poisoned clients, for testing robust aggregation.
    public var byzantine: ByzantineSettings?
    /// Server step size on the aggregated change (1: FedAvg).
    public var serverLearningRate = 1.0
    public var partition: PartitionScheme = .iid
    /// `--clients N`: N virtual clients (ids 1...N) over the executor ranks
    /// 1..R-1; nil: one client per rank (id = rank).
    public var virtualClients: Int?
    /// `--trace FILE`: every rank's phases as a Chrome trace, written by rank 0 (`Tracer`).
    public var tracePath: String?
    /// `--clients` with Group-TopK error feedback: an executor whose clients'
    /// residuals would take more than this many bytes keeps the idle ones on
    /// disk (`ResidualSpill`), in `spillDirectory` (default: the temporary
    /// directory). Neither changes the run's bits.
    public var residualMemoryBytes = 1 << 30
    public var spillDirectory: String?
    public var seed: UInt64 = 1
    public var data: DataSource = .fashionMNIST(directory: FashionMNIST.defaultDirectory)
    /// Group-TopK on the uploads (nil: dense).
    public var compression: CompressionSettings?
    /// Slowdown factor per client (index 0 is rank 1); nil: all 1.
    public var clientSpeed: [Double]?
    public var slowdownProbability = 0.0
    public var slowdownFactor = 4.0
    public var slowdownSteps = 20
    /// Link model per client in Mbit/s (one value for all, or one per client).
    public var clientBandwidth: [Double]?
    /// Clients that miss this many seconds are left out of the round.
    public var roundTimeout: Double?
    /// The deadline baseline: every client ends its local training once it
    /// has trained for the reference round time (the median of the previous
    /// round's projected full-round times, the reference early stopping
    /// uses) and uploads the partial work.
    public var partialWork = false
    public var asynchronous = false
    public var maxStaleness = 4
    public var stalenessWeighting: StalenessWeighting = .polynomial
    /// FedBuff: updates buffered before the coordinator applies them.
    public var buffer = 1
    /// FedAsync's mixing weight alpha.
    public var asyncMixing = 0.6
    public var evalBatch = 1000
    /// Seconds any wait for a peer may take before the run fails.
    public var communicationTimeout = 600.0
    public var metricsPath: String?
    public var json = false
    /// Checkpoints go here, every `checkpointEvery` rounds (0: never).
    public var checkpointDir: String?
    public var checkpointEvery = 0
    public var resume = false

    public init() {}

    /// SHA-256 of everything that decides the trained model (checkpoints
    /// resume only a run with the same fingerprint).
    public var fingerprint: String {
        let c = compression.map { $0.method == .groupTopK ? "\($0.groupSize)/\($0.ratio)/\($0.errorFeedback)" : $0.fingerprint } ?? "none"
        let a = autonomy
        let fields: [String] = [
            "federated", model.rawValue, hidden.map(String.init).joined(separator: ","), "\(rounds)", "\(clientsPerRound ?? -1)",
            "\(fraction ?? -1)", "\(localEpochs)", "\(localSteps ?? -1)", "\(batch)", "\(learningRate)", "\(momentum)",
            "\(weightDecay)", strategy.rawValue, aggregation.rawValue, "\(mu)", "\(serverLearningRate)", "\(partition)",
            "\(seed)", "\(data)", c, "\(clientSpeed ?? [])", "\(slowdownProbability)/\(slowdownFactor)/\(slowdownSteps)",
            "\(clientBandwidth ?? [])", "\(roundTimeout ?? -1)/\(partialWork)", "\(asynchronous)/\(maxStaleness)/\(stalenessWeighting.rawValue)",
            "\(buffer)/\(asyncMixing)", "\(a.earlyStop)/\(a.earlyTransmit)/\(a.sampleEvery)/\(a.benefitWeight)/\(a.freeFraction)",
            "\(a.convergeThreshold)/\(a.resendThreshold)", "\(trimFraction)/\(maxUpdateNorm ?? -1)",
            byzantine.map { "\($0.ranks)/\($0.attack.rawValue)/\($0.scale)" } ?? "honest",
        ]
        // Appended only when set, so that runs without them keep their fingerprint.
        let virtual = virtualClients.map { ["clients \($0)"] } ?? []
        return SHA256.hex(Array((fields + virtual).joined(separator: "|").utf8))
    }

    /// The number of clients to select each round, out of `clients`
    /// (`selectionCount`).
    public func perRound(clients: Int) -> Int {
        selectionCount(clientsPerRound: clientsPerRound, fraction: fraction, of: clients)
    }

    /// `--fraction` of `clients`, rounded to the nearest whole client
    /// (possibly 0; `perRound` takes at least 1); nil without `--fraction`
    /// (`fractionOfClients`).
    public func fractionShare(clients: Int) -> Int? {
        fractionOfClients(fraction, of: clients)
    }

    /// The default local steps of a client holding `samples` samples.
    public func defaultSteps(samples: Int) -> Int {
        localSteps ?? localEpochs * max(1, (samples + batch - 1) / batch)
    }

    func speed(ofClient rank: Int) -> Double { clientSpeed.map { $0[rank - 1] } ?? 1 }

    func bandwidth(ofClient rank: Int) -> Double? {
        guard let b = clientBandwidth else { return nil }
        return b.count == 1 ? b[0] : b[rank - 1]
    }
}

extension FederatedConfig {
    /// The upload compression's one-line problem, or nil: PowerSGD sums
    /// factors with an all-reduce, which one client's upload does not have.
    public var compressionProblem: String? {
        guard compression?.method == .powerSGD else { return nil }
        return """
            --compression powersgd sums low-rank factors with an all-reduce over ranks; a federated upload is one \
            client's change: use qsgd, int8, fp16, sign or a group-topk method
            """
    }
}
