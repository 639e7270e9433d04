import Collectives
import Data
import Foundation
import NN
import RunSupport

/// `edgetrain cloud-edge`: split learning offloaded to edge servers, with
/// KL-balanced clusters, cost-based matching and mutual distillation with a
/// deeper cloud model (docs/cloud-edge.md, Runtime). Collective: every rank
/// calls it. Roles go by rank (`CloudEdgeRoles`). Returns the final record
/// on the cloud (rank 0), nil elsewhere.
///
/// Every setting that cannot work with this rank count, model or data is
/// refused with one `CloudEdgeError.setup` line before any collective call,
/// on every rank alike.
public func runCloudEdge(config: CloudEdgeConfig, peers: PeerGroup) throws -> CloudEdgeFinalRecord? {
    let start = monotonicSeconds()
    peers.timeout = config.communicationTimeout
    let run = try CloudEdgeRun(config: config, peers: peers, start: start)
    return try run.run()
}

/// One rank's part of a cloud-edge run: what every role shares (the plan's
/// inputs, the global front and back halves) and each role's own state.
final class CloudEdgeRun {
    let config: CloudEdgeConfig
    let peers: PeerGroup
    let roles: CloudEdgeRoles
    let role: CloudEdgeRoles.Role
    let startTime: Double
    /// The edge-cloud tier (cloud and edge servers) and the device-edge tier
    /// (edge servers and device executors); nil on a rank outside it.
    let edgeCloud: PeerGroup?
    let deviceEdge: PeerGroup?
    /// The training samples on the whole set, for the header.
    let trainCount: Int
    /// An executor's devices' samples only (`gatherPartitions`), nil elsewhere.
    let train: ImageDataset?
    /// The test set, on the cloud only.
    let test: ImageDataset?
    /// Each device's partition of the training set and label histogram
    /// (every rank holds all of them: the plan needs the histograms).
    let partitions: [[Int]]
    let histograms: [[Int]]
    let network: NetworkState
    let workload: SplitWorkload
    /// The whole edge model, on the cloud only (for evaluation), and the
    /// halves a role holds between rounds (the global ones): the cloud both,
    /// an edge server the back; nil elsewhere. An executor holds the global
    /// front as floats (`globalFront`) and a front per device it trains in a
    /// round (`frontPool`).
    let full: Model!
    let front: Model!
    let back: Model!
    let frontCount: Int
    let backCount: Int
    /// The aggregator's (edge server 0's) averaged front of the last round:
    /// the global front, which it broadcasts to the executors.
    var aggregatedFront: [Float]?
    /// An executor's copy of the global front, which each of its sampled
    /// devices starts a round from.
    var globalFront: [Float]?
    /// An executor's fronts, one per device it trains at once (its sampled
    /// devices of a round, who step together): grown to the most devices
    /// sampled on it in a round so far, reused across rounds, each loaded
    /// with the global front when a device takes it.
    var frontPool: [Model] = []
    /// Floats at the cut per sample.
    let cutCount: Int
    var roundsDone = 0
    /// The rounds done when this process started (for the ETA).
    var roundsAtStart = 0
    /// Role state: an executor's devices (id, partition, sampler), the
    /// cloud's model and bookkeeping.
    var deviceStates: [DeviceState] = []
    var cloud: CloudState?

