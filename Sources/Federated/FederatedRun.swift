import Collectives
import Compression
import Data
import Foundation
import NN
import RunSupport

/// `edgetrain federated`: rank 0 coordinates, ranks 1..N-1 are clients.
/// Collective: every rank calls it. Returns the final record on rank 0,
/// nil on the clients.
public func runFederated(config: FederatedConfig, peers: PeerGroup) throws -> FederatedFinalRecord? {
    let start = monotonicSeconds()
    let clients = peers.size - 1
    peers.timeout = config.communicationTimeout
    if config.asynchronous && config.aggregation.isRobust {
        throw FederatedError.setup("--aggregation \(config.aggregation.rawValue) combines a synchronous round's updates; drop --async")
    }
    guard clients >= 1 else {
        throw FederatedError.setup("federated mode needs at least 2 ranks (a coordinator and a client), got \(peers.size)")
    }
    if let speed = config.clientSpeed, speed.count != clients {
        throw FederatedError.setup("--client-speed has \(speed.count) values for \(clients) clients")
    }
    if let b = config.clientBandwidth, b.count != 1 && b.count != clients {
        throw FederatedError.setup("--client-bandwidth has \(b.count) values for \(clients) clients (give 1 or \(clients))")
    }
    if let b = config.byzantine, let bad = b.ranks.first(where: { $0 < 1 || $0 > clients }) {
        throw FederatedError.setup("--byzantine rank \(bad) is not a client (clients are ranks 1...\(clients))")
    }
    if let c = config.clientsPerRound, c > clients {
        throw FederatedError.setup("--clients-per-round \(c) is more than the \(clients) clients")
    }
    let (train, test) = try peers.agree { try loadData(config.data, seed: config.seed) }
    let parts = try peers.agree {
        let parts = try partition(labels: train.labels, classes: train.classes, parts: clients, scheme: config.partition, seed: config.seed)
        try checkBatchFits(config.batch, partitions: parts, firstRank: 1)
        return parts
    }
    let model = makeModel(config.model, imageShape: [train.height, train.width, train.channels], classes: train.classes,
                          hidden: config.hidden, seed: config.seed)
    if peers.rank == 0 {
        let coordinator = FederatedCoordinator(config: config, peers: peers, test: test, model: model,
                                               samples: [0] + parts.map(\.count), start: start)
        if config.resume { try resumeFederated(config: config, peers: peers, restore: coordinator.restore) }
        coordinator.progress.line(summary(config, model: model, clients: clients, train: train, test: test)
                                  + "\n" + ComputeKernels.summary
                                  + (coordinator.roundsDone > 0 ? "\nresumed after round \(coordinator.roundsDone)" : ""))
        coordinator.progress.line(partitionSummary(histogram: labelHistogram(labels: train.labels, classes: train.classes,
                                                                             partitions: parts)))
        return try coordinator.run()
    }
    let client = FederatedClient(config: config, peers: peers, train: train, indices: parts[peers.rank - 1], model: model)
    if config.resume { try resumeFederated(config: config, peers: peers, restore: client.restore) }
    try client.run()
    return nil
}

func summary(_ c: FederatedConfig, model: Model, clients: Int, train: ImageDataset, test: ImageDataset) -> String {
    let local = c.localSteps.map { "\($0) local steps" } ?? "\(c.localEpochs) local epoch(s)"
    let mode = c.asynchronous
        ? "async (max staleness \(c.maxStaleness), \(c.stalenessWeighting.rawValue) weight, buffer \(c.buffer), alpha \(c.asyncMixing))"
        : "sync" + (c.roundTimeout.map { ", round timeout \($0) s" } ?? "")
    let compression = c.compression.map {
        let kept = GroupLayout(length: model.parameterCount, groupSize: $0.groupSize, ratio: $0.ratio).effectiveRatio
        return "group-topk (ratio \($0.ratio) (effective \(String(format: "%.4g", kept))), group \($0.groupSize))"
    } ?? "none"
    let a = c.autonomy
    let aggregation = c.aggregation.rawValue + (c.aggregation == .trimmedMean
        ? " (trims \(trimCount(clients: c.perRound(clients: clients), fraction: c.trimFraction)) per end)" : "")
        + (c.maxUpdateNorm.map { ", max update norm \($0)" } ?? "")
    let byzantine = c.byzantine.map { "\nbyzantine: rank(s) \($0.ranks.map(String.init).joined(separator: ",")) send \($0.attack.rawValue) (S = \($0.scale))" } ?? ""
    let autonomy = a.enabled
        ? "\nautonomy: early stop \(a.earlyStop ? "on" : "off"), early transmit \(a.earlyTransmit ? "on" : "off"), "
            + "sampling every \(a.sampleEvery) rounds, benefit weight \(a.benefitWeight), converge at \(a.convergeThreshold), "
            + "re-send below cosine \(a.resendThreshold)"
        : ""
    return """
        edgetrain federated: \(model.name) (\(model.parameterCount) parameters), coordinator + \(clients) client(s), \
        \(c.rounds) rounds, \(c.perRound(clients: clients)) per round, \(local), batch \(c.batch), lr \(c.learningRate)
        strategy \(c.strategy.rawValue)\(c.strategy == .fedprox ? " (mu \(c.mu))" : ""), aggregation \(aggregation), \
        \(mode), uploads: \(compression), seed \(c.seed)
        data: \(c.data.name) (\(train.count) train over the clients, \(test.count) test on the coordinator)\(autonomy)\(byzantine)
        """
}
