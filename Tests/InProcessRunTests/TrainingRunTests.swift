import Collectives
import Foundation
import Training
import XCTest

/// Whole data-parallel runs in one process: every rank a thread, the ranks
/// joined by `LoopbackTransport`. The same code runs under mpirun with
/// `MPITransport` (IntegrationTests/InProcessMatchesMPITests compares the two).
final class TrainingRunTests: XCTestCase {
    /// Small: 600 synthetic images, a 784-32-16-10 MLP, 2 epochs of batch 16
    /// per rank (38 steps on one rank, 5 on eight).
    func smallConfig(compression: Bool = true) -> TrainConfig {
        var c = TrainConfig()
        c.data = .synthetic(trainCount: 600, testCount: 100)
        c.hidden = [32, 16]
        c.epochs = 2
        c.batch = 16
        c.learningRate = 0.02
        c.evalBatch = 100
        c.json = true
        if !compression { c.compression = nil }
        return c
    }

    func stepsPerEpoch(_ c: TrainConfig, ranks: Int) -> Int {
        guard case let .synthetic(trainCount, _) = c.data else { preconditionFailure("synthetic data only") }
        return (trainCount + ranks * c.batch - 1) / (ranks * c.batch)
    }

    /// Each rank's final record's model hash and step count.
    func train(_ config: TrainConfig, ranks: Int) throws -> [(hash: String, steps: Int, accuracy: Double)] {
        try LoopbackTransport.run(ranks: ranks) { peers in
            let final = try DataParallelTrainer(config: config, peers: peers).run().figures
            return (final.modelSHA256, final.steps, final.testAccuracy)
        }
    }

    func testATrainingRunOnOneToEightRanksEndsWithOneModel() throws {
        for ranks in 1...8 {
            for compression in [true, false] where compression || ranks % 3 == 1 {
                let config = smallConfig(compression: compression)
                let finals = try train(config, ranks: ranks)
                let name = "N \(ranks), \(compression ? "group-topk" : "dense")"
                XCTAssertEqual(finals.count, ranks)
                XCTAssertEqual(finals[0].hash.count, 64, name)
                XCTAssertEqual(Set(finals.map(\.hash)).count, 1, "\(name): ranks ended with different models")
                XCTAssertEqual(finals[0].steps, 2 * stepsPerEpoch(config, ranks: ranks), name)
                // Ten classes: chance is 0.1 (eight ranks train only 10 steps).
                XCTAssertGreaterThan(finals[0].accuracy, 0.2, name)
            }
        }
    }

    func testTheSameSeedGivesTheSameModelAndAnotherSeedAnother() throws {
        var config = smallConfig()
        let first = try train(config, ranks: 3)[0].hash
        XCTAssertEqual(try train(config, ranks: 3)[0].hash, first)
        config.seed = 2
        XCTAssertNotEqual(try train(config, ranks: 3)[0].hash, first)
    }