    init(config: CloudEdgeConfig, peers: PeerGroup, start: Double) throws {
        self.config = config
        self.peers = peers
        self.startTime = start
        let roles = try CloudEdgeRoles(ranks: peers.size, edges: config.edgeServers, devices: config.devices)
        self.roles = roles
        role = roles.role(of: peers.rank)
        try Self.checkSettings(config, roles: roles)
        // Each role builds only what it holds; every half starts from the
        // cloud's (`distributeGlobalModel` before round 1).
        let split: SplitModel
        do {
            split = try makeSplitModel(config.model, imageShape: [28, 28, 1], classes: 10, hidden: config.hidden, cut: config.cut,
                                       seed: config.seed, front: false, back: role != .cloud && !role.isExecutor)
        } catch let error as NNError {
            throw CloudEdgeError.setup("--cut-layer \(config.cut): \(error)")
        }
        if role == .cloud {
            let whole = makeModel(config.model, imageShape: [28, 28, 1], classes: 10, hidden: config.hidden, seed: config.seed)
            full = whole
            (front, back) = try whole.split(at: config.cut)
        } else {
            (full, front, back) = (nil, nil, split.back)
        }
        (frontCount, backCount) = (split.frontParameterCount, split.backParameterCount)
        cutCount = split.cutShape.reduce(1, *)

        // Collective from here on.
        let r = peers.rank, e = roles.edges
        edgeCloud = try peers.split(color: r <= e ? 0 : nil, key: r)
        deviceEdge = try peers.split(color: r >= 1 ? 0 : nil, key: r)
        // Every rank reads the training labels (to partition and plan); then
        // the cloud loads the test set, each executor only its devices'
        // samples, and an edge server nothing more.
        let labels = try peers.agree { try loadTrainingLabels(config.data, seed: config.seed) }
        trainCount = labels.count
        let classes = config.data.classes
        let partitions = try peers.agree {
            let parts = try partition(labels: labels, classes: classes, parts: roles.devices, scheme: config.partition,
                                      seed: config.seed)
            if roles.virtual {
                try checkBatchFits(config.batch, partitions: parts, firstRank: 0, holder: "device")
            } else {
                try checkBatchFits(config.batch, partitions: parts, firstRank: e + 1)
            }
            return parts
        }
        self.partitions = partitions
        histograms = labelHistogram(labels: labels, classes: classes, partitions: partitions)
        let role = role, mine: [Int]
        if case let .executor(x) = role { mine = roles.devices(ofExecutor: x) } else { mine = [] }
        let gathered = gatherPartitions(mine.map { partitions[$0] })
        (train, test) = try peers.agree { () -> (ImageDataset?, ImageDataset?) in
            let loaded: (train: ImageDataset?, test: ImageDataset?)
            switch role {
            case .cloud: loaded = (nil, try loadTestSet(config.data, seed: config.seed))
            case .executor: loaded = (try loadTrainingSubset(config.data, seed: config.seed, indices: gathered.samples), nil)
            case .edge: loaded = (nil, nil)
            }
            if let set = loaded.train ?? loaded.test,
               [set.height, set.width, set.channels, set.classes] != [28, 28, 1, 10] {
                throw CloudEdgeError.setup("cloud-edge mode takes 28x28x1 images of 10 classes; \(config.data.name) has "
                                           + "\(set.height)x\(set.width)x\(set.channels) of \(set.classes)")
            }
            return loaded
        }
        network = try peers.agree { try Self.network(config, roles: roles) }
        // Bytes: a float per activation up (and a label), a float per gradient down.
        // Work: forward and the two backward passes, 2 FLOP per multiply-add.
        workload = SplitWorkload(uploadBytesPerSample: Double(cutCount * 4 + 4), downloadBytesPerSample: Double(cutCount * 4),
                                 workPerSample: 6 * Double(split.backMultiplyAddsPerSample))
        switch role {
        case .cloud:
            cloud = CloudState(config: config, cutShape: split.cutShape, progress: ProgressPrinter(enabled: true, toStandardError: config.json))
        case .executor:
            deviceStates = zip(mine, gathered.local).map { d, indices in
                DeviceState(id: d, indices: indices, sampler: MinibatchSampler(
                    indices: indices, batchSize: config.batch, seed: config.seed, stream: roles.samplerStream(ofDevice: d)))
            }
        case .edge:
            break
        }
    }

    /// Checks the settings (`settingsProblem`) and what needs the rank
    /// count, before any collective call.
    static func checkSettings(_ config: CloudEdgeConfig, roles: CloudEdgeRoles) throws {
        if let problem = config.settingsProblem { throw CloudEdgeError.setup(problem) }
        let (e, d, k) = (roles.edges, roles.devices, config.clusterCount)
        guard k >= 1 else { throw CloudEdgeError.setup("--clusters must be at least 1, got \(k)") }
        guard k <= e else {
            throw CloudEdgeError.setup("--clusters \(k) exceeds --edge-servers \(e): each cluster trains on its own edge server")
        }
        if let c = config.clientsPerRound, c > d {
            throw CloudEdgeError.setup("--clients-per-round \(c) is more than the \(roles.devicesWhere())")
        }
        if roles.virtual, let f = config.fraction, let share = fractionOfClients(f, of: d), share < 1 {
            throw CloudEdgeError.setup("""
                --fraction \(f) selects 0 of the \(d) devices (round(\(f) x \(d)) = 0); give at least \(1 / (2 * Double(d))) \
                or --clients-per-round
                """)
        }
        let m = config.perRound(devices: d)
        guard m >= k * config.minClusterSize else {
            throw CloudEdgeError.setup("""
                --clusters \(k) x --min-cluster-size \(config.minClusterSize) needs \(k * config.minClusterSize) devices per \
                round; this run samples \(m) of its \(roles.devicesWhere(", with \(e) edge server(s) on \(roles.ranks) ranks"))
                """)
        }
        if let s = config.edgeSpeed, s.count != 1 && s.count != e {
            throw CloudEdgeError.setup("--edge-speed has \(s.count) values for \(e) edge servers (give 1 or \(e))")
        }
        if let b = config.deviceBandwidth, b.count != 1 && b.count != d {
            throw CloudEdgeError.setup("--device-bandwidth has \(b.count) values for \(d) devices (give 1 or \(d))")
        }
    }

