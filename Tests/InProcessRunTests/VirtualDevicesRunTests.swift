@testable import CloudEdge
import Collectives
import Foundation
import RunSupport
import XCTest

/// `cloud-edge --devices N`: N virtual devices over the executor ranks
/// E+1...R-1, whole runs in one process over `LoopbackTransport`.
final class VirtualDevicesRunTests: XCTestCase {
    /// 1080 synthetic images over the devices (Dirichlet 0.5, so their
    /// labels differ and KL clustering has something to do), a 784-32-16-10
    /// MLP cut at relu1, 2 edge servers, 3 rounds of 4 split steps of
    /// batch 8, 6 devices a round.
    func config(devices: Int? = 9) -> CloudEdgeConfig {
        var c = CloudEdgeConfig()
        c.data = .synthetic(trainCount: 1080, testCount: 200)
        c.hidden = [32, 16]
        c.edgeServers = 2
        c.devices = devices
        c.partition = .dirichlet(alpha: 0.5, minSize: 8)
        c.rounds = 3
        c.localSteps = 4
        c.batch = 8
        c.clientsPerRound = 6
        c.distillSamples = 24
        c.evalBatch = 200
        c.json = true
        c.communicationTimeout = 60
        return c
    }

    /// The cloud's final record and its round records (written to
    /// `config.metricsPath`, or to a file of their own).
    func run(_ config: CloudEdgeConfig, ranks: Int) throws -> (final: CloudEdgeFinalRecord, rounds: [[String: Any]]) {
        var c = config
        let path = config.metricsPath ?? NSTemporaryDirectory() + "vd-\(UUID().uuidString).jsonl"
        defer { if config.metricsPath == nil { try? FileManager.default.removeItem(atPath: path) } }
        c.metricsPath = path
        let withMetrics = c
        let finals = try LoopbackTransport.run(ranks: ranks) { try runCloudEdge(config: withMetrics, peers: $0) }
        XCTAssertTrue(finals.dropFirst().allSatisfy { $0 == nil }, "only the cloud returns a record")
        let final = try XCTUnwrap(finals[0], "the cloud returns the final record")
        let rounds = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
            .map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
            .filter { $0["event"] as? String == "round" }
        XCTAssertEqual(rounds.count, config.rounds, "one round record per round")
        return (final, rounds)
    }

    /// What a round record says about the training, whatever the executors:
    /// everything but times, the ranks in the device entries, peak memory
    /// and the global front's broadcast (one copy per executor).
    func plan(of round: [String: Any]) -> String {
        let dropped: Set<String> = ["wall_s", "device_compute_max_s", "device_compute_mean_s", "device_rss_peak_bytes",
                                    "front_broadcast_bytes", "devices"]
        let kept = round.filter { !dropped.contains($0.key) }
        let entries = (round["devices"] as? [[String: Any]] ?? []).map { "\($0["device"] ?? "?") \($0["emulated_link_s"] ?? "?")" }
        return String(decoding: try! JSONSerialization.data(withJSONObject: kept, options: .sortedKeys), as: UTF8.self)
            + entries.joined(separator: ",")
    }

