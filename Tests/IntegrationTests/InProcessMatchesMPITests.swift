import Collectives
import Federated
import Foundation
import Training
import XCTest

/// The in-process runs (threads over `LoopbackTransport`, as in
/// InProcessRunTests) and the same runs under a real mpirun (processes over
/// `MPITransport`) end with the same model, bit for bit: the modes compute
/// the same thing over either implementation of `PeerGroup`. Each argument
/// list is paired with the configuration the command line makes of it.
final class InProcessMatchesMPITests: XCTestCase {
    let trainArguments = ["train", "--synthetic", "--synthetic-train", "600", "--synthetic-test", "100", "--hidden", "32,16",
                          "--epochs", "2", "--batch", "16", "--lr", "0.02", "--json"]
    var trainConfig: TrainConfig {
        var c = TrainConfig()
        c.data = .synthetic(trainCount: 600, testCount: 100)
        c.hidden = [32, 16]
        c.epochs = 2
        c.batch = 16
        c.learningRate = 0.02
        c.json = true
        return c
    }

    let federatedArguments = ["federated", "--synthetic", "--synthetic-train", "600", "--synthetic-test", "100",
                              "--hidden", "32,16", "--rounds", "3", "--batch", "16", "--lr", "0.02", "--local-steps", "5",
                              "--compression", "group-topk", "--json"]
    var federatedConfig: FederatedConfig {
        var c = FederatedConfig()
        c.data = .synthetic(trainCount: 600, testCount: 100)
        c.hidden = [32, 16]
        c.rounds = 3
        c.batch = 16
        c.learningRate = 0.02
        c.localSteps = 5
        c.compression = CompressionSettings()
        c.json = true
        return c
    }

    func mpiHash(_ arguments: [String], ranks: Int) throws -> String {
        let outcome = try MPIJob.run("edgetrain", arguments, ranks: ranks, timeout: 240)
        XCTAssertEqual(outcome.status, 0, "N \(ranks): \(outcome.stderr)")
        return try XCTUnwrap(outcome.jsonLines.last?["model_sha256"] as? String, "N \(ranks): no final record")
    }

    func testInProcessAndMPIRunsEndWithTheSameModel() throws {
        for ranks in [1, 3, 5, 8] {
            let config = trainConfig
            let inProcess = try LoopbackTransport.run(ranks: ranks) { peers in
                try DataParallelTrainer(config: config, peers: peers).run()["model_sha256"] as? String
            }
            XCTAssertEqual(Set(inProcess).count, 1, "train N \(ranks)")
            XCTAssertEqual(inProcess[0], try mpiHash(trainArguments, ranks: ranks), "train N \(ranks)")
        }
        for ranks in [2, 3, 5, 8] {
            let config = federatedConfig
            let inProcess = try LoopbackTransport.run(ranks: ranks) { peers in
                try runFederated(config: config, peers: peers)?["model_sha256"] as? String
            }
            XCTAssertNotNil(inProcess[0], "federated N \(ranks)")
            XCTAssertEqual(inProcess[0], try mpiHash(federatedArguments, ranks: ranks), "federated N \(ranks)")
        }
    }
}