    /// The network state from `--topology`, or from the two lists (edge
    /// speeds in GFLOP/s, default 10; device links in Mbit/s, default 10).
    static func network(_ config: CloudEdgeConfig, roles: CloudEdgeRoles) throws -> NetworkState {
        let (e, d) = (roles.edges, roles.devices)
        if let path = config.topologyPath {
            let state = try NetworkState(topologyFile: path)
            guard state.edgeCount == e, state.deviceCount == d else {
                throw CloudEdgeError.setup("""
                    --topology \(path) describes \(state.edgeCount) edge server(s) and \(state.deviceCount) device(s); this \
                    run has \(e) and \(d)
                    """)
            }
            return state
        }
        func expand(_ values: [Double]?, _ count: Int, _ fallback: Double) -> [Double] {
            guard let values else { return [Double](repeating: fallback, count: count) }
            return values.count == 1 ? [Double](repeating: values[0], count: count) : values
        }
        return try NetworkState(edgeSpeeds: expand(config.edgeSpeed, e, 10).map { $0 * 1e9 },
                                deviceMbps: expand(config.deviceBandwidth, d, 10))
    }

    /// The plan of round `round`, the same on every rank.
    func plan(_ round: Int) throws -> RoundPlan {
        try planRound(round, config: config, histograms: histograms, network: network, workload: workload,
                      samplesPerDevice: config.localSteps * config.batch)
    }

    /// Every round, then the final record (on the cloud).
    func run() throws -> CloudEdgeFinalRecord? {
        if config.resume { try resume() } else { try distributeGlobalModel(aggregatorHasFront: false) }
        roundsAtStart = roundsDone
        if role == .cloud { cloud!.progress.line(header()) }
        if roundsDone < config.rounds {
            for round in (roundsDone + 1)...config.rounds {
                let plan = try plan(round)
                switch role {
                case .cloud: try cloudRound(plan)
                case let .edge(e): try edgeRound(plan, edge: e)
                case let .executor(x): try executorRound(plan, executor: x)
                }
                try distributeGlobalModel(aggregatorHasFront: true)
                if role == .cloud { try finishRound(plan) }
                roundsDone = round
                if config.checkpointEvery > 0 && round % config.checkpointEvery == 0 && round < config.rounds {
                    try saveCheckpoint()
                }
            }
        }
        return role == .cloud ? try finalRecord() : nil
    }

    /// The global front then back, as the cloud holds them after a round.
    var globalParameters: [Float] { front.store.copyParameters() + back.store.copyParameters() }

