import Compression
import Data
import Foundation
import NN
import RunSupport

extension DataParallelTrainer {
    var checkpoints: CheckpointStore? { config.checkpointDir.map { CheckpointStore(directory: $0) } }

    /// Writes checkpoint `step`: every rank its own file (model, optimizer
    /// momentum, error-feedback residual, sampler, progress), then rank 0
    /// marks it complete. Any rank's failure (a full disk) stops every rank,
    /// and the previous checkpoint stays complete.
    func saveCheckpoint() throws {
        guard let store = checkpoints else { return }
        let tag = CheckpointStore.tag(state.step)
        var file = CheckpointFile()
        file.set("kind", string: "train")
        file.set("rank", integer: rank)
        file.set("config_sha256", string: config.fingerprint)
        file["model"] = .floats(model.store.copyParameters())
        file["optimizer.velocity"] = .floats(Array(optimizer.velocity))
        if let ex = exchange as? GroupTopKExchange {
            file["exchange.residual"] = .floats(ex.residual)
            file["exchange.velocity"] = .floats(ex.velocity)
        }
        file.set(sampler: sampler.state)
        state.save(into: &file, elapsed: monotonicSeconds() - start)
        try peers.agree { try store.write(file, tag: tag, rank: rank) }
        try peers.agree {
            if rank == 0 {
                try store.complete(tag: tag, manifest: CheckpointManifest(
                    kind: "train", ranks: ranks, configSHA256: config.fingerprint, step: state.step, epoch: state.epoch))
            }
        }
        let oldest = try peers.broadcast(rank == 0 ? (try? store.oldestKept()) ?? tag : "", root: 0)
        if rank != 0 { store.prune(rank: rank, olderThan: oldest) }
    }

    /// Restores the newest complete checkpoint (collective). Refuses one of
    /// another rank count or configuration, and a missing one.
    func resume() throws {
        guard let store = checkpoints else {
            // Every rank finds this: agree makes it one line, every rank stopping.
            return try peers.agree { throw RunSupportError.resume("--resume needs --checkpoint-dir") }
        }
        try store.resume(peers: peers, configuration: config.fingerprint, restore: restore)
        if rank == 0 { try metrics.restore(records: state.metricsRecords) }
        _ = try agreedModelHash()
    }

    func restore(from file: CheckpointFile, name: String) throws {
        func fail(_ problem: String) -> RunSupportError { RunSupportError.checkpoint(file: name, problem: problem) }
        guard try file.string("kind", file: name) == "train" else { throw fail("not a train checkpoint") }
        guard try file.integer("rank", file: name) == rank else { throw fail("belongs to another rank") }
        let parameters = try file.floats("model", file: name)
        let velocity = try file.floats("optimizer.velocity", file: name)
        guard parameters.count == model.parameterCount, velocity.count == model.parameterCount else {
            throw fail("holds \(parameters.count) parameters, the model has \(model.parameterCount)")
        }
        if let ex = exchange as? GroupTopKExchange {
            try ex.restore(residual: try file.floats("exchange.residual", file: name),
                           velocity: try file.floats("exchange.velocity", file: name), file: name)
        }
        let restoredSampler = try file.sampler(indices: sampler.state.permutation, batchSize: config.batch, file: name)
        let progress = try TrainingProgress(from: file, name: name)
        guard progress.step >= 0, progress.epoch >= 1, progress.stepInEpoch >= 0, progress.stepInEpoch <= stepsPerEpoch,
              progress.step == (progress.epoch - 1) * stepsPerEpoch + progress.stepInEpoch
        else { throw fail("progress (step \(progress.step), epoch \(progress.epoch)) does not fit \(stepsPerEpoch) steps per epoch") }
        model.store.loadParameters(parameters)
        optimizer.loadVelocity(velocity)
        sampler = restoredSampler
        state = progress
    }
}
