import Collectives
import Foundation
@testable import Federated
import RunSupport
import Training
import XCTest

/// Whole federated runs in one process: the coordinator and the clients are
/// threads joined by `LoopbackTransport`. Each run goes through every phase
/// of the synchronous round (`FederatedCoordinator+Sync`) and of the
/// client's round (`FederatedClient+Round`); the variants reach the phases'
/// optional branches (autonomy, FedAda, robust aggregation, compression).
final class FederatedRunTests: XCTestCase {
    /// 600 synthetic images over the clients, a 784-32-16-10 MLP, 3 rounds of
    /// 5 local steps of batch 16, Group-TopK uploads.
    func smallConfig() -> FederatedConfig {
        var c = FederatedConfig()
        c.data = .synthetic(trainCount: 600, testCount: 100)
        c.hidden = [32, 16]
        c.rounds = 3
        c.batch = 16
        c.learningRate = 0.02
        c.localSteps = 5
        c.compression = CompressionSettings()
        c.evalBatch = 100
        c.json = true
        return c
    }

    /// Rank 0's final record's model hash, versions and test loss, after
    /// checking that every client returned nil.
    func federate(_ config: FederatedConfig, ranks: Int, fault: (rank: Int, FaultyPeer.Fault)? = nil)
        throws -> (hash: String, versions: Int, rejected: Int)
    {
        let finals = try LoopbackTransport.run(ranks: ranks) { peers -> (hash: String, versions: Int, rejected: Int)? in
            var group: PeerGroup = peers
            if let fault, fault.rank == peers.rank { group = FaultyPeer(peers, fault: fault.1) }
            return try runFederated(config: config, peers: group).map { ($0.figures.modelSHA256, $0.figures.versions, $0.figures.rejectedUpdates) }
        }
        XCTAssertTrue(finals.dropFirst().allSatisfy { $0 == nil }, "clients return no record")
        return try XCTUnwrap(finals[0], "the coordinator returns the final record")
    }

    func testAFederatedRunOnTwoToEightRanks() throws {
        var hashes = Set<String>()
        for ranks in 2...8 {
            let final = try federate(smallConfig(), ranks: ranks)
            XCTAssertEqual(final.hash.count, 64, "N \(ranks)")
            XCTAssertEqual(final.versions, 3, "N \(ranks)")
            hashes.insert(final.hash)
        }
        XCTAssertEqual(hashes.count, 7, "each client count trains another model")
        XCTAssertEqual(try federate(smallConfig(), ranks: 4).hash, try federate(smallConfig(), ranks: 4).hash,
                       "a synchronous run is deterministic")
    }

    func testOneRankIsRefusedBeforeAnyMessage() {
        XCTAssertThrowsError(try federate(smallConfig(), ranks: 1)) { error in
            XCTAssertEqual("\(error)", "federated mode needs at least 2 ranks (a coordinator and a client), got 1")
        }
    }

    /// The optional branches of the round phases: autonomy's sampling
    /// rounds, early stop and early-sent layers; FedAda's step assignment;
    /// a Byzantine client rejected by the norm bound under the median; and
    /// the asynchronous loop (FedBuff, a buffer of 2).
    func testTheRoundVariantsComplete() throws {
        var autonomy = smallConfig()
        autonomy.strategy = .autonomy
        autonomy.aggregation = .fednova
        autonomy.autonomy.earlyStop = true
        autonomy.autonomy.earlyTransmit = true
        autonomy.autonomy.sampleEvery = 2
        autonomy.autonomy.convergeThreshold = 0
        autonomy.compression = nil
        autonomy.rounds = 5
        var fedada = smallConfig()
        fedada.strategy = .fedada
        fedada.clientSpeed = [1, 1, 2]
        var robust = smallConfig()
        robust.aggregation = .median
        robust.maxUpdateNorm = 100
        robust.byzantine = ByzantineSettings(ranks: [2], attack: .scale, scale: 1e6)
        var buffered = smallConfig()
        buffered.asynchronous = true
        buffered.buffer = 2
        buffered.rounds = 4
        for (name, config, rejected) in [("autonomy", autonomy, 0), ("fedada", fedada, 0), ("robust", robust, 3), ("async", buffered, 0)] {
            let final = try federate(config, ranks: 4)
            XCTAssertEqual(final.versions, config.rounds, name)
            XCTAssertEqual(final.rejected, rejected, name)
        }
    }

