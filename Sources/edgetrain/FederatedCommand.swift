import ArgumentParser
import Foundation
import Federated
import NN
import RunSupport

/// `edgetrain federated`: rank 0 coordinates, the other ranks are clients.
struct FederatedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "federated",
        abstract: "Federated training: rank 0 holds the global model, ranks 1..N-1 train on their partitions.",
        discussion: "Launch with mpirun: `scripts/mpirun -np 5 --oversubscribe .build/release/edgetrain federated`."
    )

    @OptionGroup var model: ModelOptions
    @OptionGroup var kernels: KernelOptions
    @OptionGroup var data: DataOptions
    @OptionGroup var checkpoints: CheckpointOptions

    @Option(help: "Rounds (in --async mode: global model versions).")
    var rounds: Int = 20

    @Option(help: """
        Virtual clients: N logical clients over the executor ranks 1..R-1, each executor training its sampled \
        clients one after another (default: one client per rank).
        """)
    var clients: Int?

    @Option(help: "Clients per round (default: all).")
    var clientsPerRound: Int?

    @Option(help: """
        --clients with Group-TopK: an executor whose clients' error-feedback residuals would take more than this \
        many MiB keeps the idle ones on disk, in --spill-dir (same bits).
        """)
    var residualMemoryMib: Int = 1024

    @Option(help: "Directory of the residual spill file (default: the temporary directory).")
    var spillDir: String?

    @Option(help: "Fraction of clients per round, instead of --clients-per-round.")
    var fraction: Double?

    @Option(help: "Local epochs per round over the client's partition.")
    var localEpochs: Int = 1

    @Option(help: "Local steps per round, instead of --local-epochs.")
    var localSteps: Int?

    @Option(help: "Samples per local step.")
    var batch: Int = 64

    @Option(help: "Local learning rate.")
    var lr: Double = 0.05

    @Option(help: "Local SGD momentum (reset every round).")
    var momentum: Double = 0

    @Option(help: "fedavg, fedprox, fedada, or autonomy (--early-stop and --early-transmit).")
    var strategy: FederatedStrategy = .fedavg

    @Option(help: """
        weighted (FedAvg, by samples), fednova (normalized by local steps; the default under autonomy), \
        or the robust median or trimmed-mean (coordinate-wise, unweighted).
        """)
    var aggregation: AggregationRule?

    @Option(help: "trimmed-mean: drop ceil(beta x clients) values at each end of every coordinate.")
    var trimFraction: Double = 0.1

    @Option(help: "Reject uploads whose change has a larger L2 norm.")
    var maxUpdateNorm: Double?

    @Option(help: "Testing: these clients send poisoned updates: client ranks, or client ids 1...N with --clients (comma-separated, e.g. 3 or 2,5).",
            transform: CommaSeparated.parser(of: Int.self))
    var byzantine: [Int]?

    @Option(help: "Testing: the poison of --byzantine clients: sign-flip (-S x change), scale (S x change), noise (S x rms Gaussian), nan.")
    var attack: Attack?

    @Option(help: "Testing: the attack's strength S.")
    var attackScale: Double = 10

    @Flag(help: "Autonomy: each client ends its round when an iteration's net benefit turns negative.")
    var earlyStop = false

    @Flag(help: "Autonomy: each client sends converged layers early, re-sending those that changed course.")
    var earlyTransmit = false

    @Option(help: "Autonomy: every P-th round is a sampling round.")
    var sampleEvery: Int = 5

    @Option(help: "Autonomy: weight of the marginal benefit against the marginal cost.")
    var benefitWeight: Double = 2

    @Option(help: "Autonomy: iterations cost nothing within this fraction of the reference round time.")
    var freeTime: Double = 1

    @Option(help: "Autonomy: progress at which a layer counts as converged.")
    var convergeThreshold: Double = 0.9

    @Option(help: "Autonomy: re-send an early layer whose update's cosine to the final one is below this.")
    var resendThreshold: Double = 0.95

    @Option(help: "FedProx's proximal weight.")
    var mu: Double = 0.01

    @Option(help: """
        Upload compression: none, group-topk, group-topk-fp16, group-topk-int8, fp16, int8, qsgd or sign, with the \
        client's own error-feedback residual (off for qsgd and fp16 unless --error-feedback); docs/compression.md. \
        An option the method does not read is refused.
        """)
    var compression: CompressionKind = .none

    @OptionGroup var codec: CodecFlags

    @Flag(name: .customLong("error-feedback"), help: "Uploads: error feedback for qsgd or fp16 too.")
    var errorFeedback = false

    @Flag(name: .customLong("no-error-feedback"), help: "Uploads: no error feedback (drop what compression does not send).")
    var noErrorFeedback = false

    @Option(help: "Group-TopK methods: ratio of uploads (default: \(CompressionOptions.defaults.ratio)).")
    var ratio: Double?

    @Option(help: "Group-TopK methods: group size of uploads (default: \(CompressionOptions.defaults.groupSize)).")
    var groupSize: Int?

    @Option(help: "Slowdown factor per client, comma-separated (one per client, e.g. 1,1,1,4).",
            transform: CommaSeparated.parser(of: Double.self))
    var clientSpeed: [Double]?

    @Option(help: "Probability per step that a client enters a slow state.")
    var slowdownProb: Double = 0

    @Option(help: "Extra slowdown factor of the slow state.")
    var slowdownFactor: Double = 4

    @Option(help: "Steps a slow state lasts.")
    var slowdownSteps: Int = 20

    @Option(help: "Per-client link model in Mbit/s (one value for all, or one per client).",
            transform: CommaSeparated.parser(of: Double.self))
    var clientBandwidth: [Double]?

    @Option(help: "Seconds after which a round goes on without the missing clients.")
    var roundTimeout: Double?

    @Flag(help: """
        The deadline baseline: each client ends its local training at the reference round time (the median of \
        the previous round's projected full-round times) and uploads its partial work.
        """)
    var partialWork = false

    @Flag(name: .customLong("async"), help: "Asynchronous rounds (FedAsync; FedBuff with --buffer).")
    var asynchronous = false

    @Option(help: "Async: drop updates more than this many versions old.")
    var maxStaleness: Int = 4

    @Option(help: "Async: polynomial or constant weight by staleness.")
    var stalenessWeight: StalenessWeighting = .polynomial

    @Option(help: "Async: updates buffered before applying (FedBuff).")
    var buffer: Int = 1

    @Option(help: "Async: mixing weight alpha of each update.")
    var asyncAlpha: Double = 0.6

    @Option(help: "Seconds any wait for another rank may take before the run fails.")
    var commTimeout: Double = 600

    @Option(help: "Seed of the weights, partitions, selection and slowdowns.")
    var seed: UInt64 = 1

    @Option(help: "Write JSON Lines metrics (one record per round and a final one) to this file.")
    var metrics: String?

    @Option(help: "Write a timeline of every rank's phases to this file (Chrome Trace Event format; open in ui.perfetto.dev or chrome://tracing).")
    var trace: String?

    @Flag(help: "Print the final record as one JSON line on stdout (progress goes to stderr).")
    var json = false

    func validate() throws {
        if let trace { try requireWritableDirectory(ofFile: trace, "--trace") }
        try requireAtLeast(1, rounds, "--rounds")
        if let clientsPerRound { try requireAtLeast(1, clientsPerRound, "--clients-per-round") }
        if let fraction, !(fraction > 0 && fraction <= 1) { throw ValidationError("--fraction must be in (0, 1], got \(fraction)") }
        if clientsPerRound != nil && fraction != nil { throw ValidationError("give --clients-per-round or --fraction, not both") }
        try requireAtLeast(1, localEpochs, "--local-epochs")
        if let localSteps { try requireAtLeast(1, localSteps, "--local-steps") }
        try requireAtLeast(1, batch, "--batch")
        try requirePositive(lr, "--lr")
        guard momentum >= 0 && momentum < 1 else { throw ValidationError("--momentum must be in [0, 1), got \(momentum)") }
        guard mu >= 0 && mu.isFinite else { throw ValidationError("--mu must be >= 0, got \(mu)") }
        if let ratio { try checkRatio(ratio) }
        if let groupSize { try checkGroupSize(groupSize) }
        if let clientSpeed {
            try requireEach(clientSpeed, "--client-speed", "factors must be numbers >= 1", { $0 >= 1 && $0.isFinite })
        }
        if let clientBandwidth {
            try requireEach(clientBandwidth, "--client-bandwidth", "values must be Mbit/s > 0", { $0 > 0 && $0.isFinite })
        }
        guard slowdownProb >= 0 && slowdownProb <= 1 else { throw ValidationError("--slowdown-prob must be in [0, 1], got \(slowdownProb)") }
        guard slowdownFactor >= 1 && slowdownFactor.isFinite else { throw ValidationError("--slowdown-factor must be >= 1, got \(slowdownFactor)") }
        try requireAtLeast(1, slowdownSteps, "--slowdown-steps")
        if let roundTimeout { try requirePositive(roundTimeout, "--round-timeout") }
        if partialWork && (roundTimeout != nil || asynchronous) {
            throw ValidationError("--partial-work sets its own deadline in synchronous rounds; drop --round-timeout and --async")
        }
        if partialWork && strategy == .fedada { throw ValidationError("--partial-work goes on top of fedavg, fedprox or autonomy, not fedada") }
        if asynchronous && roundTimeout != nil { throw ValidationError("--round-timeout applies to synchronous rounds; drop it or --async") }
        try requireAtLeast(0, maxStaleness, "--max-staleness")
        try requireAtLeast(1, buffer, "--buffer")
        guard asyncAlpha > 0 && asyncAlpha <= 1 else { throw ValidationError("--async-alpha must be in (0, 1], got \(asyncAlpha)") }
        try requirePositive(commTimeout, "--comm-timeout")
        try requireAtLeast(1, sampleEvery, "--sample-every")
        guard benefitWeight >= 0 && benefitWeight.isFinite else { throw ValidationError("--benefit-weight must be >= 0, got \(benefitWeight)") }
        guard freeTime >= 0 && freeTime.isFinite else { throw ValidationError("--free-time must be >= 0, got \(freeTime)") }
        guard convergeThreshold > 0 && convergeThreshold <= 1 else {
            throw ValidationError("--converge-threshold must be in (0, 1], got \(convergeThreshold)")
        }
        guard resendThreshold >= -1 && resendThreshold <= 1 else {
            throw ValidationError("--resend-threshold must be in [-1, 1], got \(resendThreshold)")
        }
        if strategy == .fedada && asynchronous {
            throw ValidationError("--strategy fedada assigns the local steps of synchronous rounds; drop --async")
        }
        let autonomous = strategy == .autonomy || earlyStop || earlyTransmit
        if autonomous && asynchronous { throw ValidationError("client autonomy works with synchronous rounds; drop --async") }
        if noErrorFeedback && errorFeedback { throw ValidationError("give --error-feedback or --no-error-feedback, not both") }
        if (strategy == .autonomy || earlyTransmit) && compression != .none {
            throw ValidationError("--early-transmit sends dense layers; it does not combine with --compression \(compression.rawValue)")
        }
        if (earlyStop || earlyTransmit) && strategy == .fedada {
            throw ValidationError("--early-stop and --early-transmit go on top of fedavg or fedprox, not fedada")
        }
        guard trimFraction >= 0 && trimFraction < 0.5 else { throw ValidationError("--trim-fraction must be in [0, 0.5), got \(trimFraction)") }
        if let maxUpdateNorm { try requirePositive(maxUpdateNorm, "--max-update-norm") }
        switch (byzantine, attack) {
        case (nil, nil): break
        case (nil, _?): throw ValidationError("--attack needs --byzantine RANKS")
        case (_?, nil): throw ValidationError("--byzantine needs --attack sign-flip|scale|noise|nan")
        case (_?, _?):
            guard attackScale > 0 && attackScale.isFinite else { throw ValidationError("--attack-scale must be > 0, got \(attackScale)") }
        }
        if let clients { try requireAtLeast(1, clients, "--clients") }
        try requireAtLeast(0, residualMemoryMib, "--residual-memory-mib")
        if let spillDir {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: spillDir, isDirectory: &isDirectory), isDirectory.boolValue,
                  FileManager.default.isWritableFile(atPath: spillDir) else {
                throw ValidationError("--spill-dir \(spillDir) is not a writable directory")
            }
        }
        if let refusal = makeConfig().virtualClientsRefusal ?? makeConfig().compressionProblem { throw ValidationError(refusal) }
        try compression.refuseInapplicable(givenCompressionOptions, methods: Self.uploadMethods)
    }

    /// The upload compression options given, each with the setting it fills.
    var givenCompressionOptions: [(flag: String, field: CompressionSettings.Field)] {
        var given = [(flag: String, field: CompressionSettings.Field)]()
        given += codec.given
        if errorFeedback { given.append(("--error-feedback", .errorFeedback)) }
        if noErrorFeedback { given.append(("--no-error-feedback", .errorFeedback)) }
        if ratio != nil { given.append(("--ratio", .ratio)) }
        if groupSize != nil { given.append(("--group-size", .groupSize)) }
        return given
    }

    /// The methods uploads take (those `FederatedConfig.compressionProblem` accepts).
    static let uploadMethods = CompressionMethod.allCases.filter { method in
        var config = FederatedConfig()
        config.compression = CompressionSettings()
        config.compression!.method = method
        return config.compressionProblem == nil
    }

    /// The poisoned clients, when `--byzantine` and `--attack` are given (`validate()` checked that they come together).
    var byzantineSettings: ByzantineSettings? {
        guard let byzantine, let attack else { return nil }
        return ByzantineSettings(ranks: byzantine, attack: attack, scale: attackScale)
    }

    func makeConfig() -> FederatedConfig {
        var c = FederatedConfig()
        c.model = model.model
        c.hidden = model.hidden
        c.rounds = rounds
        c.virtualClients = clients
        c.residualMemoryBytes = residualMemoryMib > Int.max >> 20 ? Int.max : residualMemoryMib << 20
        c.spillDirectory = spillDir
        c.clientsPerRound = clientsPerRound
        c.fraction = fraction
        c.localEpochs = localEpochs
        c.localSteps = localSteps
        c.batch = batch
        c.learningRate = lr
        c.momentum = momentum
        c.strategy = strategy
        c.aggregation = aggregation ?? (strategy == .autonomy ? .fednova : .weighted)
        c.autonomy.earlyStop = strategy == .autonomy || earlyStop
        c.autonomy.earlyTransmit = strategy == .autonomy || earlyTransmit
        c.autonomy.sampleEvery = sampleEvery
        c.autonomy.benefitWeight = benefitWeight
        c.autonomy.freeFraction = freeTime
        c.autonomy.convergeThreshold = convergeThreshold
        c.autonomy.resendThreshold = resendThreshold
        c.mu = mu
        c.trimFraction = trimFraction
        c.maxUpdateNorm = maxUpdateNorm
        c.byzantine = byzantineSettings
        c.partition = data.scheme()
        c.data = data.source()
        c.seed = seed
        if let method = compression.method {
            var s = CompressionSettings()
            s.method = method
            s.ratio = ratio ?? s.ratio
            s.groupSize = groupSize ?? s.groupSize
            codec.apply(to: &s)
            s.errorFeedback = noErrorFeedback ? false : (errorFeedback || method.errorFeedbackByDefault)
            c.compression = s
        }
        c.clientSpeed = clientSpeed
        c.slowdownProbability = slowdownProb
        c.slowdownFactor = slowdownFactor
        c.slowdownSteps = slowdownSteps
        c.clientBandwidth = clientBandwidth
        c.roundTimeout = roundTimeout
        c.partialWork = partialWork
        c.asynchronous = asynchronous
        c.maxStaleness = maxStaleness
        c.stalenessWeighting = stalenessWeight
        c.buffer = buffer
        c.asyncMixing = asyncAlpha
        c.communicationTimeout = commTimeout
        c.metricsPath = metrics
        c.tracePath = trace
        (c.checkpointDir, c.checkpointEvery, c.resume) = (checkpoints.checkpointDir, checkpoints.checkpointEvery, checkpoints.resume)
        c.json = json
        return c
    }

    func run() throws {
        let config = makeConfig()
        try runMode(kernels: kernels, json: json) { try runFederated(config: config, peers: $0) }
    }
}

extension FederatedStrategy: ExpressibleByArgument {}
extension AggregationRule: ExpressibleByArgument {}
extension Attack: ExpressibleByArgument {}
extension StalenessWeighting: ExpressibleByArgument {}
