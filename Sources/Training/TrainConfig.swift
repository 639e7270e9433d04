import Data
import NN
import RunSupport

/// Everything `edgetrain train` needs. The command line fills it and checks
/// each value before MPI starts; `DataParallelTrainer` trusts it.
public struct TrainConfig: Sendable {
    public var model: ModelKind = .mlp
    /// Hidden layer sizes of the MLP.
    public var hidden = [256, 128]
    public var epochs = 5
    /// Samples per rank per step.
    public var batch = 64
    /// Base learning rate (before linear scaling).
    public var learningRate = 0.05
    /// Group-TopK settings; nil trains dense.
    public var compression: CompressionSettings? = CompressionSettings()
    public var momentum = 0.9
    public var nesterov = false
    public var weightDecay = 0.0
    public var scaling: LearningRateSchedule.Scaling = .linear
    /// The linear rule multiplies the rate by at most this (see `rates(ranks:)`).
    public var maxLearningRateScale = 2.0
    /// The batch `learningRate` was tuned for; nil means the local batch.
    public var baseBatch: Int?
    /// Warm-up length; nil means the default (see `warmupEpochs(ranks:)`).
    public var warmupEpochs: Double?
    public var decay: LearningRateSchedule.Decay = .cosine
    public var partition: PartitionScheme = .iid
    public var seed: UInt64 = 1
    public var data: DataSource = .fashionMNIST(directory: FashionMNIST.defaultDirectory)
    /// JSON Lines metrics file, written by rank 0.
    public var metricsPath: String?
    /// `--trace FILE`: every rank's phases as a Chrome trace, written by rank 0 (`Tracer`).
    public var tracePath: String?
    /// Test-set evaluation batch.
    public var evalBatch = 1000
    /// Rank 0 also evaluates every this many steps (0: only after each epoch),
    /// writing `{"event":"eval"}` records: accuracy against wall time.
    public var evalEvery = 0
    /// A test accuracy to time: the final record gains `time_to_target_s`,
    /// the wall seconds of the first evaluation at which the mean of the last
    /// `targetWindow` evaluations' accuracies reached it.
    public var targetAccuracy: Double?
    public var targetWindow = 1
    /// End the run at the first evaluation that reaches `targetAccuracy` (by the window rule).
    public var stopAtTarget = false
    /// Progress to standard error, so that standard output holds only the final JSON record.
    public var json = false
    /// Checkpoints go here, every `checkpointEvery` steps (0: never).
    public var checkpointDir: String?
    public var checkpointEvery = 0
    /// Continue from the newest complete checkpoint in `checkpointDir`.
    public var resume = false
    /// All ranks compare a hash of the model every this many steps (0: only at the end).
    public var checkEvery = 500
    /// Seconds any wait for another rank may take before the run fails.
    public var communicationTimeout = 300.0
    /// Every epoch and the final record carry each rank's peak resident memory.
    public var reportMemory = false
    /// Rank 0 writes its gradient (and error-feedback residual) at these
    /// steps (1-based) to this directory (`DataParallelTrainer+Dump`).
    public var dumpGradientsDirectory: String?
    public var dumpSteps = Set<Int>()
    /// Testing the safety checks (`--inject-fault KIND:RANK:STEP`, hidden).
    public var injectFault: InjectedFault?

    public init() {}

    /// A step whose loss exceeds this multiple of the starting loss stops the
    /// run as diverged (`DataParallelTrainer.checkDivergence`).
    public static let divergenceFactor = 10.0

    /// The base learning rate `edgetrain train` uses when none is given:
    /// 0.05 for the MLP, 0.01 for the CNN. The CNN's folded 0.02 (0.2, 0.4
    /// at the capped peak) diverged within 8 steps on 2, 4 and 8 ranks; at
    /// 0.01 it trains on 1 to 32 (docs/design.md, docs/benchmarks.md).
    public static func defaultLearningRate(for model: ModelKind) -> Double {
        model == .cnn ? 0.01 : 0.05
    }

    /// SHA-256 of everything that decides the trained model: a checkpoint
    /// resumes only a run with the same fingerprint. Output-only settings
    /// (metrics, evaluation, checkpoints, timeouts) are left out, except
    /// that `--stop-at-target` makes the target and evaluation interval count.
    public var fingerprint: String {
        let c = compression?.fingerprint ?? "none"
        let fields: [String] = [
            "train", model.rawValue, hidden.map(String.init).joined(separator: ","), "\(epochs)", "\(batch)",
            "\(learningRate)", "\(momentum)", "\(nesterov)", "\(weightDecay)", scaling.rawValue, "\(maxLearningRateScale)", "\(baseBatch ?? -1)",
            "\(warmupEpochs ?? -1)", decay.rawValue, c, "\(partition)", "\(seed)", "\(data)",
            stopAtTarget ? "stop at \(targetAccuracy ?? -1) over \(targetWindow), eval every \(evalEvery)" : "no early stop",
        ]
        return SHA256.hex(Array(fields.joined(separator: "|").utf8))
    }

