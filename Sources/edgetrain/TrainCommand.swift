import ArgumentParser
import Data
import NN
import RunSupport
import Training

/// `edgetrain train`: decentralized data-parallel training.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a model on every rank's partition, averaging gradients over a ring each step.",
        discussion: "Launch with mpirun: `scripts/mpirun -np 4 --oversubscribe .build/release/edgetrain train`."
    )

    @OptionGroup var model: ModelOptions
    @OptionGroup var kernels: KernelOptions
    @OptionGroup var data: DataOptions
    @OptionGroup var checkpoints: CheckpointOptions
    @OptionGroup var compression: CompressionOptions

    @Option(help: "Passes over the training set.")
    var epochs: Int = 5

    @Option(help: "Samples per rank per step.")
    var batch: Int = 64

    @Option(help: "Base learning rate, scaled by the rank count under --lr-scaling linear (default: 0.05 mlp, 0.01 cnn).")
    var lr: Double?

    @Option(help: "SGD momentum.")
    var momentum: Double = 0.9

    @Flag(help: "Nesterov momentum.")
    var nesterov = false

    @Option(help: "L2 weight decay.")
    var weightDecay: Double = 0

    @Option(help: "Learning-rate scaling with the rank count: linear or none.")
    var lrScaling: LearningRateSchedule.Scaling = .linear

    @Option(help: "--lr-scaling linear multiplies the rate by at most this (inf: the plain linear rule).")
    var maxLrScale: Double = 2

    @Option(help: "The batch --lr was tuned for (default: --batch).")
    var baseBatch: Int?

    @Option(help: "Warm-up epochs (default: 5 when ranks > 1 with linear scaling, at most half the run).")
    var warmupEpochs: Double?

    @Option(help: "Decay after warm-up: constant, step or cosine.")
    var lrDecay: LearningRateSchedule.Decay = .cosine

    @Option(help: "Seed of the weights, data order and partitions.")
    var seed: UInt64 = 1

    @Option(help: "Write JSON Lines metrics (one record per epoch and a final one) to this file.")
    var metrics: String?

    @Option(help: "Write a timeline of every rank's phases to this file (Chrome Trace Event format; open in ui.perfetto.dev or chrome://tracing).")
    var trace: String?

    @Option(help: "Rank 0 also evaluates every this many steps (eval records in --metrics).")
    var evalEvery: Int = 0

    @Option(help: "A test accuracy to time: the final record gains time_to_target_s.")
    var targetAccuracy: Double?

    @Option(help: "The target counts as reached at the first evaluation where the mean of the last N evaluations reaches it.")
    var targetWindow: Int = 1

    @Flag(help: "Stop at the first evaluation that reaches --target-accuracy.")
    var stopAtTarget = false

    @Option(help: "All ranks compare a hash of the model every K steps (0: only at the end).")
    var checkEvery: Int = 500

    @Option(help: "Seconds any wait for another rank may take before the run fails.")
    var commTimeout: Double = 300

    @Option(help: ArgumentHelp("Testing: KIND:RANK:STEP, diverge (nudge a weight) or hang, on RANK after STEP.", visibility: .hidden),
            transform: { text in
                guard let fault = InjectedFault(text) else { throw ValidationError("expected diverge:RANK:STEP or hang:RANK:STEP") }
                return fault
            })
    var injectFault: InjectedFault?

    @Option(help: "Rank 0 writes its gradient (and error-feedback residual) at --dump-steps to this directory, as Float32 files.")
    var dumpGradients: String?

    static let defaultDumpSteps = [1, 100, 1000]

    @Option(help: CommaSeparated.help("Steps (1-based, comma-separated) whose gradients --dump-gradients writes.",
                                      default: defaultDumpSteps),
            transform: CommaSeparated.parser(of: Int.self))
    var dumpSteps: [Int] = defaultDumpSteps

    @Flag(help: "Record every rank's peak resident memory in the epoch and final records.")
    var reportMemory = false

    @Flag(help: "Print the final record as one JSON line on stdout (progress goes to stderr).")
    var json = false

    func validate() throws {
        if let problem = makeConfig().settingsProblem { throw ValidationError(problem) }
        if let trace { try requireWritableDirectory(ofFile: trace, "--trace") }
        try requireAtLeast(1, epochs, "--epochs")
        try requireAtLeast(1, batch, "--batch")
        if let lr { try requirePositive(lr, "--lr") }
        guard momentum >= 0 && momentum < 1 else { throw ValidationError("--momentum must be in [0, 1), got \(momentum)") }
        guard weightDecay >= 0 && weightDecay.isFinite else { throw ValidationError("--weight-decay must be >= 0, got \(weightDecay)") }
        if let baseBatch { try requireAtLeast(1, baseBatch, "--base-batch") }
        guard maxLrScale >= 1 else { throw ValidationError("--max-lr-scale must be >= 1, got \(maxLrScale)") }
        if let warmupEpochs, !(warmupEpochs >= 0 && warmupEpochs.isFinite) {
            throw ValidationError("--warmup-epochs must be >= 0, got \(warmupEpochs)")
        }
        try requireAtLeast(0, evalEvery, "--eval-every")
        try requireAtLeast(0, checkEvery, "--check-every")
        try requirePositive(commTimeout, "--comm-timeout")
        if let targetAccuracy, !(targetAccuracy > 0 && targetAccuracy <= 1) {
            throw ValidationError("--target-accuracy must be in (0, 1], got \(targetAccuracy)")
        }
        try requireAtLeast(1, targetWindow, "--target-window")
        if stopAtTarget && targetAccuracy == nil { throw ValidationError("--stop-at-target needs --target-accuracy") }
        try requireEach(dumpSteps, "--dump-steps", "must be steps >= 1", { $0 >= 1 })
    }

    func makeConfig() -> TrainConfig {
        var c = TrainConfig()
        c.model = model.model
        c.hidden = model.hidden
        c.epochs = epochs
        c.batch = batch
        c.learningRate = lr ?? TrainConfig.defaultLearningRate(for: model.model)
        c.compression = compression.settings()
        c.momentum = momentum
        c.nesterov = nesterov
        c.weightDecay = weightDecay
        c.scaling = lrScaling
        c.baseBatch = baseBatch
        c.maxLearningRateScale = maxLrScale
        c.warmupEpochs = warmupEpochs
        c.decay = lrDecay
        c.partition = data.scheme()
        c.seed = seed
        c.data = data.source()
        c.metricsPath = metrics
        c.tracePath = trace
        c.evalEvery = evalEvery
        (c.checkpointDir, c.checkpointEvery, c.resume) = (checkpoints.checkpointDir, checkpoints.checkpointEvery, checkpoints.resume)
        c.checkEvery = checkEvery
        c.communicationTimeout = commTimeout
        c.reportMemory = reportMemory
        c.dumpGradientsDirectory = dumpGradients
        c.dumpSteps = dumpGradients == nil ? [] : Set(dumpSteps)
        c.injectFault = injectFault
        c.targetAccuracy = targetAccuracy
        c.stopAtTarget = stopAtTarget
        c.targetWindow = targetWindow
        c.json = json
        return c
    }

    func run() throws {
        let config = makeConfig()
        try runMode(kernels: kernels, json: json) { peers in
            let final = try DataParallelTrainer(config: config, peers: peers).run()
            return peers.rank == 0 ? final : nil
        }
    }
}

extension LearningRateSchedule.Scaling: ExpressibleByArgument {}
extension LearningRateSchedule.Decay: ExpressibleByArgument {}