    /// The global model to the ranks that hold its halves (collective):
    /// the back from the cloud to the edge servers (one broadcast over the
    /// edge-cloud tier), the front from the aggregator to the device
    /// executors (one broadcast over the device-edge tier, which the other
    /// edge servers receive and drop; an executor receives it once for all
    /// its devices). The devices never receive the back, nor the slow
    /// device links carry it. The aggregator averaged the front itself (the
    /// cloud does not change it); at the start and on resume, when it has
    /// not (`aggregatorHasFront` false), the cloud first sends it the front
    /// over the edge-cloud tier.
    func distributeGlobalModel(aggregatorHasFront: Bool) throws {
        let r = peers.rank
        if let tier = edgeCloud {
            if !aggregatorHasFront {
                if role == .cloud {
                    var pending = [PendingSend]()
                    cloud!.roundBytes.frontBroadcast += try post(WireMessage(floats: front.store.copyParameters()), in: tier,
                                                                 to: 1, tag: CloudEdgeTag.globalFront, pending: &pending)
                    try finishSends(pending, in: tier)
                } else if role == .edge(0) {
                    let bytes = try receive(in: tier, from: 0, tag: CloudEdgeTag.globalFront, "the global front from the cloud (rank 0)")
                    aggregatedFront = try WireMessage(decoding: bytes, from: "the cloud", scalars: 0, floats: frontCount).floats
                }
            }
            let bytes = try tier.broadcast(role == .cloud ? back.store.copyParameters().withUnsafeBytes { Array($0) } : [], root: 0)
            guard bytes.count == backCount * 4 else {
                throw CloudEdgeError.failed("rank \(r): the global back half from the cloud has \(bytes.count) bytes, not \(backCount * 4)")
            }
            if role == .cloud {
                cloud!.roundBytes.backBroadcast += bytes.count * (tier.size - 1)
            } else {
                back.store.loadParameters(bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) })
            }
        }
        if let tier = deviceEdge {
            let root = role == .edge(0)
            let bytes = try tier.broadcast(root ? aggregatedFront!.withUnsafeBytes { Array($0) } : [], root: 0)
            guard bytes.count == frontCount * 4 else {
                throw CloudEdgeError.failed("rank \(r): the global front from the aggregator has \(bytes.count) bytes, not \(frontCount * 4)")
            }
            if role.isExecutor { globalFront = bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) } }
        }
        // The cloud counts the front's broadcast: to every other member of the device-edge tier.
        if role == .cloud { cloud!.roundBytes.frontBroadcast += frontCount * 4 * (roles.edges + roles.executors - 1) }
    }

    /// Sends `message` to `destination` of `group` without waiting; the
    /// round waits for its sends at its end (`finishSends`), each under the
    /// deadline. Returns the bytes sent.
    @discardableResult
    func post(_ message: WireMessage, in group: PeerGroup, to destination: Int, tag: Int,
              pending: inout [PendingSend]) throws -> Int {
        let bytes = message.encoded()
        pending.append(try group.startSend(bytes, to: destination, tag: tag))
        return bytes.count
    }

    func finishSends(_ pending: [PendingSend], in group: PeerGroup) throws {
        try group.waitAll(pending, timeout: config.communicationTimeout)
    }

    /// Waits for one message; `what` names it and the peer in the error.
    func receive(in group: PeerGroup, from source: Int, tag: Int, _ what: String) throws -> [UInt8] {
        try receiveMessage(group, from: source, tag: tag, timeout: config.communicationTimeout,
                           what: "rank \(peers.rank): \(what)")
    }

    func header() -> String {
        let c = config
        let m = c.perRound(devices: roles.devices)
        let distill = c.distill
            ? "on (T \(c.temperature), alpha \(c.distillAlpha), \(c.distillSteps) step(s), up to \(c.distillSamples) samples per edge server)"
            : "off"
        let speeds = network.edgeSpeeds.map { String(format: "%g", $0 / 1e9) }.joined(separator: ",")
        let rates = network.linkMbps.map { $0[0] }
        let links = config.topologyPath.map { "from \($0)" }
            ?? (rates.count > 32 ? (rates.min() == rates.max() ? String(format: "%g (all %d)", rates[0], rates.count)
                                                                 : String(format: "%g to %g", rates.min()!, rates.max()!))
                                 : rates.map { String(format: "%g", $0) }.joined(separator: ",")) + " Mbit/s"
        let executors = roles.virtual ? " on \(roles.executors) executor(s) (\(roles.executorRanks))" : ""
        let summary = roles.devices > 32
            ? compactPartitionSummary(histogram: histograms, holder: "device", ranks: (0..<roles.devices).map(roles.rank(ofDevice:)))
            : partitionSummary(histogram: histograms)
        return """
            edgetrain cloud-edge: \(c.model.rawValue) cut at \(c.cut) (front \(frontCount), back \(backCount), \
            cloud \(cloud?.model.parameterCount ?? 0) parameters), cloud + \(roles.edges) edge server(s) + \(roles.devices) \
            device(s)\(executors)
            \(c.rounds) rounds, \(m) device(s) per round in \(c.clusterCount) cluster(s) (\(c.clustering.rawValue), min size \
            \(c.minClusterSize)), matching \(c.matching.rawValue), \(c.localSteps) local steps, batch \(c.batch), lr \
            \(c.learningRate), distillation \(distill), seed \(c.seed)
            network: edge speeds \(speeds) GFLOP/s, device links \(links); per sample \(Int(workload.uploadBytesPerSample)) B up, \
            \(Int(workload.downloadBytesPerSample)) B down, \(String(format: "%.3g", workload.workPerSample)) FLOP on the edge
            data: \(c.data.name) (\(trainCount) train over the devices, \(test?.count ?? 0) test on the cloud)
            \(summary)\(roundsDone > 0 ? "\nresumed after round \(roundsDone)" : "")
            """
    }
}
