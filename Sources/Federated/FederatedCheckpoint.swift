import Collectives
import Compression
import Data
import Foundation
import NN
import RunSupport

/// Federated checkpoints: after round K, 2K, ... the coordinator asks every
/// client to write its file (sampler, slowdown state, upload residual,
/// autonomy curves, codec upload count), collects their answers, then
/// writes its own (global model, version, FedAda and autonomy state,
/// counters) and marks the checkpoint complete. A synchronous run without round timeouts or FedAda
/// resumes bitwise exactly.
extension FederatedCoordinator {
    var checkpoints: CheckpointStore? { config.checkpointDir.map { CheckpointStore(directory: $0) } }

    func saveCheckpoint(round: Int) throws {
        guard let store = checkpoints else { return }
        let tag = CheckpointStore.tag(round)
        var request = FederatedMessage(kind: .checkpoint)
        request[int: .round] = round
        request[int: .keepFrom] = roundsKeptFrom(store)
        for r in executors {
            pending.append(try peers.startSend(request.encoded(), to: r, tag: FederatedTag.model))
        }
        var waiting = Set(executors)
        var failures = [String]()
        while !waiting.isEmpty {
            guard let (client, message, bytes, _) = try nextMessage(deadline: nil) else { continue }
            if message.kind == .checkpointDone {
                waiting.remove(client)
                if message[int: .failed] != 0 { failures.append(String(decoding: message.payload, as: UTF8.self)) }
                continue
            }
            // Work that was still in flight (round timeouts, async) is dropped.
            bytesUp += bytes
            if message.kind != .layer {
                busy.remove(client)
                late += 1
            }
        }
        if let first = failures.first { throw FederatedError.failed("checkpoint after round \(round) failed: \(first)") }
        var file = CheckpointFile()
        file.set("kind", string: "federated-coordinator")
        file.set("config_sha256", string: config.fingerprint)
        file["model"] = .floats(model.store.copyParameters())
        file.set("round", integer: round)
        file.set("version", integer: version)
        file.set("bytes_up", integer: bytesUp)
        file.set("bytes_down", integer: bytesDown)
        file.set("dropped", integer: dropped)
        file.set("late", integer: late)
        file.set("metrics_records", integer: metricsRecords)
        file.set("rejected", integer: rejected)
        file.set("elapsed_s", double: monotonicSeconds() - start)
        file.set("test_loss", double: lastTest.loss)
        file.set("test_accuracy", double: lastTest.accuracy)
        file.set("reference_s", double: reference)
        if let t = fedAda.initialMaxRoundTime { file.set("fedada.initial_max_round_s", double: t) }
        let assigned = assignment.sorted { $0.key < $1.key }
        file["assignment"] = .integers(assigned.flatMap { [Int64($0.key), Int64($0.value)] })
        try store.write(file, tag: tag, rank: 0)
        try store.complete(tag: tag, manifest: CheckpointManifest(
            kind: "federated", ranks: peers.size, configSHA256: config.fingerprint, round: round))
    }

    /// The oldest round of the checkpoints kept now, before this one
    /// completes: the older of the newest `keep - 1` complete ones (this
    /// one makes `keep`). 0 when there are none.
    func roundsKeptFrom(_ store: CheckpointStore) -> Int {
        let kept = ((try? store.completeTags()) ?? []).suffix(store.keep - 1)
        return kept.first.flatMap { Int($0.dropFirst("ckpt-".count)) } ?? 0
    }

    func restore(from file: CheckpointFile, name: String) throws {
        func fail(_ problem: String) -> RunSupportError { RunSupportError.checkpoint(file: name, problem: problem) }
        guard try file.string("kind", file: name) == "federated-coordinator" else { throw fail("not a coordinator checkpoint") }
        let parameters = try file.floats("model", file: name)
        let round = try file.integer("round", file: name)
        let counts = try ["version", "bytes_up", "bytes_down", "dropped", "late", "metrics_records", "rejected"].map {
            try file.integer($0, file: name)
        }
        let assigned = try file.integers("assignment", file: name)
        let initialMaxRoundTime = file["fedada.initial_max_round_s"] == nil ? nil : try file.double("fedada.initial_max_round_s", file: name)
        guard parameters.count == model.parameterCount, assigned.count % 2 == 0, round >= 1, round <= config.rounds
        else { throw fail("sections do not fit this run") }
        model.store.loadParameters(parameters)
        roundsDone = round
        (version, bytesUp, bytesDown, dropped, late, metricsRecords, rejected) =
            (counts[0], counts[1], counts[2], counts[3], counts[4], counts[5], counts[6])
        elapsedBefore = try file.double("elapsed_s", file: name)
        lastTest = (try file.double("test_loss", file: name), try file.double("test_accuracy", file: name))
        reference = try file.double("reference_s", file: name)
        fedAda = FedAdaAssigner(initialMaxRoundTime: initialMaxRoundTime)
        assignment = [:]
        for k in stride(from: 0, to: assigned.count, by: 2) { assignment[Int(assigned[k])] = Int(assigned[k + 1]) }
        try metrics.restore(records: metricsRecords)
    }
}

