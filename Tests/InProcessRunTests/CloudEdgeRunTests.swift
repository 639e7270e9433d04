@testable import CloudEdge
import Collectives
import Foundation
import RunSupport
import XCTest

/// Whole cloud-edge runs in one process: the cloud, the edge servers and
/// the devices are threads joined by `LoopbackTransport`, their tiers
/// sub-groups split from it.
final class CloudEdgeRunTests: XCTestCase {
    /// 1200 synthetic images over the devices, a 784-32-16-10 MLP cut at
    /// relu1, 4 rounds of 8 split steps of batch 16.
    func smallConfig(edges: Int) -> CloudEdgeConfig {
        var c = CloudEdgeConfig()
        c.data = .synthetic(trainCount: 1200, testCount: 200)
        c.hidden = [32, 16]
        c.edgeServers = edges
        c.rounds = 4
        c.localSteps = 8
        c.batch = 16
        c.distillSamples = 32
        c.evalBatch = 200
        c.json = true
        c.communicationTimeout = 60
        return c
    }

    /// The cloud's final record, after checking that every other rank returned nil.
    func run(_ config: CloudEdgeConfig, ranks: Int, fault: (rank: Int, FaultyPeer.Fault)? = nil) throws -> CloudEdgeFinalRecord {
        let finals = try LoopbackTransport.run(ranks: ranks) { peers -> CloudEdgeFinalRecord? in
            var group: PeerGroup = peers
            if let fault, fault.rank == peers.rank { group = FaultyPeer(peers, fault: fault.1) }
            return try runCloudEdge(config: config, peers: group)
        }
        XCTAssertTrue(finals.dropFirst().allSatisfy { $0 == nil }, "only the cloud returns a record")
        return try XCTUnwrap(finals[0], "the cloud returns the final record")
    }

    /// The metrics file's records, as JSON objects.
    func records(_ path: String) throws -> [[String: Any]] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    /// From 3 ranks (one edge server, one device) to 8, with each
    /// clustering and matching: the edge model ends well above chance (0.1)
    /// and above its first round, every round's figures are consistent with
    /// the plan, and each configuration trains its own model.
    func testRunsLearnOnThreeToEightRanks() throws {
        let dir = try temporaryDirectory("inprocess-ce")
        var hashes = Set<String>()
        let cases: [(ranks: Int, edges: Int, ClusteringKind, MatchingKind, Bool)] = [
            (3, 1, .kl, .optimal, true), (4, 1, .none, .greedy, true), (5, 2, .random, .nearest, false),
            (8, 2, .kl, .optimal, true), (8, 3, .kl, .random, true),
        ]
        for (ranks, edges, clustering, matching, distill) in cases {
            let label = "N \(ranks) E \(edges) \(clustering) \(matching) distill \(distill)"
            var config = smallConfig(edges: edges)
            config.clustering = clustering
            config.matching = matching
            config.distill = distill
            config.metricsPath = "\(dir)/\(ranks)-\(edges).jsonl"
            let final = try run(config, ranks: ranks)
            XCTAssertGreaterThan(final.testAccuracy, 0.5, label)
            XCTAssertEqual(final.modelSHA256.count, 64, label)
            hashes.insert(final.modelSHA256)
            let devices = ranks - 1 - edges
            let rounds = try records(config.metricsPath!)
            XCTAssertEqual(rounds.map { $0["event"] as? String }, ["round", "round", "round", "round", "final"], label)
            let first = try XCTUnwrap(rounds[0]["test_accuracy"] as? Double)
            XCTAssertGreaterThan(final.testAccuracy, first, "\(label): learning goes on after round 1")
            for r in rounds.dropLast() {
                let clusters = try XCTUnwrap(r["clusters"] as? [[Int]], label)
                XCTAssertEqual(clusters.count, edges, label)
                XCTAssertEqual(clusters.flatMap { $0 }.sorted(), Array(0..<devices), "\(label): every device once")
                XCTAssertEqual(Set(try XCTUnwrap(r["assignment"] as? [Int])).count, edges, label)
                let cost = try XCTUnwrap(r["matching_cost_s"] as? Double), optimal = try XCTUnwrap(r["optimal_matching_cost_s"] as? Double)
                XCTAssertGreaterThanOrEqual(cost, optimal, label)
                if matching == .optimal { XCTAssertEqual(cost, optimal, label) }
                // Per step each device sends batch x (32 activations + a label) plus a header; gradients come back.
                let up = try XCTUnwrap(r["device_edge_up_bytes"] as? Int), down = try XCTUnwrap(r["device_edge_down_bytes"] as? Int)
                XCTAssertEqual(up, devices * config.localSteps * (WireMessage.headerBytes + 16 * (32 * 4 + 4)), label)
                XCTAssertEqual(down, devices * config.localSteps * (WireMessage.headerBytes + 16 * 32 * 4), label)
                XCTAssertEqual(r["distill_samples"] as? Int, edges * 32, label)
                // The global front (fc1: 784 x 32 + 32) goes from the aggregator to the other device-edge tier
                // members, the back (fc2 + fc3: 32 x 16 + 16 + 16 x 10 + 10) from the cloud to the edge servers
                // only. Round 1 also carries the start's distribution: the same, after the cloud's message of
                // the front to the aggregator.
                let (frontBytes, backBytes) = ((784 * 32 + 32) * 4, (32 * 16 + 16 + 16 * 10 + 10) * 4)
                let first = r["round"] as? Int == 1
                let frontOut = frontBytes * (edges + devices - 1), backOut = backBytes * edges
                XCTAssertEqual(r["front_broadcast_bytes"] as? Int,
                               first ? 2 * frontOut + WireMessage.headerBytes + frontBytes : frontOut, label)
                XCTAssertEqual(r["back_broadcast_bytes"] as? Int, first ? 2 * backOut : backOut, label)
                XCTAssertNotNil(r["distill_cloud_loss"] as? Double, label)
                XCTAssertEqual(r["distill_back_loss"] != nil, distill, label)
                XCTAssertGreaterThan(try XCTUnwrap(r["device_compute_max_s"] as? Double), 0, label)
            }
        }
        XCTAssertEqual(hashes.count, cases.count)
    }

