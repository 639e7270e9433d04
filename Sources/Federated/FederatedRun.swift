import Collectives
import Compression
import Data
import Foundation
import NN
import RunSupport

/// `edgetrain federated`: rank 0 coordinates, ranks 1..R-1 are clients
/// (one each), or with `--clients N` executors of N virtual clients placed
/// on them (`VirtualClients.swift`).
/// Collective: every rank calls it. Returns the final record on rank 0,
/// nil on the clients.
public func runFederated(config: FederatedConfig, peers: PeerGroup) throws -> FederatedFinalRecord? {
    let start = monotonicSeconds()
    let executors = peers.size - 1
    let clients = config.virtualClients ?? executors
    peers.timeout = config.communicationTimeout
    if config.asynchronous && config.aggregation.isRobust {
        throw FederatedError.setup("--aggregation \(config.aggregation.rawValue) combines a synchronous round's updates; drop --async")
    }
    guard executors >= 1 else {
        throw FederatedError.setup("federated mode needs at least 2 ranks (a coordinator and a client), got \(peers.size)")
    }
    if let problem = virtualClientsProblem(config, executors: executors) { throw FederatedError.setup(problem) }
    if let problem = config.compressionProblem { throw FederatedError.setup(problem) }
    if let speed = config.clientSpeed, speed.count != clients {
        throw FederatedError.setup("--client-speed has \(speed.count) values for \(clients) clients")
    }
    if let b = config.clientBandwidth, b.count != 1 && b.count != clients {
        throw FederatedError.setup("--client-bandwidth has \(b.count) values for \(clients) clients (give 1 or \(clients))")
    }
    if let b = config.byzantine, let bad = b.ranks.first(where: { $0 < 1 || $0 > clients }) {
        throw FederatedError.setup(config.virtualClients == nil
            ? "--byzantine rank \(bad) is not a client (clients are ranks 1...\(clients))"
            : "--byzantine client \(bad) is not a client (clients are 1...\(clients))")
    }
    if let c = config.clientsPerRound, c > clients {
        throw FederatedError.setup("--clients-per-round \(c) is more than the \(clients) clients")
    }
    // Without --clients every rank loads both sets (as always); with it,
    // every rank loads the training labels, then the coordinator the test
    // set and each executor only its clients' samples.
    let virtual = config.virtualClients != nil
    let (full, labels) = try peers.agree { () -> (full: (train: ImageDataset, test: ImageDataset)?, labels: [UInt8]) in
        if virtual { return (nil, try loadTrainingLabels(config.data, seed: config.seed)) }
        let data = try loadData(config.data, seed: config.seed)
        return (data, data.train.labels)
    }
    let classes = full?.train.classes ?? config.data.classes
    let parts = try peers.agree {
        if virtual, let problem = virtualClientsDataProblem(clients: clients, batch: config.batch, samples: labels.count) {
            throw FederatedError.setup(problem)
        }
        if virtual, case let .shards(k) = config.partition, labels.count % (clients * k) != 0 {
            throw FederatedError.setup("""
                --partition shards: \(clients) clients x \(k) shards = \(clients * k) shards do not divide the \
                \(labels.count) training samples
                """)
        }
        let parts = try partition(labels: labels, classes: classes, parts: clients, scheme: config.partition, seed: config.seed)
        try checkBatchFits(config.batch, partitions: parts, firstRank: 1, holder: virtual ? "client" : "rank")
        return parts
    }
    // Executor rank of each client, by id (index 0 unused).
    let executorOf = !virtual
        ? Array(0...clients)
        : [0] + placeClients(work: parts.map { config.defaultSteps(samples: $0.count) }, executors: executors).map { $0 + 1 }
    let mine = executorClients(parts: parts, executorOf: executorOf, rank: peers.rank)
    let local = try peers.agree { () -> ImageDataset in
        if let full { return peers.rank == 0 ? full.test : full.train }
        return peers.rank == 0 ? try loadTestSet(config.data, seed: config.seed)
                               : try loadTrainingSubset(config.data, seed: config.seed, indices: mine.samples)
    }
    let model = makeModel(config.model, imageShape: [local.height, local.width, local.channels], classes: classes,
                          hidden: config.hidden, seed: config.seed)
    if peers.rank == 0 {
        let coordinator = FederatedCoordinator(config: config, peers: peers, test: local, model: model,
                                               samples: [0] + parts.map(\.count), executorOf: executorOf, start: start)
        let tracer = coordinator.tracer
        if config.resume { try resumeFederated(config: config, peers: peers, restore: coordinator.restore) }
        coordinator.progress.line(summary(config, model: model, clients: clients, executors: executors, trainCount: labels.count,
                                          test: local)
                                  + "\n" + ComputeKernels.summary
                                  + (coordinator.roundsDone > 0 ? "\nresumed after round \(coordinator.roundsDone)" : ""))
        let histogram = labelHistogram(labels: labels, classes: classes, partitions: parts)
        coordinator.progress.line(virtual && clients > 32 ? compactPartitionSummary(histogram: histogram, holder: "client", ranks: Array(executorOf.dropFirst()))
                                                        : partitionSummary(histogram: histogram))
        let final = try coordinator.run()
        try tracer.write(to: config.tracePath, peers: peers, timeout: config.communicationTimeout)
        if let path = config.tracePath { coordinator.progress.line("trace: \(path) (open in ui.perfetto.dev or chrome://tracing)") }
        return final
    }
    let states = virtual
        ? mine.clients.map { ClientState(id: $0.id, indices: $0.indices, config: config) }
        : [ClientState(id: peers.rank, indices: parts[peers.rank - 1], config: config)]
    let client = try FederatedClient(config: config, peers: peers, train: local, states: states, model: model)
    if config.resume { try resumeFederated(config: config, peers: peers, restore: client.restore) }
    try client.run()
    try client.tracer.write(to: config.tracePath, peers: peers, timeout: config.communicationTimeout)
    return nil
}