extension FederatedClient {
    /// Writes this client's file for checkpoint `round` and tells the
    /// coordinator how it went.
    func answerCheckpoint(_ message: FederatedMessage) throws {
        var answer = FederatedMessage(kind: .checkpointDone)
        answer[int: .round] = message[int: .round]
        do {
            guard let dir = config.checkpointDir else { throw FederatedError.failed("no checkpoint directory") }
            let store = CheckpointStore(directory: dir)
            store.prune(rank: peers.rank, olderThan: CheckpointStore.tag(message[int: .keepFrom]))
            try store.write(try checkpointFile(), tag: CheckpointStore.tag(message[int: .round]), rank: peers.rank)
        } catch {
            answer[int: .failed] = 1
            answer.payload = Array("\(error)".utf8)
        }
        try peers.send(answer.encoded(), to: 0, tag: FederatedTag.update)
    }

    /// The rank's file: its client's state, or with `--clients` the list of
    /// its clients and each one's state under `client.ID.`.
    func checkpointFile() throws -> CheckpointFile {
        var file = CheckpointFile()
        file.set("kind", string: "federated-client")
        file.set("config_sha256", string: config.fingerprint)
        guard accountsEmulatedTime else {
            save(current, prefix: "", into: &file)
            return file
        }
        let states = ([current] + others.values).sorted { $0.id < $1.id }
        file["clients"] = .integers(states.map { Int64($0.id) })
        for s in states { save(try unparked(s), prefix: "client.\(s.id).", into: &file) }
        return file
    }

    func save(_ state: ClientState, prefix p: String, into file: inout CheckpointFile) {
        file.set(sampler: state.sampler.state, prefix: p)
        let g = state.speed.rng.state
        file[p + "speed.generator"] = .integers([g.0, g.1, g.2, g.3].map { Int64(bitPattern: $0) })
        file.set(p + "speed.slow_steps_left", integer: state.speed.slowStepsLeft)
        file[p + "residual"] = .floats(state.residual)
        file.set(p + "codec_uploads", integer: state.codecUploads)
        file[p + "curves.count"] = .integers([Int64(state.curves.count)])
        for (k, c) in state.curves.enumerated() {
            file[p + "curves.\(k).overall"] = .doubles(c.overall)
            file[p + "curves.\(k).layers"] = .doubles(c.layers.flatMap { $0 })
        }
    }

    func restore(from file: CheckpointFile, name: String) throws {
        guard try file.string("kind", file: name) == "federated-client" else {
            throw RunSupportError.checkpoint(file: name, problem: "not a client checkpoint")
        }
        guard accountsEmulatedTime else { return current = try restored(current, from: file, prefix: "", name: name) }
        let ids = try file.integers("clients", file: name).map { Int($0) }
        guard ids == ([current.id] + others.keys).sorted() else {
            throw RunSupportError.checkpoint(file: name, problem: "its \(ids.count) clients are not the \(others.count + 1) this rank serves")
        }
        // Every state is read before any is replaced.
        let states = try ([current] + others.values).map { try restored($0, from: file, prefix: "client.\($0.id).", name: name) }
        current = states[0]
        for s in states.dropFirst() { others[s.id] = try parked(s) }
    }

    /// `state` with the sampler, slowdown state, residual, curves and codec
    /// upload count saved under `prefix`.
    func restored(_ state: ClientState, from file: CheckpointFile, prefix p: String, name: String) throws -> ClientState {
        func fail(_ problem: String) -> RunSupportError { RunSupportError.checkpoint(file: name, problem: problem) }
        let restoredSampler = try file.sampler(indices: state.indices, batchSize: config.batch, file: name, prefix: p)
        let generator = try file.integers(p + "speed.generator", file: name)
        let slowStepsLeft = try file.integer(p + "speed.slow_steps_left", file: name)
        let savedResidual = try file.floats(p + "residual", file: name)
        // Absent from checkpoints written before async uploads were counted:
        // a synchronous run never reads the count, and an async one starts it at 0.
        let codecUploads = file[p + "codec_uploads"] == nil ? 0 : try file.integer(p + "codec_uploads", file: name)
        let curveCount = try file.integer(p + "curves.count", file: name)
        guard generator.count == 4, slowStepsLeft >= 0, codecUploads >= 0, savedResidual.isEmpty || (config.compression?.errorFeedback == true && savedResidual.count == model.parameterCount), (0...2).contains(curveCount)
        else { throw fail("client state does not fit this run") }
        var restoredCurves = [ProgressCurve]()
        for k in 0..<curveCount {
            let overall = try file.doubles(p + "curves.\(k).overall", file: name)
            let flat = try file.doubles(p + "curves.\(k).layers", file: name)
            guard !overall.isEmpty, flat.count == overall.count * layers.count else { throw fail("curve \(k) has the wrong size") }
            restoredCurves.append(ProgressCurve(overall: overall, layers: (0..<layers.count).map {
                Array(flat[$0 * overall.count..<($0 + 1) * overall.count])
            }))
        }
        var s = state
        s.sampler = restoredSampler
        let words = generator.map { UInt64(bitPattern: $0) }
        s.speed.restore(state: (words[0], words[1], words[2], words[3]), slowStepsLeft: slowStepsLeft)
        s.residual = savedResidual
        s.residualSpilled = false
        s.codecUploads = codecUploads
        s.curves = restoredCurves
        return s
    }
}

/// Continues a federated run from the newest complete checkpoint.
func resumeFederated(config: FederatedConfig, peers: PeerGroup, restore: (CheckpointFile, String) throws -> Void) throws {
    guard let dir = config.checkpointDir else { throw FederatedError.setup("--resume needs --checkpoint-dir") }
    try CheckpointStore(directory: dir).resume(peers: peers, configuration: config.fingerprint, restore: restore)
}