    /// The same configuration twice ends with the same bits, and so does
    /// a run whose edge servers emulate their speeds (timing only; the
    /// speeds here make every back-half step sleep).
    func testARunIsDeterministic() throws {
        var config = smallConfig(edges: 2)
        let hash = try run(config, ranks: 6).modelSHA256
        XCTAssertEqual(try run(config, ranks: 6).modelSHA256, hash)
        config.emulateEdgeSpeed = true
        config.edgeSpeed = [0.5, 0.25]
        config.rounds = 2
        let emulated = try run(config, ranks: 6).modelSHA256
        config.emulateEdgeSpeed = false
        XCTAssertEqual(emulated, try run(config, ranks: 6).modelSHA256)
    }

    /// The CNN cut between its first ReLU and pooling: the device's front
    /// ends in the pooling, the cloud model's convolutions run on 14x14x32.
    func testACNNCutAtPoolingLearns() throws {
        var config = smallConfig(edges: 1)
        config.model = .cnn
        config.learningRate = 0.01
        config.data = .synthetic(trainCount: 600, testCount: 100)
        config.rounds = 5
        config.distillSamples = 8
        let final = try run(config, ranks: 4)
        XCTAssertEqual(final.summary.cutLayer, "pool1")
        XCTAssertGreaterThan(final.testAccuracy, 0.5)
    }

    /// Checkpoints after rounds 2 and 4 of 6; resuming from round 4 ends
    /// with the model and the cloud model of the run that never stopped, and
    /// the metrics file holds rounds 1-6 once each.
    func testAResumedRunEndsBitwiseLikeTheUninterruptedOne() throws {
        for (ranks, edges) in [(4, 1), (8, 2)] {
            let dir = try temporaryDirectory("inprocess-ce-resume")
            var config = smallConfig(edges: edges)
            config.rounds = 6
            config.localSteps = 4
            let reference = try run(config, ranks: ranks)
            config.checkpointDir = dir + "/ckpt"
            config.checkpointEvery = 2
            config.metricsPath = dir + "/metrics.jsonl"
            let checkpointed = try run(config, ranks: ranks)
            XCTAssertEqual(checkpointed.modelSHA256, reference.modelSHA256, "N \(ranks): checkpointing changed the run")
            config.resume = true
            let resumed = try run(config, ranks: ranks)
            XCTAssertEqual(resumed.modelSHA256, reference.modelSHA256, "N \(ranks)")
            XCTAssertEqual(resumed.summary.cloudTestLoss, reference.summary.cloudTestLoss, "N \(ranks): the cloud model resumed too")
            XCTAssertEqual(resumed.cloudModelSHA256, reference.cloudModelSHA256, "N \(ranks): the cloud model resumed too")
            XCTAssertEqual(resumed.bytes, reference.bytes, "N \(ranks): byte counts carry over")
            let events = try records(dir + "/metrics.jsonl").map { "\($0["event"] ?? "?") \($0["round"] ?? "")" }
            XCTAssertEqual(events, (1...6).map { "round \($0)" } + ["final "], "N \(ranks)")
            // Another rank count is refused, naming both.
            XCTAssertThrowsError(try run(config, ranks: ranks + 1)) {
                XCTAssertTrue("\($0)".contains("written by \(ranks) ranks; this run has \(ranks + 1)"), "\($0)")
            }
        }
    }

