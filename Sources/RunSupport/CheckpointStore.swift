import Foundation

/// The COMPLETE file of a checkpoint: what rank 0 checks before any rank
/// reads its file. JSON, keys as below.
public struct CheckpointManifest: Codable, Equatable, Sendable {
    /// `CheckpointFile.formatVersion` of the files it completes.
    public var formatVersion: Int
    /// "train", "federated" or "cloud-edge".
    public var kind: String
    public var ranks: Int
    /// The run's configuration fingerprint (`TrainConfig.fingerprint`, `FederatedConfig.fingerprint`).
    public var configSHA256: String
    /// Train: the step and epoch it was written at.
    public var step: Int?
    public var epoch: Int?
    /// Federated and cloud-edge: the round it was written after.
    public var round: Int?

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version", kind, ranks, configSHA256 = "config_sha256", step, epoch, round
    }

    public init(kind: String, ranks: Int, configSHA256: String, step: Int? = nil, epoch: Int? = nil, round: Int? = nil) {
        formatVersion = CheckpointFile.formatVersion
        self.kind = kind
        self.ranks = ranks
        self.configSHA256 = configSHA256
        self.step = step
        self.epoch = epoch
        self.round = round
    }
}

/// A directory of checkpoints, one subdirectory per checkpoint:
///
///     DIR/ckpt-000000120/rank-0.ckpt ... rank-<N-1>.ckpt
///     DIR/ckpt-000000120/COMPLETE      JSON manifest, written last by rank 0
///
/// Every rank writes its own file atomically (temporary file, fsync,
/// rename); rank 0 writes COMPLETE only after every rank has written, so a
/// checkpoint is complete exactly when COMPLETE exists. A crash or a full
/// disk in the middle leaves an incomplete directory that `newest` ignores,
/// and the previous complete checkpoint untouched. After a checkpoint
/// completes, rank 0 removes all but the newest `keep` complete ones, and
/// every other rank removes its own files older than those (`prune`), so
/// hosts without a shared disk do not pile up old checkpoints.
public struct CheckpointStore: Sendable {
    public let directory: String
    public var keep = 2

    public init(directory: String) {
        self.directory = directory
    }

    /// The directory name of checkpoint number `index` (a step or a round).
    public static func tag(_ index: Int) -> String { String(format: "ckpt-%09d", index) }

    public func path(tag: String, rank: Int) -> String { "\(directory)/\(tag)/rank-\(rank).ckpt" }

    /// Writes this rank's part of checkpoint `tag`.
    public func write(_ file: CheckpointFile, tag: String, rank: Int) throws {
        let dir = "\(directory)/\(tag)"
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        } catch {
            throw RunSupportError.output(path: dir, problem: "cannot create the checkpoint directory: \(error.localizedDescription)")
        }
        try writeAtomically(file.encoded(), to: path(tag: tag, rank: rank))
    }

    /// Rank 0, once every rank has written: marks `tag` complete with
    /// `manifest` and prunes older complete checkpoints.
    public func complete(tag: String, manifest: CheckpointManifest) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        try writeAtomically(Array(try encoder.encode(manifest)) + Array("\n".utf8), to: "\(directory)/\(tag)/COMPLETE")
        let complete = try completeTags()
        for old in complete.dropLast(keep) {
            try? FileManager.default.removeItem(atPath: "\(directory)/\(old)")
        }
    }

    /// The oldest checkpoint rank 0 keeps after `complete` (rank 0's view).
    public func oldestKept() throws -> String? { try completeTags().suffix(keep).first }

    /// Removes this rank's files of checkpoints older than `tag`, and their
    /// directories once empty.
    public func prune(rank: Int, olderThan tag: String) {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for old in entries where old.hasPrefix("ckpt-") && old < tag {
            try? FileManager.default.removeItem(atPath: path(tag: old, rank: rank))
            if (try? FileManager.default.contentsOfDirectory(atPath: "\(directory)/\(old)"))?.isEmpty == true {
                try? FileManager.default.removeItem(atPath: "\(directory)/\(old)")
            }
        }
    }

    /// Complete checkpoints, oldest first.
    public func completeTags() throws -> [String] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        return entries.filter {
            $0.hasPrefix("ckpt-") && FileManager.default.fileExists(atPath: "\(directory)/\($0)/COMPLETE")
        }.sorted()
    }

    /// The newest complete checkpoint and its manifest, or nil if there is
    /// none. A manifest of another format version is refused with one line
    /// naming it and both versions.
    public func newest() throws -> (tag: String, manifest: CheckpointManifest)? {
        guard let tag = try completeTags().last else { return nil }
        let path = "\(directory)/\(tag)/COMPLETE"
        guard let data = FileManager.default.contents(atPath: path),
              let fields = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        else { throw RunSupportError.checkpoint(file: path, problem: "unreadable manifest") }
        let version = fields["format_version"] as? Int ?? 1
        guard version == CheckpointFile.formatVersion else {
            throw RunSupportError.checkpoint(file: path, problem: "checkpoint format version \(version); this build reads version \(CheckpointFile.formatVersion) (resume with the build that wrote it, or start afresh)")
        }
        guard let manifest = try? JSONDecoder().decode(CheckpointManifest.self, from: data) else {
            throw RunSupportError.checkpoint(file: path, problem: "unreadable manifest")
        }
        return (tag, manifest)
    }

    /// Reads this rank's part of checkpoint `tag`.
    public func read(tag: String, rank: Int) throws -> CheckpointFile {
        let file = path(tag: tag, rank: rank)
        guard let data = FileManager.default.contents(atPath: file) else {
            throw RunSupportError.checkpoint(file: file, problem: "missing or unreadable")
        }
        return try CheckpointFile(decoding: Array(data), file: file)
    }

    /// Checks a manifest against this run: same rank count and configuration.
    public func validate(_ manifest: CheckpointManifest, tag: String, ranks: Int, configuration: String) throws {
        let path = "\(directory)/\(tag)/COMPLETE"
        guard manifest.ranks == ranks else {
            throw RunSupportError.checkpoint(file: path, problem: "written by \(manifest.ranks) ranks; this run has \(ranks) (resume with the same -np)")
        }
        guard manifest.configSHA256 == configuration else {
            throw RunSupportError.checkpoint(file: path, problem: "written with a different configuration (config_sha256 \(manifest.configSHA256), this run \(configuration)); resume with the same flags")
        }
    }
}
