import CloudEdge
import Collectives
@testable import edgetrain
import Foundation
import XCTest

/// `edgetrain cloud-edge` under real mpirun jobs, on small synthetic data.
final class CloudEdgeIntegrationTests: XCTestCase {
    let small = ["cloud-edge", "--synthetic", "--synthetic-train", "1200", "--synthetic-test", "200", "--hidden", "32,16",
                 "--rounds", "4", "--local-steps", "8", "--batch", "16", "--distill-samples", "32", "--comm-timeout", "60",
                 "--json"]

    /// The acceptance run, small: 8 ranks (the cloud, 2 edge servers,
    /// 5 devices) under skewed labels learn well above chance; the records
    /// match docs/metrics.md and the final one is on stdout.
    func testEightRanksLearnWithWellFormedRecords() throws {
        let path = temporaryFilePath("ce")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let outcome = try MPIJob.run(
            "edgetrain", small + ["--edge-servers", "2", "--partition", "dirichlet", "--alpha", "0.5", "--metrics", path],
            ranks: 8, timeout: 240)
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        let final = try XCTUnwrap(outcome.jsonLines.last, "no final record")
        XCTAssertEqual(final["devices"] as? Int, 5)
        XCTAssertEqual(final["edge_servers"] as? Int, 2)
        XCTAssertGreaterThan(try XCTUnwrap(final["test_accuracy"] as? Double), 0.5)
        let records = try jsonRecords(path)
        XCTAssertEqual(records.map { $0["event"] as? String }, ["round", "round", "round", "round", "final"])
        XCTAssertEqual(records.last?["model_sha256"] as? String, final["model_sha256"] as? String)
        let losses = try records.dropLast().map { try XCTUnwrap($0["test_loss"] as? Double) }
        XCTAssertLessThan(losses.last!, losses.first!, "the edge model's loss did not fall: \(losses)")
        XCTAssertTrue(outcome.stderr.contains("ETA"), "progress lines go to stderr with --json")
    }

    /// The in-process run (threads over LoopbackTransport, the configuration
    /// the command line makes of the same arguments) ends with the models of
    /// the mpirun run, bit for bit, with one device per rank and with
    /// virtual devices.
    func testInProcessAndMPIRunsEndWithTheSameModel() throws {
        for extra in [[], ["--devices", "7"]] {
            let arguments = small + ["--edge-servers", "2", "--clustering", "random", "--matching", "greedy"] + extra
            let config = try CloudEdgeCommand.parse(Array(arguments.dropFirst())).makeConfig()
            let inProcess = try LoopbackTransport.run(ranks: 6) { peers in
                try runCloudEdge(config: config, peers: peers).map { [$0.modelSHA256, $0.cloudModelSHA256] }
            }
            let outcome = try MPIJob.run("edgetrain", arguments, ranks: 6, timeout: 240)
            XCTAssertEqual(outcome.status, 0, outcome.stderr)
            let final = try XCTUnwrap(outcome.jsonLines.last)
            XCTAssertEqual(try XCTUnwrap(inProcess[0]), [final["model_sha256"] as? String, final["cloud_model_sha256"] as? String],
                           "\(extra)")
        }
    }

    /// `--devices 7` (label-skewed, 4 of them a round) on 1 and 3 executors
    /// (4 and 6 ranks) trains one edge model and one cloud model.
    func testVirtualDevicesTrainOneModelOnTwoRankCounts() throws {
        let arguments = small + ["--edge-servers", "2", "--devices", "7", "--clients-per-round", "4", "--partition", "dirichlet",
                                 "--alpha", "0.5", "--min-partition-size", "16"]
        var finals = [[String: Any]]()
        for ranks in [4, 6] {
            let outcome = try MPIJob.run("edgetrain", arguments, ranks: ranks, timeout: 240)
            XCTAssertEqual(outcome.status, 0, "N \(ranks): \(outcome.stderr)")
            let final = try XCTUnwrap(outcome.jsonLines.last, "N \(ranks): no final record")
            XCTAssertEqual(final["devices"] as? Int, 7, "N \(ranks)")
            XCTAssertEqual(final["ranks"] as? Int, ranks)
            finals.append(final)
        }
        XCTAssertEqual(try XCTUnwrap(finals[0]["model_sha256"] as? String), try XCTUnwrap(finals[1]["model_sha256"] as? String))
        XCTAssertEqual(try XCTUnwrap(finals[0]["cloud_model_sha256"] as? String), try XCTUnwrap(finals[1]["cloud_model_sha256"] as? String))
    }