    /// The checkpoint's fingerprint hashes the network as parsed, not the
    /// topology file's path: resuming after the file's link rates changed
    /// is refused with the resume's one line, and the same rates, even from
    /// a file at another path, resume to the uninterrupted run's bits.
    func testResumingAfterTheTopologyFileChangedIsRefused() throws {
        let dir = try temporaryDirectory("inprocess-ce-topology")
        var config = smallConfig(edges: 1)
        config.rounds = 3
        config.localSteps = 2
        let topology = #"{"version": 1, "edge_work_per_s": [1e10], "link_mbps": [[10], [20]]}"#
        config.topologyPath = dir + "/topo.json"
        try topology.write(toFile: config.topologyPath!, atomically: true, encoding: .utf8)
        let reference = try run(config, ranks: 4)
        config.checkpointDir = dir + "/ckpt"
        config.checkpointEvery = 1
        XCTAssertEqual(try run(config, ranks: 4).modelSHA256, reference.modelSHA256)
        config.resume = true
        let edited = topology.replacingOccurrences(of: "[20]", with: "[5]")
        XCTAssertNotEqual(edited, topology)
        try edited.write(toFile: config.topologyPath!, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try run(config, ranks: 4)) {
            let line = "\($0)"
            XCTAssertTrue(line.contains(": written with a different configuration (config_sha256 "), line)
            XCTAssertTrue(line.hasSuffix("; resume with the same flags"), line)
            XCTAssertFalse(line.contains("\n"), line)
        }
        config.topologyPath = dir + "/moved.json"
        try topology.write(toFile: config.topologyPath!, atomically: true, encoding: .utf8)
        XCTAssertEqual(try run(config, ranks: 4).modelSHA256, reference.modelSHA256, "the same rates from another path resume")
    }

    /// Settings that cannot work with the rank count are refused on every
    /// rank before any message, with one line naming the flag and numbers.
    func testBadRoleCountsAndSettingsAreRefusedBeforeAnyMessage() {
        var tooFew = smallConfig(edges: 2)
        tooFew.edgeServers = 2
        var clusters = smallConfig(edges: 2)
        clusters.clusters = 3
        var minimum = smallConfig(edges: 2)
        minimum.minClusterSize = 2
        var cut = smallConfig(edges: 1)
        cut.cutLayer = "fc3"
        var speeds = smallConfig(edges: 2)
        speeds.edgeSpeed = [1, 2, 3]
        let cases: [(CloudEdgeConfig, Int, String)] = [
            (tooFew, 3, "--edge-servers 2 needs at least 4 ranks (the cloud, 2 edge server(s) and at least one device), got 3"),
            (clusters, 6, "--clusters 3 exceeds --edge-servers 2: each cluster trains on its own edge server"),
            (minimum, 6, "--clusters 2 x --min-cluster-size 2 needs 4 devices per round; this run samples 3 of its 3 device(s) (ranks 3...5, with 2 edge server(s) on 6 ranks)"),
            (cut, 4, "--cut-layer fc3: cut layer 'fc3' is the last layer of model mlp and would leave the back half empty; valid cut layers: relu1, relu2"),
            (speeds, 6, "--edge-speed has 3 values for 2 edge servers (give 1 or 2)"),
        ]
        for (config, ranks, message) in cases {
            XCTAssertThrowsError(try run(config, ranks: ranks)) { error in
                XCTAssertEqual("\(error)", message)
                XCTAssertEqual((error as? CloudEdgeError)?.raisedOnEveryRank, true, message)
            }
        }
    }