func summary(_ c: FederatedConfig, model: Model, clients: Int, executors: Int, trainCount: Int, test: ImageDataset) -> String {
    let local = c.localSteps.map { "\($0) local steps" } ?? "\(c.localEpochs) local epoch(s)"
    let mode = c.asynchronous
        ? "async (max staleness \(c.maxStaleness), \(c.stalenessWeighting.rawValue) weight, buffer \(c.buffer), alpha \(c.asyncMixing))"
        : "sync" + (c.roundTimeout.map { ", round timeout \($0) s" } ?? "")
    let compression = c.compression.map { s -> String in
        let feedback = s.errorFeedback ? "error feedback" : "no error feedback"
        guard s.method.isTopK else {
            return "\(s.method.rawValue) (\(s.makeCodec()?.encodedBytes(count: model.parameterCount) ?? 0) bytes an upload, \(feedback))"
        }
        let kept = GroupLayout(length: model.parameterCount, groupSize: s.groupSize, ratio: s.ratio).effectiveRatio
        return "\(s.method.rawValue) (ratio \(s.ratio) (effective \(String(format: "%.4g", kept))), group \(s.groupSize), \(feedback))"
    } ?? "none"
    let a = c.autonomy
    let aggregation = c.aggregation.rawValue + (c.aggregation == .trimmedMean
        ? " (trims \(trimCount(clients: c.perRound(clients: clients), fraction: c.trimFraction)) per end)" : "")
        + (c.maxUpdateNorm.map { ", max update norm \($0)" } ?? "")
    let byzantine = c.byzantine.map { "\nbyzantine: \(c.virtualClients == nil ? "rank(s)" : "client(s)") \($0.ranks.map(String.init).joined(separator: ",")) send \($0.attack.rawValue) (S = \($0.scale))" } ?? ""
    let autonomy = a.enabled
        ? "\nautonomy: early stop \(a.earlyStop ? "on" : "off"), early transmit \(a.earlyTransmit ? "on" : "off"), "
            + "sampling every \(a.sampleEvery) rounds, benefit weight \(a.benefitWeight), converge at \(a.convergeThreshold), "
            + "re-send below cosine \(a.resendThreshold)"
        : ""
    return """
        edgetrain federated: \(model.name) (\(model.parameterCount) parameters), coordinator + \(clients) client(s)\
        \(c.virtualClients == nil ? "" : " over \(executors) executor(s)"), \
        \(c.rounds) rounds, \(c.perRound(clients: clients)) per round, \(local), batch \(c.batch), lr \(c.learningRate)
        strategy \(c.strategy.rawValue)\(c.strategy == .fedprox ? " (mu \(c.mu))" : ""), aggregation \(aggregation), \
        \(mode), uploads: \(compression), seed \(c.seed)
        data: \(c.data.name) (\(trainCount) train over the clients, \(test.count) test on the coordinator)\(autonomy)\(byzantine)
        """
}
