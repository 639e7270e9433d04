import Collectives
import Foundation
@testable import Federated
import RunSupport
import XCTest

/// `--clients N`: N virtual clients over the executor ranks 1..R-1, whole
/// runs in one process over `LoopbackTransport`.
final class VirtualClientsRunTests: XCTestCase {
    /// 420 synthetic images over 7 clients (Dirichlet, so sizes differ), a
    /// 784-16-10 MLP, 3 rounds of 4 local steps of batch 8, 4 clients a round.
    func config(clients: Int = 7) -> FederatedConfig {
        var c = FederatedConfig()
        c.data = .synthetic(trainCount: 420, testCount: 60)
        c.hidden = [16]
        c.rounds = 3
        c.batch = 8
        c.learningRate = 0.05
        c.localSteps = 4
        c.partition = .dirichlet(alpha: 0.5, minSize: 8)
        c.virtualClients = clients
        c.clientsPerRound = 4
        c.evalBatch = 60
        c.json = true
        return c
    }

    /// The round records a run writes to its metrics file.
    func roundRecords(_ config: FederatedConfig, ranks: Int) throws -> [[String: Any]] {
        var c = config
        let path = NSTemporaryDirectory() + "vc-\(UUID().uuidString).jsonl"
        defer { try? FileManager.default.removeItem(atPath: path) }
        c.metricsPath = path
        _ = try federate(c, ranks: ranks)
        return try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
            .map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
            .filter { $0["event"] as? String == "round" }
    }

    func federate(_ config: FederatedConfig, ranks: Int) throws -> FederatedFinalRecord {
        let finals = try LoopbackTransport.run(ranks: ranks) { try runFederated(config: config, peers: $0) }
        XCTAssertTrue(finals.dropFirst().allSatisfy { $0 == nil }, "executors return no record")
        return try XCTUnwrap(finals[0], "the coordinator returns the final record")
    }

    /// The strategies `--clients` covers, each on 1, 2, 3 and 4 executors:
    /// one model hash per strategy, and a different one for each strategy
    /// (so the comparison is not between runs that ignore the setting).
    func testTheModelIsBitwiseTheSameOnOneToFourExecutors() throws {
        var fedprox = config()
        fedprox.strategy = .fedprox
        fedprox.mu = 0.1
        var fednova = config()
        fednova.aggregation = .fednova
        fednova.localSteps = nil
        fednova.localEpochs = 1
        fednova.momentum = 0.5
        var topk = config()
        topk.compression = CompressionSettings()
        topk.compression!.ratio = 0.05
        topk.compression!.groupSize = 256
        var heterogeneous = config()
        heterogeneous.clientSpeed = [1, 1, 4, 1, 1, 2, 1]
        heterogeneous.slowdownProbability = 0.3
        heterogeneous.clientBandwidth = [50]
        heterogeneous.aggregation = .trimmedMean
        var noise = config()
        noise.byzantine = ByzantineSettings(ranks: [2, 5], attack: .noise, scale: 5)
        noise.aggregation = .median
        let variants: [(String, FederatedConfig)] = [
            ("fedavg", config()), ("fedprox", fedprox), ("fednova", fednova), ("group-topk", topk),
            ("heterogeneous, trimmed mean", heterogeneous), ("noise attack, median", noise),
        ]
        var perVariant = Set<String>()
        for (name, c) in variants {
            let hashes = try (2...5).map { try federate(c, ranks: $0).modelSHA256 }
            XCTAssertEqual(Set(hashes).count, 1, "\(name): \(hashes)")
            perVariant.insert(hashes[0])
        }
        XCTAssertEqual(perVariant.count, variants.count, "each strategy trains another model")
    }

    /// Emulated slowness is drawn per client and round: which (round,
    /// client) pairs waited is the same on 2 and 3 executors, and some did
    /// and some did not.
    func testEmulatedSlowdownsAreTheSameOnTwoAndThreeExecutors() throws {
        var c = config()
        c.clientsPerRound = 7
        c.clientSpeed = [1, 1, 4, 1, 1, 2, 1]
        c.slowdownProbability = 0.3
        c.clientBandwidth = [50]
        func waited(_ rounds: [[String: Any]]) -> [String: Bool] {
            var pattern = [String: Bool]()
            for r in rounds {
                for e in r["clients"] as! [[String: Any]] {
                    pattern["\(r["round"] as! Int)/\(e["client"] as! Int)"] = (e["wait_s"] as! Double) > 0
                }
            }
            return pattern
        }
        let two = waited(try roundRecords(c, ranks: 3))
        let three = waited(try roundRecords(c, ranks: 4))
        XCTAssertEqual(two.count, 3 * 7)
        XCTAssertEqual(two, three)
        XCTAssertEqual(Set(two.values), [true, false], "the pattern has both")
    }