    /// Bad role counts, cut layers and cluster counts: one line naming the
    /// input, a non-zero exit, and no rank left waiting.
    func testBadRolesCutLayersAndClusterCountsGiveOneLine() throws {
        let synthetic = ["--synthetic", "--synthetic-train", "600", "--synthetic-test", "100"]
        let cases: [(args: [String], ranks: Int, message: String)] = [
            (["cloud-edge", "--edge-servers", "3"] + synthetic, 4,
             "edgetrain: --edge-servers 3 needs at least 5 ranks (the cloud, 3 edge server(s) and at least one device), got 4"),
            (["cloud-edge"] + synthetic, 1, "edgetrain: --edge-servers 2 needs at least 4 ranks"),
            (["cloud-edge", "--edge-servers", "0"], 3, "edgetrain: --edge-servers must be at least 1, got 0"),
            (["cloud-edge", "--clusters", "3"], 6,
             "edgetrain: --clusters 3 exceeds --edge-servers 2: each cluster trains on its own edge server"),
            (["cloud-edge", "--cut-layer", "conv9", "--model", "cnn"], 4,
             "edgetrain: --cut-layer conv9: cut layer 'conv9' is not a layer of model cnn; valid cut layers: relu1, pool1, relu2"),
            (["cloud-edge", "--cut-layer", "fc1"], 4,
             "edgetrain: --cut-layer fc1: cut layer 'fc1' of model mlp has its ReLU 'relu1' fused into it; cut at 'relu1' instead"),
            (["cloud-edge", "--min-cluster-size", "2"] + synthetic, 5,
             "edgetrain: --clusters 2 x --min-cluster-size 2 needs 4 devices per round; this run samples 2 of its 2 device(s)"),
            (["cloud-edge", "--device-bandwidth", "1,2"] + synthetic, 6, "edgetrain: --device-bandwidth has 2 values for 3 devices"),
            (["cloud-edge", "--topology", "/nonexistent/topo.json"] + synthetic, 5,
             "edgetrain: /nonexistent/topo.json: cannot read the file"),
            (["cloud-edge", "--devices", "2"] + synthetic, 6,
             "edgetrain: --devices 2 is fewer than the 3 device executor ranks (ranks 3...5 with --edge-servers 2); run at most 5 ranks"),
            (["cloud-edge", "--devices", "40", "--fraction", "0.01"] + synthetic, 5,
             "edgetrain: --fraction 0.01 selects 0 of the 40 devices (round(0.01 x 40) = 0)"),
            (["cloud-edge", "--devices", "0"], 5, "edgetrain: --devices must be at least 1, got 0"),
        ]
        for c in cases {
            let outcome = try MPIJob.run("edgetrain", c.args, ranks: c.ranks, timeout: 60)
            XCTAssertNotEqual(outcome.status, 0, "\(c.args)")
            XCTAssertLessThan(outcome.seconds, Liveness.failedJob, "\(c.args) took \(outcome.seconds) s")
            let lines = outcome.stderr.split(separator: "\n").filter { $0.hasPrefix("edgetrain:") }
            XCTAssertEqual(lines.count, 1, "\(c.args): \(outcome.stderr)")
            XCTAssertTrue(lines.first?.hasPrefix(c.message) ?? false, "\(c.args): \(lines)")
        }
    }
}