    /// Checkpoints after rounds 2 and 4; resuming from round 4 replays
    /// rounds 5 and 6 and ends with the model of the run that never stopped.
    /// The metrics file is removed first: a resumed run writes only rounds
    /// 5 and 6 and the final record (a fresh run would write 7 records).
    func testASynchronousRunResumesBitwise() throws {
        for ranks in [2, 3, 5, 8] {
            let dir = try temporaryDirectory("inprocess-fed")
            var config = smallConfig()
            config.rounds = 6
            let reference = try federate(config, ranks: ranks).hash
            config.checkpointDir = dir + "/ckpt"
            config.checkpointEvery = 2
            config.metricsPath = dir + "/metrics.jsonl"
            XCTAssertEqual(try federate(config, ranks: ranks).hash, reference, "N \(ranks): checkpointing changed the run")
            try FileManager.default.removeItem(atPath: dir + "/metrics.jsonl")
            config.resume = true
            XCTAssertEqual(try federate(config, ranks: ranks).hash, reference, "N \(ranks)")
            let events = try String(contentsOfFile: dir + "/metrics.jsonl", encoding: .utf8).split(separator: "\n").map {
                let r = try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
                return "\(r["event"] ?? "?") \(r["round"] ?? "")"
            }
            XCTAssertEqual(events, ["round 5", "round 6", "final "], "N \(ranks)")
        }
    }

    /// A client that never uploads: the coordinator fails with a timeout
    /// after the deadline, and every thread ends. A client that uploaded
    /// before the coordinator's last message may reach its own deadline
    /// (waiting for the next model) first; under mpirun the same race holds.
    func testAHangingClientMakesTheCoordinatorTimeOut() throws {
        for ranks in [2, 3, 5, 8] {
            var config = smallConfig()
            config.communicationTimeout = 3
            let start = Date()
            XCTAssertThrowsError(try federate(config, ranks: ranks, fault: (ranks - 1, .hangBefore(tag: FederatedTag.update)))) {
                let message = "\($0)"
                XCTAssertTrue(message == "coordinator: no client answered for 3 s"
                              || (message.hasPrefix("client ") && message.hasSuffix(": no word from the coordinator for 3 s")),
                              "N \(ranks): \(message)")
            }
            let elapsed = Date().timeIntervalSince(start)
            XCTAssertGreaterThanOrEqual(elapsed, 3)
            XCTAssertLessThan(elapsed, InProcessLiveness.hangWithTimeout3, "N \(ranks)")
        }
    }

    /// A client whose uploads are garbage: the coordinator's error names it.
    func testAClientSendingGarbageIsNamed() throws {
        for ranks in [2, 3, 5, 8] {
            let liar = max(1, ranks / 2)
            XCTAssertThrowsError(try federate(smallConfig(), ranks: ranks, fault: (liar, .garbageMessage(tag: FederatedTag.update)))) {
                XCTAssertTrue("\($0)".hasPrefix("rank \(liar) sent 3 bytes, shorter than the"), "N \(ranks): \($0)")
            }
        }
    }
}

/// What `body` writes to standard error (file descriptor 2), as text.
func capturingStandardError(_ body: () throws -> Void) throws -> String {
    let path = NSTemporaryDirectory() + "stderr-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: path) }
    let file = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    precondition(file >= 0, "cannot create \(path)")
    let saved = dup(2)
    dup2(file, 2)
    close(file)
    defer {
        dup2(saved, 2)
        close(saved)
    }
    try body()
    return try String(contentsOfFile: path, encoding: .utf8)
}

extension FederatedRunTests {
    /// Without `--clients`, 33 client ranks (more than 32) still get the full
    /// partition table, one line per rank, as before virtual clients.
    func testThirtyThreeClientRanksPrintTheFullPartitionTable() throws {
        var c = smallConfig()
        c.data = .synthetic(trainCount: 33 * 20, testCount: 20)
        c.hidden = [4]
        c.rounds = 1
        c.localSteps = 1
        c.batch = 4
        c.compression = nil
        c.evalBatch = 20
        let text = try capturingStandardError { _ = try federate(c, ranks: 34) }
        let lines = text.split(separator: "\n")
        let header = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("part size |") }, text)
        XCTAssertEqual(lines[header + 1 ..< header + 34].map { $0.split(separator: " ").first.map(String.init) },
                       (0..<33).map { String($0) }, text)
        XCTAssertFalse(text.contains("partition: 33 clients"), text)
    }
}

/// A fault that labels every update a client sends as client `id`'s
/// (header word 4), leaving its other messages alone.
func labellingUpdates(as id: Int) -> FaultyPeer.Fault {
    .rewriteMessage(tag: FederatedTag.update) { bytes in
        guard var m = try? FederatedMessage(decoding: bytes, from: "test"), m.kind == .update else { return bytes }
        m[int: .client] = id
        return m.encoded()
    }
}

extension FederatedRunTests {
    /// Without `--clients` a client's update is its rank's whatever header
    /// word 4 holds: a nonzero word changes nothing.
    func testWithoutVirtualClientsTheClientWordIsIgnored() throws {
        for ranks in [2, 3, 5] {
            let clean = try federate(smallConfig(), ranks: ranks)
            let labelled = try federate(smallConfig(), ranks: ranks, fault: (ranks - 1, labellingUpdates(as: 7)))
            XCTAssertEqual(labelled.hash, clean.hash, "N \(ranks)")
            XCTAssertEqual(labelled.rejected, 0, "N \(ranks)")
        }
    }
}