    /// N clients on N executors train what one client per rank trains: the
    /// client's randomness and data are the same, only the messages differ.
    func testOneClientPerExecutorMatchesTheRankPerClientRun() throws {
        var legacy = config(clients: 4)
        legacy.virtualClients = nil
        legacy.clientsPerRound = 3
        var virtual = config(clients: 4)
        virtual.clientsPerRound = 3
        XCTAssertEqual(try federate(virtual, ranks: 5).modelSHA256, try federate(legacy, ranks: 5).modelSHA256)
        XCTAssertEqual(try federate(virtual, ranks: 3).modelSHA256, try federate(legacy, ranks: 5).modelSHA256)
    }

    /// Round records name each client and its executor, and the emulated
    /// times: a client 8x slower holds up its round's emulated time, not the
    /// other clients of its executor.
    func testRecordsAccountEmulatedTimePerClient() throws {
        let path = NSTemporaryDirectory() + "vc-\(UUID().uuidString).jsonl"
        defer { try? FileManager.default.removeItem(atPath: path) }
        var c = config(clients: 6)
        c.clientsPerRound = 6
        c.clientSpeed = [1, 1, 1, 1, 1, 8]
        c.clientBandwidth = [40, 40, 40, 40, 40, 4]
        c.metricsPath = path
        let final = try federate(c, ranks: 3)
        XCTAssertEqual(final.clients, 6)
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        let rounds = try lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
            .filter { $0["event"] as? String == "round" }
        XCTAssertEqual(rounds.count, 3)
        for r in rounds {
            let entries = try XCTUnwrap(r["clients"] as? [[String: Any]])
            XCTAssertEqual(entries.compactMap { $0["client"] as? Int }, Array(1...6), "entries in client order")
            XCTAssertTrue(entries.allSatisfy { [1, 2].contains($0["rank"] as? Int) }, "rank is the executor")
            let emulated = entries.map { $0["emulated_s"] as! Double }
            let waits = entries.map { $0["wait_s"] as! Double }
            // Client 6 waits 7x its compute; the others wait nothing.
            XCTAssertEqual(waits.prefix(5).max(), 0)
            XCTAssertGreaterThan(waits[5], 0)
            XCTAssertEqual(try XCTUnwrap(r["emulated_round_s"] as? Double), emulated.max()!)
            // emulated_s is the model's download on the client's link, its
            // compute, its wait and its upload, each from the record: four
            // additions, so within 4 roundings of the sum.
            for (e, bandwidth) in zip(entries, c.clientBandwidth!) {
                let download = Double(e["bytes_down"] as! Int) * 8 / (bandwidth * 1e6)
                let parts = [download, e["compute_s"] as! Double, e["wait_s"] as! Double, e["upload_s"] as! Double]
                XCTAssertGreaterThan(download, 0)
                XCTAssertGreaterThan(parts[3], 0, "the upload is accounted on the link")
                let total = e["emulated_s"] as! Double
                XCTAssertEqual(total, parts.reduce(0, +), accuracy: 4 * total.ulp, "client \(e["client"]!)")
            }
        }
    }

    /// 1,000 clients of log-normal sizes (at least 3 samples) on 2
    /// executors, 50 a round, one epoch each: the same model on 3 executors.
    func testAThousandClientRun() throws {
        var c = FederatedConfig()
        c.data = .synthetic(trainCount: 6000, testCount: 100)
        c.partition = .skewed(.lognormal(sigma: 1), minSize: 3)
        c.hidden = [8]
        c.rounds = 3
        c.batch = 3
        c.virtualClients = 1000
        c.fraction = 0.05
        c.evalBatch = 100
        c.json = true
        let two = try federate(c, ranks: 3)
        XCTAssertEqual(two.clients, 1000)
        XCTAssertEqual(two.versions, 3)
        XCTAssertEqual(two.modelSHA256, try federate(c, ranks: 4).modelSHA256)
    }