    /// The optimizer's momentum and the factor on the learning rate, after
    /// `compression.momentum` moved the momentum: (m, 1) dense or with
    /// `.optimizer`; (0, 1 / (1 - m)) with `.fold`; (0, 1) with `.correction`.
    public var optimizerMomentum: (momentum: Double, rateFactor: Double) {
        switch compression?.momentum {
        case nil, .optimizer?: return (momentum, 1)
        case .fold?: return (0, 1 / (1 - momentum))
        case .correction?: return (0, 1)
        }
    }

    /// The one-line problem with settings that do not combine, or nil.
    /// Depends on the configuration only, so every rank finds the same; the
    /// trainer checks it before any exchange and the command line before MPI.
    public var settingsProblem: String? {
        guard let c = compression, c.method != .groupTopK else { return nil }
        let name = c.method.rawValue
        if c.momentum == .correction && !c.method.reads(.momentumCorrection) {
            return "DGC momentum correction works with --compression group-topk only, not \(name)"
        }
        if c.policy != .exact && !c.method.reads(.policy) { return "--sparse-reduce is the sparse ring's; --compression \(name) does not use it" }
        if checkpointEvery > 0 || resume {
            return """
                --compression \(name) does not combine with checkpoints yet (its error-feedback and factor state \
                is not saved, so a resume would not continue the run); use group-topk or none, or run without checkpoints
                """
        }
        return nil
    }

    /// One line saying what the optimizer does.
    public var optimizerSummary: String {
        let nesterovText = nesterov ? " (Nesterov)" : ""
        switch compression?.momentum {
        case nil, .optimizer?: return "SGD momentum \(momentum)\(nesterovText)"
        case .fold?: return "plain SGD, momentum \(momentum) folded into the rate (x\(String(format: "%.4g", 1 / (1 - momentum))))"
        case .correction?: return "plain SGD, DGC momentum correction \(momentum) before selection"
        }
    }

    /// The warm-up in epochs: as given, else 5 epochs when ranks > 1 and the
    /// rate is scaled (Goyal et al.), capped at half of the run so that a
    /// short run still spends half its steps at and after the peak.
    public func warmupEpochs(ranks: Int) -> Double {
        if let warmupEpochs { return warmupEpochs }
        guard ranks > 1, scaling == .linear else { return 0 }
        return min(5, Double(epochs) / 2)
    }

    /// The schedule's start and peak rates on `ranks` ranks:
    ///
    ///     base = learningRate x rate factor (1 / (1 - momentum) when folded)
    ///     peak = base x min(ranks x batch / baseBatch, maxLearningRateScale)   (linear)
    ///
    /// Goyal et al. (2017, "Accurate, Large Minibatch SGD") scale the rate
    /// linearly with the global batch after a gradual warm-up, and find the
    /// rule breaks down past a size where the rate is too large for the
    /// early, fast-changing network. Here the folded momentum already makes
    /// the base rate 10x larger (0.5 for the MLP), so the uncapped rule
    /// reached 2.0 at 4 ranks and 16 at 32: short runs diverged at 4 ranks,
    /// one-epoch runs at 8, the 16-rank soak at any length. Capping the
    /// factor at 2 (`--max-lr-scale`) trains at 1 to 32 ranks
    /// (docs/benchmarks.md, "Learning rate against the rank count");
    /// `--max-lr-scale inf` restores the plain rule.
    public func rates(ranks: Int) -> (base: Double, peak: Double) {
        let base = learningRate * optimizerMomentum.rateFactor
        let peak = LearningRateSchedule.scaledRate(base: base, scaling: scaling, ranks: ranks, localBatch: batch,
                                                   baseBatch: baseBatch ?? batch, maxScale: maxLearningRateScale)
        return (base, peak)
    }

    /// The whole schedule on `ranks` ranks with `stepsPerEpoch` steps an epoch.
    public func schedule(ranks: Int, stepsPerEpoch: Int) -> LearningRateSchedule {
        let (base, peak) = rates(ranks: ranks)
        return LearningRateSchedule(
            base: base, peak: peak, warmupSteps: Int((warmupEpochs(ranks: ranks) * Double(stepsPerEpoch)).rounded()),
            totalSteps: stepsPerEpoch * epochs, decay: decay)
    }
}

/// A fault a test injects after step `step` on rank `rank`: `diverge` nudges
/// one weight (the model-hash check must fire); `hang` stops the rank
/// without exiting (the others' deadlines must fire).
public struct InjectedFault: Sendable, Equatable {
    public enum Kind: String, Sendable { case diverge, hang }
    public let kind: Kind
    public let rank: Int
    public let step: Int

    public init(kind: Kind, rank: Int, step: Int) {
        self.kind = kind
        self.rank = rank
        self.step = step
    }

    /// Parses KIND:RANK:STEP; nil when malformed.
    public init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, let kind = Kind(rawValue: parts[0]), let rank = Int(parts[1]), let step = Int(parts[2]) else { return nil }
        self.init(kind: kind, rank: rank, step: step)
    }
}
