import Collectives
import NN
import RunSupport

/// Cloud-edge checkpoints, after rounds K, 2K, ... (`--checkpoint-every K`),
/// once the global model has gone out: every rank writes its own file
/// through `CheckpointStore`, then rank 0 marks the checkpoint complete.
/// Between rounds the state is small, since every model trains with plain
/// SGD (no momentum) and every round's plan follows from the seed:
///
/// - the cloud: the global front and back, the cloud model, the run's
///   counters and last evaluations, the metrics records written;
/// - a device executor: each of its devices' minibatch sampler, under
///   `device.<id>.` (with `--devices`, all the devices it serves);
/// - an edge server: nothing but its role (its back half is the global one).
///
/// Every rank's file carries the round. On resume the cloud sends the
/// global model to every rank again, so that a resumed run continues with
/// the bits the uninterrupted one had.
extension CloudEdgeRun {
    var store: CheckpointStore? { config.checkpointDir.map { CheckpointStore(directory: $0) } }

    var roleName: String {
        switch role {
        case .cloud: return "cloud"
        case .edge: return "edge"
        case .executor: return "device"
        }
    }

    func saveCheckpoint() throws {
        guard let store else { return }
        let tag = CheckpointStore.tag(roundsDone)
        let rank = peers.rank
        var file = CheckpointFile()
        file.set("kind", string: "cloud-edge-\(roleName)")
        file.set("rank", integer: rank)
        file.set("config_sha256", string: config.fingerprint(network: network))
        file.set("round", integer: roundsDone)
        for device in deviceStates { file.set(sampler: device.sampler.state, prefix: "device.\(device.id).") }
        if let state = cloud {
            file["model"] = .floats(globalParameters)
            file["cloud_model"] = .floats(state.model.store.copyParameters())
            // The final record is not written yet: this counts the round records.
            file.set("metrics_records", integer: state.metricsRecords)
            file.set("elapsed_s", double: monotonicSeconds() - startTime + state.elapsedBefore)
            file.set("emulated_s", double: state.emulatedSeconds)
            file["evaluations"] = .doubles([state.lastEdge.loss, state.lastEdge.accuracy, state.lastCloud.loss, state.lastCloud.accuracy])
            let b = state.totalBytes
            file["bytes"] = .integers([b.deviceEdgeUp, b.deviceEdgeDown, b.frontUpload, b.backUpload, b.edgeCloudUp,
                                       b.frontBroadcast, b.backBroadcast].map { Int64($0) })
        }
        try peers.agree { try store.write(file, tag: tag, rank: rank) }
        try peers.agree {
            if rank == 0 {
                try store.complete(tag: tag, manifest: CheckpointManifest(
                    kind: "cloud-edge", ranks: peers.size, configSHA256: config.fingerprint(network: network), round: roundsDone))
            }
        }
        let oldest = try peers.broadcast(rank == 0 ? (try? store.oldestKept()) ?? tag : "", root: 0)
        if rank != 0 { store.prune(rank: rank, olderThan: oldest) }
    }

    /// Continues from the newest complete checkpoint (collective).
    func resume() throws {
        guard let store else { return try peers.agree { throw RunSupportError.resume("--resume needs --checkpoint-dir") } }
        try store.resume(peers: peers, configuration: config.fingerprint(network: network), restore: restore)
        if let state = cloud { try state.metrics.restore(records: state.metricsRecords) }
        try distributeGlobalModel(aggregatorHasFront: false)
        cloud?.roundBytes = LinkBytes()
    }

    func restore(from file: CheckpointFile, name: String) throws {
        func fail(_ problem: String) -> RunSupportError { RunSupportError.checkpoint(file: name, problem: problem) }
        guard try file.string("kind", file: name) == "cloud-edge-\(roleName)" else { throw fail("not a cloud-edge \(roleName) checkpoint") }
        guard try file.integer("rank", file: name) == peers.rank else { throw fail("belongs to another rank") }
        let round = try file.integer("round", file: name)
        guard round >= 1 && round <= config.rounds else { throw fail("round \(round) does not fit this run") }
        for (i, device) in deviceStates.enumerated() {
            deviceStates[i].sampler = try file.sampler(indices: device.indices, batchSize: config.batch, file: name,
                                                       prefix: "device.\(device.id).")
        }
        if let state = cloud {
            let model = try file.floats("model", file: name)
            let cloudModel = try file.floats("cloud_model", file: name)
            let evaluations = try file.doubles("evaluations", file: name)
            let bytes = try file.integers("bytes", file: name)
            guard model.count == front.parameterCount + back.parameterCount, cloudModel.count == state.model.parameterCount,
                  evaluations.count == 4, bytes.count == 7
            else { throw fail("sections do not fit this run") }
            front.store.loadParameters(Array(model[..<front.parameterCount]))
            back.store.loadParameters(Array(model[front.parameterCount...]))
            state.model.store.loadParameters(cloudModel)
            state.metricsRecords = try file.integer("metrics_records", file: name)
            state.elapsedBefore = try file.double("elapsed_s", file: name)
            state.emulatedSeconds = try file.double("emulated_s", file: name)
            state.lastEdge = (evaluations[0], evaluations[1])
            state.lastCloud = (evaluations[2], evaluations[3])
            var b = LinkBytes()
            (b.deviceEdgeUp, b.deviceEdgeDown, b.frontUpload, b.backUpload, b.edgeCloudUp, b.frontBroadcast, b.backBroadcast) =
                (Int(bytes[0]), Int(bytes[1]), Int(bytes[2]), Int(bytes[3]), Int(bytes[4]), Int(bytes[5]), Int(bytes[6]))
            state.totalBytes = b
        }
        roundsDone = round
    }
}