    /// 9 devices on 1 to 5 executors (ranks 4 to 8), with KL and with
    /// random clusters: one edge-model hash and one cloud-model hash per
    /// configuration, and the same round records apart from times and
    /// ranks. The plans put two sampled devices of one cluster on one
    /// executor and devices of both clusters on one executor (checked, so
    /// the test covers the interleaving it is about), and the two
    /// configurations train different models (so the comparison is not
    /// between runs that ignore the setting).
    func testNineDevicesTrainOneModelOnOneToFiveExecutors() throws {
        var random = config()
        random.clustering = .random
        random.matching = .greedy
        var hashes = Set<String>()
        for (label, c) in [("kl", config()), ("random", random)] {
            var reference: (edge: String, cloud: String, rounds: [String])?
            var sameCluster = false, bothClusters = false
            for executors in 1...5 {
                let (final, rounds) = try run(c, ranks: 3 + executors)
                XCTAssertEqual(final.summary.devices, 9, label)
                let here = (final.modelSHA256, final.cloudModelSHA256, rounds.map(plan(of:)))
                if let reference {
                    XCTAssertEqual(here.0, reference.edge, "\(label): the edge model on \(executors) executor(s)")
                    XCTAssertEqual(here.1, reference.cloud, "\(label): the cloud model on \(executors) executor(s)")
                    XCTAssertEqual(here.2, reference.rounds, "\(label): the round records on \(executors) executor(s)")
                } else {
                    reference = here
                }
                for round in rounds {
                    let clusters = try XCTUnwrap(round["clusters"] as? [[Int]])
                    let entries = try XCTUnwrap(round["devices"] as? [[String: Any]])
                    XCTAssertEqual(entries.map { $0["device"] as? Int }, clusters.flatMap { $0 }.sorted(), label)
                    XCTAssertEqual(entries.map { $0["rank"] as? Int }, entries.map { ($0["device"] as! Int) % executors + 3 },
                                   "\(label): device d on rank 3 + d mod \(executors)")
                    for x in 0..<executors {
                        let held = clusters.map { $0.filter { $0 % executors == x }.count }
                        sameCluster = sameCluster || held.contains { $0 >= 2 }
                        bothClusters = bothClusters || held.allSatisfy { $0 >= 1 }
                    }
                }
            }
            XCTAssertTrue(sameCluster && bothClusters, "\(label): no executor held two devices of a cluster, or of both clusters")
            hashes.insert(reference!.edge)
        }
        XCTAssertEqual(hashes.count, 2, "KL and random clusters train different models")
    }

    /// `--devices X` on X executors trains the model of the same run without
    /// `--devices` (one device per rank), edge and cloud, with the same round
    /// records, for 1 to 5 executors.
    func testOneDevicePerExecutorIsTheRunWithoutDevices() throws {
        for (ranks, edges) in [(3, 1), (5, 2), (6, 1), (8, 2)] {
            var perRank = config(devices: nil)
            perRank.edgeServers = edges
            perRank.clientsPerRound = nil
            perRank.fraction = 0.8
            perRank.partition = .iid
            var virtual = perRank
            virtual.devices = ranks - 1 - edges
            let (a, aRounds) = try run(perRank, ranks: ranks)
            let (b, bRounds) = try run(virtual, ranks: ranks)
            XCTAssertEqual(a.modelSHA256, b.modelSHA256, "N \(ranks)")
            XCTAssertEqual(a.cloudModelSHA256, b.cloudModelSHA256, "N \(ranks)")
            XCTAssertEqual(aRounds.map(plan(of:)), bRounds.map(plan(of:)), "N \(ranks)")
            XCTAssertEqual(a.bytes, b.bytes, "N \(ranks): the same messages")
        }
    }

    /// 300 devices (10 samples each) on 2 and 3 executors, 30 a round: one
    /// model, every round's 30 devices in its record with their executors,
    /// and the edge model learns (chance is 0.1; it reaches about 0.7).
    func testThreeHundredDevicesOnTwoAndThreeExecutors() throws {
        var c = config(devices: 300)
        c.data = .synthetic(trainCount: 3000, testCount: 200)
        c.partition = .iid
        c.clientsPerRound = nil
        c.fraction = 0.1
        c.rounds = 4
        c.localSteps = 3
        c.learningRate = 0.1
        var hashes = Set<String>()
        for executors in [2, 3] {
            let (final, rounds) = try run(c, ranks: 3 + executors)
            hashes.insert(final.modelSHA256 + final.cloudModelSHA256)
            XCTAssertEqual(final.summary.devices, 300)
            XCTAssertGreaterThan(final.testAccuracy, 0.5, "\(executors) executors")
            XCTAssertGreaterThan(final.testAccuracy, try XCTUnwrap(rounds.first?["test_accuracy"] as? Double), "learning goes on")
            var seen = Set<Int>()
            for round in rounds {
                let entries = try XCTUnwrap(round["devices"] as? [[String: Any]])
                XCTAssertEqual(entries.count, 30)
                XCTAssertEqual(entries.compactMap { $0["rank"] as? Int }, entries.compactMap { ($0["device"] as? Int).map { $0 % executors + 3 } })
                seen.formUnion(entries.compactMap { $0["device"] as? Int })
            }
            XCTAssertGreaterThan(seen.count, 60, "rounds sample different devices")
        }
        XCTAssertEqual(hashes.count, 1, "2 and 3 executors train one model")
    }