    /// Training settings the runtime cannot use (a zero count, a
    /// temperature or learning rate not above 0, alpha outside [0, 1]) are
    /// refused by the library on every rank before any message, in the
    /// command line's words, instead of trapping.
    func testUnusableTrainingSettingsAreRefusedOnEveryRank() {
        let cases: [(WritableKeyPath<CloudEdgeConfig, Int>, Int, String)] = [
            (\.localSteps, 0, "--local-steps must be at least 1, got 0"),
            (\.batch, 0, "--batch must be at least 1, got 0"),
            (\.rounds, 0, "--rounds must be at least 1, got 0"),
            (\.distillSteps, 0, "--distill-steps must be at least 1, got 0"),
            (\.distillSamples, 0, "--distill-samples must be at least 1, got 0"),
        ]
        let reals: [(WritableKeyPath<CloudEdgeConfig, Double>, Double, String)] = [
            (\.temperature, 0, "--temperature must be > 0, got 0.0"),
            (\.temperature, -1, "--temperature must be > 0, got -1.0"),
            (\.distillAlpha, -0.5, "--distill-alpha must be in [0, 1], got -0.5"),
            (\.distillAlpha, 1.5, "--distill-alpha must be in [0, 1], got 1.5"),
            (\.distillAlpha, .nan, "--distill-alpha must be in [0, 1], got nan"),
            (\.learningRate, 0, "--lr must be > 0, got 0.0"),
            (\.learningRate, -0.1, "--lr must be > 0, got -0.1"),
            (\.learningRate, .infinity, "--lr must be > 0, got inf"),
        ]
        var configs = [(CloudEdgeConfig, String)]()
        for (key, value, message) in cases {
            var c = smallConfig(edges: 1)
            c[keyPath: key] = value
            configs.append((c, message))
        }
        for (key, value, message) in reals {
            var c = smallConfig(edges: 1)
            c[keyPath: key] = value
            configs.append((c, message))
        }
        for (config, message) in configs {
            for ranks in [3, 5] {
                XCTAssertThrowsError(try run(config, ranks: ranks)) { error in
                    XCTAssertEqual("\(error)", message, "N \(ranks)")
                    XCTAssertEqual((error as? CloudEdgeError)?.raisedOnEveryRank, true, message)
                }
            }
        }
        var edges = smallConfig(edges: 1)
        (edges.temperature, edges.distillAlpha, edges.distillSamples) = (1e-3, 1, 1)
        XCTAssertNil(edges.settingsProblem, "the edges of the ranges are usable")
    }

    /// A device that never sends its activations: its edge server fails at
    /// the deadline naming the device, and every thread ends. The cloud,
    /// waiting from the same moment for that edge server's samples, may
    /// reach its deadline first, and so may a device of the same cluster
    /// that sent its activations just before the edge server began waiting
    /// for the hanging one (N 8); under mpirun the same races hold.
    func testAHangingDeviceMakesItsEdgeServerTimeOut() throws {
        for (ranks, edges) in [(3, 1), (5, 2), (8, 2)] {
            var config = smallConfig(edges: edges)
            config.communicationTimeout = 3
            let start = Date()
            XCTAssertThrowsError(try run(config, ranks: ranks, fault: (ranks - 1, .hangBefore(tag: CloudEdgeTag.activations)))) {
                let message = "\($0)"
                XCTAssertTrue(message.contains("activations of step 1 from device \(ranks - 2 - edges) (rank \(ranks - 1)): nothing arrived within 3.0 s")
                              || message.hasPrefix("rank 0: distillation samples of edge server ")
                              || message.contains(": the cut gradient of step 1 from edge server "), "N \(ranks): \(message)")
                XCTAssertTrue(message.hasSuffix("nothing arrived within 3.0 s; a peer is gone or stuck"), "N \(ranks): \(message)")
            }
            XCTAssertLessThan(Date().timeIntervalSince(start), InProcessLiveness.hangWithTimeout3, "N \(ranks)")
        }
    }

    /// Without distillation the cloud model trains on the round's samples
    /// with hard labels and the back half is left alone: more cloud steps
    /// change the cloud model (and make it learn) but not the edge model's bits.
    func testWithoutDistillationTheCloudTrainsOnHardLabelsAndTheEdgeModelIsUntouched() throws {
        var config = smallConfig(edges: 2)
        config.distill = false
        config.distillSteps = 1
        let one = try run(config, ranks: 5)
        config.distillSteps = 20
        let twenty = try run(config, ranks: 5)
        XCTAssertEqual(one.modelSHA256, twenty.modelSHA256, "the back half is not distilled")
        XCTAssertNotEqual(one.summary.cloudTestLoss, twenty.summary.cloudTestLoss, "the cloud model trains")
        XCTAssertGreaterThan(twenty.summary.cloudTestAccuracy, 0.5, "the cloud model learns (chance is 0.1)")
    }