    func testBadCombinationsGetOneLineBeforeAnyMessage() {
        func refusal(_ c: FederatedConfig, ranks: Int) -> String {
            do {
                _ = try LoopbackTransport.run(ranks: ranks) { try runFederated(config: c, peers: $0) }
                return "no error"
            } catch {
                return "\(error)"
            }
        }
        XCTAssertEqual(refusal(config(clients: 3), ranks: 5),
                       "--clients 3 is fewer than the 4 executor ranks (ranks 1...4); run at most 4 ranks")
        var zero = config(clients: 7)
        zero.clientsPerRound = nil
        zero.fraction = 0.05
        XCTAssertEqual(refusal(zero, ranks: 3),
                       "--fraction 0.05 selects 0 of the 7 clients (round(0.05 x 7) = 0); give at least \(1 / 14.0) or --clients-per-round")
        var shards = config(clients: 8)
        shards.partition = .shards(perPartition: 2)
        XCTAssertTrue(refusal(shards, ranks: 3).hasSuffix(
            "--partition shards: 8 clients x 2 shards = 16 shards do not divide the 420 training samples"), refusal(shards, ranks: 3))
        var dividing = config(clients: 7)
        dividing.partition = .shards(perPartition: 2)
        XCTAssertEqual(refusal(dividing, ranks: 3), "no error", "7 x 2 = 14 shards of 30 samples")
        var async = config()
        async.asynchronous = true
        XCTAssertTrue(refusal(async, ranks: 3).hasPrefix("--clients does not combine with --async"))
        var fedada = config()
        fedada.strategy = .fedada
        XCTAssertTrue(refusal(fedada, ranks: 3).hasPrefix("--clients does not combine with --strategy fedada"))
        // 420 samples make 52 batches of 8: 53 clients cannot each hold one,
        // refused before partitioning (else the partition's own error came first).
        var many = config(clients: 53)
        many.partition = .iid
        XCTAssertEqual(refusal(many, ranks: 3),
                       "--clients 53 cannot each hold a batch of 8: the 420 training samples make at most 52 batches")
        var enough = config(clients: 52)
        enough.partition = .iid
        XCTAssertEqual(refusal(enough, ranks: 3), "no error")
        var small = config(clients: 7)
        small.partition = .skewed(.lognormal(sigma: 3), minSize: 2)
        small.batch = 10
        XCTAssertTrue(refusal(small, ranks: 3).hasPrefix("--batch 10 is larger than client "), refusal(small, ranks: 3))
        var speeds = config()
        speeds.clientSpeed = [1, 2]
        XCTAssertEqual(refusal(speeds, ranks: 3), "--client-speed has 2 values for 7 clients")
    }

    /// An executor that labels its updates as another client's: each such
    /// update is a rejected upload of the client it was training (counted,
    /// noted in the round record), and the run goes on; the other
    /// executors' updates are kept.
    func testAnUpdateLabelledWithAnotherClientIsRejected() throws {
        for ranks in [3, 4, 5] {
            let path = NSTemporaryDirectory() + "vc-\(UUID().uuidString).jsonl"
            defer { try? FileManager.default.removeItem(atPath: path) }
            var settings = config()
            settings.metricsPath = path
            let c = settings
            let liar = ranks - 1
            let finals = try LoopbackTransport.run(ranks: ranks) { peers -> FederatedFinalRecord? in
                let group: PeerGroup = peers.rank == liar ? FaultyPeer(peers, fault: labellingUpdates(as: 999)) : peers
                return try runFederated(config: c, peers: group)
            }
            let final = try XCTUnwrap(finals[0])
            XCTAssertEqual(final.versions, 3, "N \(ranks)")
            let entries = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
                .map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
                .filter { $0["event"] as? String == "round" }
                .flatMap { $0["clients"] as! [[String: Any]] }
            let fromLiar = entries.filter { $0["rank"] as? Int == liar }
            XCTAssertFalse(fromLiar.isEmpty, "N \(ranks): the executor took part")
            XCTAssertTrue(fromLiar.allSatisfy { ($0["rejected"] as? String)?.contains("as client 999") == true }, "N \(ranks)")
            XCTAssertTrue(entries.filter { $0["rank"] as? Int != liar }.allSatisfy { $0["rejected"] == nil }, "N \(ranks)")
            XCTAssertEqual(final.rejectedUpdates, fromLiar.count, "N \(ranks)")
        }
    }

    func testPlacementBalancesWorkLongestFirst() {
        // 9 and 7 go to executors 0 and 1; 5 joins 7 (load 7 < 9); 4 joins 9; 3 then goes to 9+4=13 vs 7+5=12 -> 1.
        XCTAssertEqual(placeClients(work: [5, 9, 3, 7, 4], executors: 2), [1, 0, 1, 1, 0])
        XCTAssertEqual(placeClients(work: [2, 2, 2], executors: 3), [0, 1, 2])
        XCTAssertEqual(placeClients(work: [1, 1, 1, 1], executors: 1), [0, 0, 0, 0])
        // Clients of no work still spread: ties in work go to the executor with fewer clients.
        XCTAssertEqual(placeClients(work: [0, 0, 0, 0, 0], executors: 3), [0, 1, 2, 0, 1])
        XCTAssertEqual(placeClients(work: [3, 0, 0], executors: 2), [0, 1, 1])
    }
}
