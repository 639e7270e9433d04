import Compression
import Data
import Foundation
import MPI
import NN

/// Resuming asked for something that is not there or does not fit. Rank 0
/// finds it and every rank learns it together.
public struct ResumeError: AgreedError {
    public let description: String
}

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
        file.set("ranks", integer: ranks)
        file.set("config_sha256", string: config.fingerprint)
        file["model"] = .floats(model.store.copyParameters())
        file["optimizer.velocity"] = .floats(Array(optimizer.velocity))
        if let ex = exchange as? GroupTopKExchange {
            file["exchange.residual"] = .floats(ex.residual)
            file["exchange.velocity"] = .floats(ex.velocity)
        }
        let s = sampler.state
        file["sampler.generator"] = .integers(s.generator.map { Int64(bitPattern: $0) })
        file["sampler.permutation"] = .integers(s.permutation.map { Int64($0) })
        file["sampler.position"] = .integers([Int64(s.position), Int64(s.passes)])
        state.save(into: &file, elapsed: monotonicSeconds() - start)
        try world.agree { try store.write(file, tag: tag, rank: rank) }
        try world.agree {
            if rank == 0 {
                try store.complete(tag: tag, manifest: [
                    "kind": "train", "step": state.step, "epoch": state.epoch, "ranks": ranks,
                    "config_sha256": config.fingerprint,
                ])
            }
        }
        let oldest = try world.broadcast(rank == 0 ? (try? store.oldestKept()) ?? tag : "", root: 0)
        if rank != 0 { store.prune(rank: rank, olderThan: oldest) }
    }

    /// Restores the newest complete checkpoint (collective). Refuses one of
    /// another rank count or configuration, and a missing one.
    func resume() throws {
        guard let store = checkpoints else { throw ResumeError(description: "--resume needs --checkpoint-dir") }
        // Rank 0 reads the manifest; every rank reads its own file, so that
        // hosts without a shared file system each keep their ranks' files.
        var tag = ""
        try world.agree {
            guard rank == 0 else { return }
            guard let newest = try store.newest() else {
                throw ResumeError(description: "--resume: no complete checkpoint in \(store.directory)")
            }
            try store.validate(newest.manifest, tag: newest.tag, ranks: ranks, configuration: config.fingerprint)
            tag = newest.tag
        }
        tag = try world.broadcast(tag, root: 0)
        try world.agree {
            let file = try store.read(tag: tag, rank: rank)
            try restore(from: file, name: store.path(tag: tag, rank: rank))
        }
        if rank == 0 { try metrics.restore(records: state.metricsRecords) }
        _ = try agreedModelHash()
    }

    func restore(from file: CheckpointFile, name: String) throws {
        func fail(_ problem: String) -> CheckpointError { CheckpointError(file: name, problem: problem) }
        guard try file.string("kind", file: name) == "train" else { throw fail("not a train checkpoint") }
        guard try file.integer("rank", file: name) == rank else { throw fail("belongs to another rank") }
        guard try file.string("config_sha256", file: name) == config.fingerprint else { throw fail("written with another configuration") }
        let parameters = try file.floats("model", file: name)
        let velocity = try file.floats("optimizer.velocity", file: name)
        guard parameters.count == model.parameterCount, velocity.count == model.parameterCount else {
            throw fail("holds \(parameters.count) parameters, the model has \(model.parameterCount)")
        }
        if let ex = exchange as? GroupTopKExchange {
            try ex.restore(residual: try file.floats("exchange.residual", file: name),
                           velocity: try file.floats("exchange.velocity", file: name), file: name)
        }
        let generator = try file.integers("sampler.generator", file: name).map { UInt64(bitPattern: $0) }
        let permutation = try file.integers("sampler.permutation", file: name).map { Int($0) }
        let position = try file.integers("sampler.position", file: name)
        let indices = sampler.state.permutation
        guard generator.count == 4, position.count == 2, permutation.sorted() == indices.sorted(),
              position[0] >= 0, position[0] < max(permutation.count, 1), position[1] >= 0
        else { throw fail("sampler state does not fit this rank's partition") }
        let progress = try TrainingProgress(from: file, name: name)
        guard progress.step >= 0, progress.epoch >= 1, progress.stepInEpoch >= 0, progress.stepInEpoch <= stepsPerEpoch,
              progress.step == (progress.epoch - 1) * stepsPerEpoch + progress.stepInEpoch
        else { throw fail("progress (step \(progress.step), epoch \(progress.epoch)) does not fit \(stepsPerEpoch) steps per epoch") }
        model.store.loadParameters(parameters)
        optimizer.loadVelocity(velocity)
        sampler = MinibatchSampler(indices: indices, batchSize: config.batch, state: .init(
            generator: generator, permutation: permutation, position: Int(position[0]), passes: Int(position[1])))
        state = progress
    }
}
