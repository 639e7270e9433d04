import Collectives
import Data

extension CheckpointStore {
    /// Continues from the newest complete checkpoint (collective): rank 0
    /// picks it and checks its rank count and configuration, every rank reads
    /// its own file (so hosts without a shared disk work) and hands it to
    /// `restore` with its path. Any rank's failure stops every rank with
    /// one message.
    public func resume(peers: PeerGroup, configuration: String, restore: (CheckpointFile, String) throws -> Void) throws {
        var tag = ""
        try peers.agree {
            guard peers.rank == 0 else { return }
            guard let newest = try newest() else { throw RunSupportError.resume("--resume: no complete checkpoint in \(directory)") }
            try validate(newest.manifest, tag: newest.tag, ranks: peers.size, configuration: configuration)
            tag = newest.tag
        }
        tag = try peers.broadcast(tag, root: 0)
        try peers.agree {
            let name = path(tag: tag, rank: peers.rank)
            let file = try read(tag: tag, rank: peers.rank)
            guard try file.string("config_sha256", file: name) == configuration else {
                throw RunSupportError.checkpoint(file: name, problem: "written with another configuration")
            }
            try restore(file, name)
        }
    }
}

extension CheckpointFile {
    /// Saves a minibatch sampler's state.
    public mutating func set(sampler s: MinibatchSampler.State, prefix: String = "") {
        self[prefix + "sampler.generator"] = .integers(s.generator.map { Int64(bitPattern: $0) })
        self[prefix + "sampler.permutation"] = .integers(s.permutation.map { Int64($0) })
        set(prefix + "sampler.position", integer: s.position)
        set(prefix + "sampler.passes", integer: s.passes)
    }

    /// The saved sampler over `indices`, refused unless it is a shuffle of
    /// exactly those indices at a valid position. `prefix` names the
    /// sampler's owner when a file holds several (`--clients`).
    public func sampler(indices: [Int], batchSize: Int, file name: String, prefix: String = "") throws -> MinibatchSampler {
        let generator = try integers(prefix + "sampler.generator", file: name).map { UInt64(bitPattern: $0) }
        let permutation = try integers(prefix + "sampler.permutation", file: name).map { Int($0) }
        let position = try integer(prefix + "sampler.position", file: name)
        let passes = try integer(prefix + "sampler.passes", file: name)
        guard generator.count == 4, permutation.sorted() == indices.sorted(),
              position >= 0, position < max(permutation.count, 1), passes >= 0
        else { throw RunSupportError.checkpoint(file: name, problem: "sampler state does not fit this rank's partition") }
        return MinibatchSampler(indices: indices, batchSize: batchSize, state: .init(
            generator: generator, permutation: permutation, position: position, passes: passes))
    }
}