    /// Each rank holds what its role needs: an executor exactly its devices'
    /// samples (and a sampler per device), the cloud the test set only, an
    /// edge server no images.
    func testEachRankLoadsOnlyWhatItServes() throws {
        let c = config(devices: 9)
        let held = try LoopbackTransport.run(ranks: 5) { peers -> (train: Int?, test: Int?, devices: [Int], partitions: [[Int]]) in
            let run = try CloudEdgeRun(config: c, peers: peers, start: monotonicSeconds())
            return (run.train?.count, run.test?.count, run.deviceStates.map(\.id), run.partitions)
        }
        let partitions = held[0].partitions
        XCTAssertEqual(held[0].train, nil)
        XCTAssertEqual(held[0].test, 200)
        for edge in 1...2 { XCTAssertEqual(held[edge].train, nil); XCTAssertEqual(held[edge].test, nil) }
        for x in 0..<2 {
            let mine = Array(stride(from: x, to: 9, by: 2))
            XCTAssertEqual(held[3 + x].devices, mine)
            XCTAssertEqual(held[3 + x].train, mine.reduce(0) { $0 + partitions[$1].count }, "executor \(x): its devices' samples")
            XCTAssertLessThan(held[3 + x].train ?? 1080, 1080)
            XCTAssertEqual(held[3 + x].test, nil)
        }
    }

    /// Checkpoints after rounds 2 and 4 of 6 with 9 devices on 2
    /// executors (each file holds all its devices' samplers); resuming from
    /// round 4 ends with both models of the run that never stopped, and
    /// another rank count is refused.
    func testAResumedRunWithVirtualDevicesEndsBitwiseLikeTheUninterruptedOne() throws {
        let dir = try temporaryDirectory("inprocess-vd-resume")
        var c = config()
        c.rounds = 6
        c.localSteps = 2
        let reference = try run(c, ranks: 5).final
        c.checkpointDir = dir + "/ckpt"
        c.checkpointEvery = 2
        c.metricsPath = dir + "/metrics.jsonl"
        XCTAssertEqual(try run(c, ranks: 5).final.modelSHA256, reference.modelSHA256, "checkpointing changed the run")
        c.resume = true
        let (resumed, rounds) = try run(c, ranks: 5)
        XCTAssertEqual(resumed.modelSHA256, reference.modelSHA256)
        XCTAssertEqual(resumed.cloudModelSHA256, reference.cloudModelSHA256)
        XCTAssertEqual(resumed.bytes, reference.bytes, "byte counts carry over")
        XCTAssertEqual(rounds.compactMap { $0["round"] as? Int }, Array(1...6))
        XCTAssertThrowsError(try run(c, ranks: 6)) {
            XCTAssertTrue("\($0)".contains("written by 5 ranks; this run has 6"), "\($0)")
        }
    }