    /// A device sending garbage is named by its edge server.
    func testADeviceSendingGarbageIsNamed() {
        XCTAssertThrowsError(try run(smallConfig(edges: 2), ranks: 6, fault: (4, .garbageMessage(tag: CloudEdgeTag.activations)))) {
            XCTAssertEqual("\($0)", "malformed message from device 1: 3 bytes, shorter than the header")
        }
    }

    /// A fault that rewrites every message with `tag` the rank sends, as
    /// `change` makes it (decoded and encoded again).
    static func rewriting(_ tag: Int, _ change: @escaping @Sendable (inout WireMessage) -> Void) -> FaultyPeer.Fault {
        .rewriteMessage(tag: tag) { bytes in
            let scalars = Int(bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) })
            var m = try! WireMessage(decoding: bytes, from: "the test", scalars: scalars)
            change(&m)
            return m.encoded()
        }
    }

    /// A peer sending what would trap the loss, shift the averages or the
    /// byte counts (a label outside the classes, a short batch, a NaN
    /// sample count) ends the run with one line naming it, raised by its
    /// receiver before any use; every thread ends, well before the deadline.
    /// N 6: the cloud, edge servers 0-1 (ranks 1-2), devices 0-2 (ranks 3-5).
    func testABadLabelShortBatchOrNaNCountIsRefusedNamingTheSender() {
        var config = smallConfig(edges: 2)
        config.rounds = 1
        config.localSteps = 2
        config.communicationTimeout = 30
        let nan = Double.nan
        let cases: [(rank: Int, FaultyPeer.Fault, String)] = [
            (4, Self.rewriting(CloudEdgeTag.activations) { $0.labels[3] = 99 },
             "malformed message from device 1: label 99 at position 3 is outside 0..<10"),
            (4, Self.rewriting(CloudEdgeTag.activations) { $0.labels[0] = -1 },
             "malformed message from device 1: label -1 at position 0 is outside 0..<10"),
            (5, Self.rewriting(CloudEdgeTag.activations) { m in
                m.floats.removeLast(m.floats.count / m.labels.count)
                m.labels.removeLast()
            }, "malformed message from device 2: 15 labels in step 1, not --batch 16"),
            (2, Self.rewriting(CloudEdgeTag.distill) { $0.scalars[0] = nan },
             "malformed message from edge server 1: sample count nan is not a non-negative integer"),
            (2, Self.rewriting(CloudEdgeTag.back) { $0.scalars[0] = nan },
             "malformed message from edge server 1: sample count nan is not a non-negative integer"),
            (2, Self.rewriting(CloudEdgeTag.distill) { $0.scalars[2] = -.infinity },
             "malformed message from edge server 1: device-edge upload bytes -inf is not a non-negative integer"),
            (2, Self.rewriting(CloudEdgeTag.distill) { $0.labels[0] = 10 },
             "malformed message from edge server 1: label 10 at position 0 is outside 0..<10"),
            (3, Self.rewriting(CloudEdgeTag.front) { $0.scalars[0] = nan },
             "malformed message from device 0: sample count nan is not a non-negative integer"),
            (3, Self.rewriting(CloudEdgeTag.front) { $0.scalars[1] = .infinity },
             "malformed message from device 0: compute seconds inf is not finite and non-negative"),
            (1, Self.rewriting(CloudEdgeTag.aggregate) { $0.scalars[3] = 0.5 },
             "malformed message from the aggregator: front upload bytes 0.5 is not a non-negative integer"),
        ]
        // N 5: two devices, one per cluster, so each cluster trains on 2 x 16 samples.
        let miscounted: (rank: Int, FaultyPeer.Fault, String) = (2, Self.rewriting(CloudEdgeTag.back) { $0.scalars[0] = 1 },
                                                                  "malformed message from edge server 1: sample count 1, the plan gives 32")
        for (i, (rank, fault, message)) in (cases + [miscounted]).enumerated() {
            let ranks = i < cases.count ? 6 : 5
            let start = Date()
            XCTAssertThrowsError(try run(config, ranks: ranks, fault: (rank, fault))) {
                XCTAssertEqual("\($0)", message)
                XCTAssertEqual(($0 as? CloudEdgeError)?.raisedOnEveryRank, false, message)
            }
            XCTAssertLessThan(Date().timeIntervalSince(start), InProcessLiveness.hangWithTimeout3, message)
        }
    }
}
