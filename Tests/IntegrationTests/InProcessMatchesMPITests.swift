import Collectives
@testable import edgetrain
import Federated
import Foundation
import Training
import XCTest

/// The in-process runs (threads over `LoopbackTransport`, as in
/// InProcessRunTests) and the same runs under a real mpirun (processes over
/// `MPITransport`) end with the same model, bit for bit: the modes compute
/// the same thing over either implementation of `PeerGroup`. The in-process
/// run takes the configuration the command line makes of the same arguments.
final class InProcessMatchesMPITests: XCTestCase {
    let trainArguments = ["train", "--synthetic", "--synthetic-train", "600", "--synthetic-test", "100", "--hidden", "32,16",
                          "--epochs", "2", "--batch", "16", "--lr", "0.02", "--json"]
    let federatedArguments = ["federated", "--synthetic", "--synthetic-train", "600", "--synthetic-test", "100",
                              "--hidden", "32,16", "--rounds", "3", "--batch", "16", "--lr", "0.02", "--local-steps", "5",
                              "--compression", "group-topk", "--json"]

    func mpiHash(_ arguments: [String], ranks: Int) throws -> String {
        let outcome = try MPIJob.run("edgetrain", arguments, ranks: ranks, timeout: 240)
        XCTAssertEqual(outcome.status, 0, "N \(ranks): \(outcome.stderr)")
        return try XCTUnwrap(outcome.jsonLines.last?["model_sha256"] as? String, "N \(ranks): no final record")
    }

    /// Group-TopK (the default) at every N from 1 to 8, and dense at 2 and 5.
    func testInProcessAndMPIRunsEndWithTheSameModel() throws {
        let runs = (1...8).map { (trainArguments, $0) } + [2, 5].map { (trainArguments + ["--compression", "none"], $0) }
        for (arguments, ranks) in runs {
            let label = "train \(arguments.contains("none") ? "dense" : "group-topk") N \(ranks)"
            let config = try TrainCommand.parse(Array(arguments.dropFirst())).makeConfig()
            let inProcess = try LoopbackTransport.run(ranks: ranks) { peers in
                try DataParallelTrainer(config: config, peers: peers).run().figures.modelSHA256
            }
            XCTAssertEqual(Set(inProcess).count, 1, label)
            XCTAssertEqual(inProcess[0], try mpiHash(arguments, ranks: ranks), label)
        }
        // A federated run needs a coordinator and a client: N from 2.
        for ranks in 2...8 {
            let config = try FederatedCommand.parse(Array(federatedArguments.dropFirst())).makeConfig()
            let inProcess = try LoopbackTransport.run(ranks: ranks) { peers in
                try runFederated(config: config, peers: peers)?.figures.modelSHA256
            }
            XCTAssertNotNil(inProcess[0], "federated N \(ranks)")
            XCTAssertEqual(inProcess[0], try mpiHash(federatedArguments, ranks: ranks), "federated N \(ranks)")
        }
    }
}