    /// A run stopped after its checkpoint (one step into epoch 2) and resumed
    /// ends with the model of the run that was never stopped, bit for bit.
    /// The stop: a rank's model
    /// is nudged (the hash check stops every rank), or on one rank, the rank
    /// hangs until its deadline. The metrics file is removed before the
    /// resume: a resumed run writes only the records after its checkpoint
    /// (epoch 2 and the final one), where a fresh run would write all three.
    func testResumingFromACheckpointMatchesTheUninterruptedRun() throws {
        for ranks in [1, 2, 3, 5, 8] {
            let dir = try temporaryDirectory("inprocess-ckpt")
            let metrics = dir + "/metrics.jsonl"
            var config = smallConfig()
            let uninterrupted = try train(config, ranks: ranks)[0].hash
            let stopAt = stepsPerEpoch(config, ranks: ranks) + 2
            config.checkpointDir = dir + "/ckpt"
            config.checkpointEvery = stopAt - 1
            config.checkEvery = 1
            config.metricsPath = metrics
            var stopped = config
            if ranks == 1 {
                stopped.injectFault = InjectedFault(kind: .hang, rank: 0, step: stopAt)
                stopped.communicationTimeout = 2
            } else {
                stopped.injectFault = InjectedFault(kind: .diverge, rank: ranks - 1, step: stopAt)
            }
            XCTAssertThrowsError(try train(stopped, ranks: ranks), "N \(ranks): the stopped run must fail") { error in
                let expected = ranks == 1 ? "within 2.0 s" : "model diverged across ranks at step \(stopAt)"
                XCTAssertTrue("\(error)".contains(expected), "N \(ranks): \(error)")
            }
            try FileManager.default.removeItem(atPath: metrics)
            config.resume = true
            let resumed = try train(config, ranks: ranks)
            XCTAssertEqual(resumed[0].hash, uninterrupted, "N \(ranks): the resumed run ended with another model")
            let events = try String(contentsOfFile: metrics, encoding: .utf8).split(separator: "\n").map {
                let r = try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
                return "\(r["event"] ?? "?") \(r["epoch"] ?? "")"
            }
            XCTAssertEqual(events, ["epoch 2", "final "], "N \(ranks): the run did not resume after step \(stopAt - 1)")
        }
    }

    /// A rank that hangs after step 3 (`--inject-fault hang:R:3`): the others
    /// fail with a timeout naming it, after the deadline and well before the
    /// liveness bound, and no thread is left blocked (run returns).
    func testAHangingRankMakesTheOthersTimeOut() throws {
        for ranks in [2, 3, 5, 8] {
            var config = smallConfig()
            let hung = ranks - 1
            config.injectFault = InjectedFault(kind: .hang, rank: hung, step: 3)
            config.communicationTimeout = 3
            let start = Date()
            XCTAssertThrowsError(try train(config, ranks: ranks)) { error in
                guard case let CollectiveError.timeout(_, peer, seconds, _) = error else {
                    return XCTFail("N \(ranks): not a timeout: \(error)")
                }
                XCTAssertEqual(peer, hung, "N \(ranks): \(error)")
                XCTAssertEqual(seconds, 3)
                XCTAssertTrue("\(error)".contains("nothing arrived from rank \(hung) within 3.0 s"), "\(error)")
            }
            let elapsed = Date().timeIntervalSince(start)
            XCTAssertGreaterThanOrEqual(elapsed, 3)
            XCTAssertLessThan(elapsed, InProcessLiveness.hangWithTimeout3, "N \(ranks)")
        }
    }

    /// A rank whose ring messages are garbage: its right neighbour throws an
    /// error naming it, and every other rank stops (run returns).
    func testARankSendingGarbageIsNamed() throws {
        for ranks in [2, 3, 5, 8] {
            for compression in [true, false] {
                let liar = ranks / 2
                let config = smallConfig(compression: compression)
                XCTAssertThrowsError(try LoopbackTransport.run(ranks: ranks) { peers -> String in
                    let group: PeerGroup = peers.rank == liar ? FaultyPeer(peers, fault: .garbageInRing) : peers
                    return try DataParallelTrainer(config: config, peers: group).run().figures.modelSHA256
                }) { error in
                    XCTAssertTrue("\(error)".hasPrefix("rank \(liar) sent "), "N \(ranks), compression \(compression): \(error)")
                }
            }
        }
    }
}

/// Bounds on how long an in-process failure may take to end every rank:
/// liveness, not speed (the runs share 2 cores with the rest of the suite).
enum InProcessLiveness {
    /// A run whose rank hangs, with a 3 s deadline: the deadline, plus the
    /// steps before it, with a wide margin for a loaded machine.
    static let hangWithTimeout3: Double = 20
}

extension XCTestCase {
    /// A new empty directory under the temporary directory, removed when the test ends.
    func temporaryDirectory(_ name: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir.path
    }
}