    /// Device entries: compute seconds measured per device (the round's
    /// max and mean are theirs), link seconds emulated per device from its
    /// own rate. With one edge server the rates do not change the plan, so
    /// a device on a 20x slower link leaves the models, and the other
    /// devices' entries, as they were: its slowness is accounted, not
    /// waited for by its executor's other devices.
    func testDeviceEntriesAccountEachDevicesComputeAndLink() throws {
        var c = config()
        c.edgeServers = 1
        let (uniform, uniformRounds) = try run(c, ranks: 4)
        c.deviceBandwidth = [Double](repeating: 10, count: 8) + [0.5]
        let (slow, slowRounds) = try run(c, ranks: 4)
        XCTAssertEqual(slow.modelSHA256, uniform.modelSHA256)
        XCTAssertEqual(slow.cloudModelSHA256, uniform.cloudModelSHA256)
        let samples = c.localSteps * c.batch
        // Per sample: 32 activations and a label up, 32 gradients down, 4 bytes each.
        let workload = SplitWorkload(uploadBytesPerSample: 33 * 4, downloadBytesPerSample: 32 * 4, workPerSample: 0)
        var sawSlow = false
        for (u, s) in zip(uniformRounds, slowRounds) {
            let entries = try XCTUnwrap(s["devices"] as? [[String: Any]])
            let uniformEntries = try XCTUnwrap(u["devices"] as? [[String: Any]])
            XCTAssertEqual(entries.map { $0["device"] as? Int }, uniformEntries.map { $0["device"] as? Int })
            for entry in entries {
                let d = try XCTUnwrap(entry["device"] as? Int)
                XCTAssertEqual(entry["rank"] as? Int, 2 + d % 2)
                XCTAssertGreaterThan(try XCTUnwrap(entry["compute_s"] as? Double), 0)
                let link = try XCTUnwrap(entry["emulated_link_s"] as? Double)
                XCTAssertEqual(link, transmissionSeconds(samples: samples, mbps: d == 8 ? 0.5 : 10, workload: workload))
                if d == 8 { sawSlow = true }
            }
            let compute = entries.compactMap { $0["compute_s"] as? Double }
            XCTAssertEqual(s["device_compute_max_s"] as? Double, compute.max())
            // The mean is summed as c / n per device: within n roundings of the sum's.
            let mean = try XCTUnwrap(s["device_compute_mean_s"] as? Double)
            XCTAssertEqual(mean, compute.reduce(0, +) / Double(compute.count), accuracy: mean * Double(compute.count) * 2 * .ulpOfOne)
        }
        XCTAssertTrue(sawSlow, "device 8 was never sampled: the test checks nothing about a slow link")
    }

    /// What `--devices` cannot run is refused on every rank before any
    /// message, with one line naming the flag and the numbers.
    func testBadVirtualDeviceCombinationsAreRefusedBeforeAnyMessage() {
        func with(_ change: (inout CloudEdgeConfig) -> Void) -> CloudEdgeConfig {
            var c = config()
            change(&c)
            return c
        }
        let cases: [(CloudEdgeConfig, Int, String)] = [
            (with { $0.devices = 4 }, 8,
             "--devices 4 is fewer than the 5 device executor ranks (ranks 3...7 with --edge-servers 2); run at most 7 ranks"),
            (with { $0.devices = 0 }, 5, "--devices must be at least 1, got 0"),
            (with { ($0.clientsPerRound, $0.fraction) = (nil, 0.05) }, 5,
             "--fraction 0.05 selects 0 of the 9 devices (round(0.05 x 9) = 0); give at least 0.05555555555555555 or --clients-per-round"),
            (with { $0.clientsPerRound = 10 }, 5, "--clients-per-round 10 is more than the 9 device(s) on 2 executor(s) (ranks 3...4)"),
            (with { $0.minClusterSize = 4 }, 5, """
                --clusters 2 x --min-cluster-size 4 needs 8 devices per round; this run samples 6 of its 9 device(s) on 2 executor(s) \
                (ranks 3...4, with 2 edge server(s) on 5 ranks)
                """),
            (with { $0.deviceBandwidth = [1, 2] }, 5, "--device-bandwidth has 2 values for 9 devices (give 1 or 9)"),
        ]
        for (config, ranks, message) in cases {
            XCTAssertThrowsError(try run(config, ranks: ranks)) { error in
                XCTAssertEqual("\(error)", message)
                XCTAssertEqual((error as? CloudEdgeError)?.raisedOnEveryRank, true, message)
            }
        }
        // More devices than the data holds batches of: the device is named, on every rank alike.
        XCTAssertThrowsError(try run(with { ($0.devices, $0.partition) = (200, .iid) }, ranks: 5)) {
            XCTAssertEqual("\($0)", "--batch 8 is larger than device 80's partition of 5 samples")
        }
    }
}
