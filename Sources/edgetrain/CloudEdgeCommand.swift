import ArgumentParser
import CloudEdge
import NN
import RunSupport

/// `edgetrain cloud-edge`: rank 0 the cloud, ranks 1...E edge servers, the
/// rest devices (docs/cloud-edge.md, Runtime).
struct CloudEdgeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cloud-edge",
        abstract: "Cloud-edge-device split learning: devices train the front, edge servers the back, a cloud model distils.",
        discussion: """
            Roles by rank: 0 the cloud, 1...E the edge servers (--edge-servers E; rank 1 also aggregates), the rest \
            devices, one each, or with --devices N executors of N virtual devices. Launch with mpirun: \
            `scripts/mpirun -np 8 --oversubscribe .build/release/edgetrain cloud-edge --edge-servers 2`.
            """
    )

    @OptionGroup var model: ModelOptions
    @OptionGroup var kernels: KernelOptions
    @OptionGroup var data: DataOptions
    @OptionGroup var checkpoints: CheckpointOptions

    @Option(help: "The layer the model is cut after (default: relu1 for mlp, pool1 for cnn).")
    var cutLayer: String?

    @Option(help: "Edge servers E: ranks 1...E. The other ranks after them are devices.")
    var edgeServers: Int = 2

    @Option(help: """
        Virtual devices: N devices over the executor ranks E+1...R-1, device d on executor d mod (R-1-E), each \
        executor training its sampled devices side by side (default: one device per rank).
        """)
    var devices: Int?

    @Option(help: "Clusters per round (default: --edge-servers; at most that).")
    var clusters: Int?

    @Option(help: "The smallest cluster.")
    var minClusterSize: Int = 1

    @Flag(inversion: .prefixedNo, help: "KL clusters of at most ceil(sampled devices / clusters) devices each.")
    var balancedClusters = true

    @Option(help: "How sampled devices are clustered: kl (by label histograms), random, or none (dealt in order, SplitFed-style).")
    var clustering: ClusteringKind = .kl

    @Option(help: "How clusters are matched to edge servers: optimal (Hungarian), greedy, random or nearest.")
    var matching: MatchingKind = .optimal

    @Option(help: "Rounds.")
    var rounds: Int = 10

    @Option(help: "Devices per round (default: all).")
    var clientsPerRound: Int?

    @Option(help: "Fraction of devices per round, instead of --clients-per-round.")
    var fraction: Double?

    @Option(help: "Split-training steps per round (one local batch per sampled device each).")
    var localSteps: Int = 10

    @Option(help: "Samples per device per step.")
    var batch: Int = 32

    @Option(help: "Learning rate of every model (plain SGD).")
    var lr: Double = 0.05

    @Flag(inversion: .prefixedNo, help: "Mutual distillation with the cloud model after each round.")
    var distill = true

    @Option(help: "Distillation temperature T.")
    var temperature: Double = 3

    @Option(help: "Distillation weight alpha of the soft targets (1 - alpha on the hard labels).")
    var distillAlpha: Double = 0.5

    @Option(help: "Distillation steps per round (each on all the round's samples as one batch).")
    var distillSteps: Int = 1

    @Option(help: "Activations each edge server sends the cloud per round, at most.")
    var distillSamples: Int = 128

    @Option(help: "Edge server speeds in GFLOP/s (one for all, or one per edge server; default 10).",
            transform: CommaSeparated.parser(of: Double.self))
    var edgeSpeed: [Double]?

    @Option(help: "Device link rates in Mbit/s (one for all, or one per device; default 10).",
            transform: CommaSeparated.parser(of: Double.self))
    var deviceBandwidth: [Double]?

    @Option(help: "Topology file (JSON: edge speeds in FLOP/s, link rates per device and edge server), instead of the two lists.")
    var topology: String?

    @Flag(help: "Make each edge server's back-half step last at least work / its speed (sleeping the rest): heterogeneous edge servers on one machine.")
    var emulateEdgeSpeed = false

    @Option(help: "Seconds any wait for another rank may take before the run fails.")
    var commTimeout: Double = 600

    @Option(help: "Seed of the weights, partitions, sampling and random clusters or matchings.")
    var seed: UInt64 = 1

    @Option(help: "Write JSON Lines metrics (one record per round and a final one) to this file.")
    var metrics: String?

    @Flag(help: "Print the final record as one JSON line on stdout (progress goes to stderr).")
    var json = false

    func validate() throws {
        try requireAtLeast(1, edgeServers, "--edge-servers")
        if let devices { try requireAtLeast(1, devices, "--devices") }
        if let clusters {
            try requireAtLeast(1, clusters, "--clusters")
            guard clusters <= edgeServers else {
                throw ValidationError("--clusters \(clusters) exceeds --edge-servers \(edgeServers): each cluster trains on its own edge server")
            }
        }
        try requireAtLeast(1, minClusterSize, "--min-cluster-size")
        try requireAtLeast(1, rounds, "--rounds")
        if let clientsPerRound { try requireAtLeast(1, clientsPerRound, "--clients-per-round") }
        if let fraction, !(fraction > 0 && fraction <= 1) { throw ValidationError("--fraction must be in (0, 1], got \(fraction)") }
        if clientsPerRound != nil && fraction != nil { throw ValidationError("give --clients-per-round or --fraction, not both") }
        // --local-steps, --batch, --lr, --temperature, --distill-alpha, --distill-steps, --distill-samples.
        if let problem = makeConfig().settingsProblem { throw ValidationError(problem) }
        if let edgeSpeed { try requireEach(edgeSpeed, "--edge-speed", "values must be GFLOP/s > 0", { $0 > 0 && $0.isFinite }) }
        if let deviceBandwidth {
            try requireEach(deviceBandwidth, "--device-bandwidth", "values must be Mbit/s > 0", { $0 > 0 && $0.isFinite })
        }
        if topology != nil && (edgeSpeed != nil || deviceBandwidth != nil) {
            throw ValidationError("--topology gives the edge speeds and link rates; drop --edge-speed and --device-bandwidth")
        }
        try requirePositive(commTimeout, "--comm-timeout")
        let cut = cutLayer ?? CloudEdgeConfig.defaultCutLayer(model.model)
        do {
            _ = try makeModel(model.model, hidden: model.hidden, seed: seed).split(at: cut)
        } catch {
            throw ValidationError("--cut-layer \(cut): \(error)")
        }
    }

    func makeConfig() -> CloudEdgeConfig {
        var c = CloudEdgeConfig()
        c.model = model.model
        c.hidden = model.hidden
        c.cutLayer = cutLayer
        c.edgeServers = edgeServers
        c.devices = devices
        c.clusters = clusters
        c.minClusterSize = minClusterSize
        c.balancedClusters = balancedClusters
        c.clustering = clustering
        c.matching = matching
        c.rounds = rounds
        c.clientsPerRound = clientsPerRound
        c.fraction = fraction
        c.localSteps = localSteps
        c.batch = batch
        c.learningRate = lr
        c.distill = distill
        c.temperature = temperature
        c.distillAlpha = distillAlpha
        c.distillSteps = distillSteps
        c.distillSamples = distillSamples
        c.edgeSpeed = edgeSpeed
        c.deviceBandwidth = deviceBandwidth
        c.topologyPath = topology
        c.emulateEdgeSpeed = emulateEdgeSpeed
        c.partition = data.scheme()
        c.data = data.source()
        c.seed = seed
        c.communicationTimeout = commTimeout
        c.metricsPath = metrics
        (c.checkpointDir, c.checkpointEvery, c.resume) = (checkpoints.checkpointDir, checkpoints.checkpointEvery, checkpoints.resume)
        c.json = json
        return c
    }

    func run() throws {
        let config = makeConfig()
        try runMode(kernels: kernels, json: json) { try runCloudEdge(config: config, peers: $0) }
    }
}

extension ClusteringKind: ExpressibleByArgument {}
extension MatchingKind: ExpressibleByArgument {}
