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
            let hashes = try (2...5).map { try federate(c, ranks: $0).figures.modelSHA256 }
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
        XCTAssertEqual(try federate(virtual, ranks: 5).figures.modelSHA256, try federate(legacy, ranks: 5).figures.modelSHA256)
        XCTAssertEqual(try federate(virtual, ranks: 3).figures.modelSHA256, try federate(legacy, ranks: 5).figures.modelSHA256)
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
        XCTAssertEqual(final.figures.clients, 6)
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
        XCTAssertEqual(two.figures.clients, 1000)
        XCTAssertEqual(two.figures.versions, 3)
        XCTAssertEqual(two.figures.modelSHA256, try federate(c, ranks: 4).figures.modelSHA256)
    }

    /// The entries of each round record, by client id.
    func entriesByClient(_ rounds: [[String: Any]]) throws -> [[Int: [String: Any]]] {
        try rounds.map { r in
            let entries = try XCTUnwrap(r["clients"] as? [[String: Any]])
            return Dictionary(uniqueKeysWithValues: entries.map { ($0["client"] as! Int, $0) })
        }
    }

    /// `--round-timeout` is a deadline on each client's emulated clock.
    /// Client 3's link (0.001 Mbit/s) takes minutes of emulated time for
    /// one model, the others' milliseconds: client 3 misses every round and
    /// no other client does, each round's emulated time is the deadline, and
    /// the run waits for none of it (a real wait would take ~7 minutes a
    /// round). The same model on 1, 2 and 4 executors.
    func testARoundTimeoutDropsTheClientWhoseEmulatedTimeIsPastIt() throws {
        var c = config(clients: 6)
        c.clientsPerRound = 6
        c.clientBandwidth = [50, 50, 0.001, 50, 50, 50]
        c.roundTimeout = 60
        var hashes = Set<String>()
        for ranks in [2, 3, 5] {
            let rounds = try roundRecords(c, ranks: ranks)
            XCTAssertEqual(rounds.count, 3)
            for (r, entries) in zip(rounds, try entriesByClient(rounds)) {
                XCTAssertEqual(entries[3]?["dropped"] as? Bool, true, "client 3 misses the deadline")
                XCTAssertEqual((1...6).filter { entries[$0]?["dropped"] as? Bool == true }, [3], "only client 3")
                XCTAssertEqual(r["emulated_round_s"] as? Double, 60, "the round lasts until the deadline")
                XCTAssertEqual(r["dropped"] as? Int, 1)
            }
            var hashed = c
            hashed.metricsPath = nil
            hashes.insert(try federate(hashed, ranks: ranks).figures.modelSHA256)
        }
        XCTAssertEqual(hashes.count, 1, "\(hashes)")
    }

    /// `--partial-work` stops a client at the reference round time on its
    /// emulated clock: client 3 waits 10^9 x its compute per step, so from
    /// round 2 (the first with a reference) it stops after one step; the
    /// run does not wait for any of it.
    func testPartialWorkStopsOnTheEmulatedClock() throws {
        var c = config(clients: 5)
        c.clientsPerRound = 5
        c.clientSpeed = [1, 1, 1e9, 1, 1]
        c.partialWork = true
        let rounds = try roundRecords(c, ranks: 3)
        let entries = try entriesByClient(rounds)
        XCTAssertEqual(entries[0][3]?["steps"] as? Int, 4, "no reference in round 1")
        for e in entries.dropFirst() {
            XCTAssertEqual(e[3]?["steps"] as? Int, 1)
            XCTAssertEqual(e[3]?["stop_iteration"] as? Int, 1)
            XCTAssertEqual(e[3]?["planned_steps"] as? Int, 4)
        }
    }

    /// FedAda with `--clients` assigns steps per client from emulated round
    /// times: client 3, 40x slower, is given fewer than its 4 steps, and
    /// the assignments are keyed by client id (1...6), not by executor.
    func testFedAdaAssignsStepsPerClient() throws {
        var c = config(clients: 6)
        c.clientsPerRound = 6
        c.strategy = .fedada
        c.clientSpeed = [1, 1, 40, 1, 1, 1]
        c.rounds = 3
        let rounds = try roundRecords(c, ranks: 3)
        let assigned = try XCTUnwrap(rounds.last?["assigned_steps"] as? [String: Int])
        XCTAssertEqual(Set(assigned.keys), Set((1...6).map(String.init)))
        XCTAssertLessThan(try XCTUnwrap(assigned["3"]), 4)
        let entries = try entriesByClient(rounds)
        XCTAssertEqual(entries[2][3]?["steps"] as? Int, rounds[1]["assigned_steps"].flatMap { ($0 as? [String: Int])?["3"] },
                       "client 3 trains the steps it was assigned")
    }

    /// Autonomy with `--clients`: every client keeps its own progress
    /// curves, and early-sent layers are labelled with their client, so
    /// none is refused; from round 5 (after two sampling rounds) layers go
    /// early.
    func testAutonomyLayersAreLabelledWithTheirClient() throws {
        var c = config(clients: 5)
        c.clientsPerRound = 5
        c.rounds = 6
        c.strategy = .autonomy
        c.aggregation = .fednova
        c.autonomy.earlyStop = true
        c.autonomy.earlyTransmit = true
        c.autonomy.sampleEvery = 2
        c.autonomy.convergeThreshold = 0
        c.clientBandwidth = [20]
        var last: FederatedFinalRecord?
        for ranks in [2, 3, 5] {
            let path = NSTemporaryDirectory() + "vc-\(UUID().uuidString).jsonl"
            defer { try? FileManager.default.removeItem(atPath: path) }
            var run = c
            run.metricsPath = path
            last = try federate(run, ranks: ranks)
            XCTAssertEqual(last?.figures.rejectedUpdates, 0, "\(ranks) ranks")
            let rounds = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
                .map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
                .filter { $0["event"] as? String == "round" }
            let early = try entriesByClient(rounds).flatMap { $0.values }.filter { !($0["layers_sent_early"] as? [String] ?? []).isEmpty }
            XCTAssertFalse(early.isEmpty, "\(ranks) ranks: layers were sent early")
        }
    }

    /// `--async` with `--clients` applies updates in the clients' emulated
    /// order. Links of 0.001-0.002 Mbit/s make each client's emulated time
    /// minutes, different for every client, so measured compute (well under
    /// a second) cannot reorder them: the model is the same on 1, 2 and 4
    /// executors, although the executors finish the clients in other orders.
    func testAsyncAppliesUpdatesInEmulatedOrder() throws {
        var c = config(clients: 5)
        c.asynchronous = true
        c.clientsPerRound = 2
        c.rounds = 6
        c.clientBandwidth = [0.0011, 0.0013, 0.0017, 0.0019, 0.0023]
        var orders = [[Int]]()
        var hashes = Set<String>()
        for ranks in [2, 3, 5] {
            let path = NSTemporaryDirectory() + "vc-\(UUID().uuidString).jsonl"
            defer { try? FileManager.default.removeItem(atPath: path) }
            var run = c
            run.metricsPath = path
            hashes.insert(try federate(run, ranks: ranks).figures.modelSHA256)
            let rounds = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
                .map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
                .filter { $0["event"] as? String == "round" }
            XCTAssertEqual(rounds.count, 6)
            orders.append(try rounds.flatMap { try XCTUnwrap($0["clients"] as? [[String: Any]]).map { $0["client"] as! Int } })
            // Version v is applied at emulated time T_v (the sum of the
            // versions' emulated_round_s). Two clients start at 0 and one
            // more at each T_v, so the update applied at T_v finishes there:
            // T_v less its client's emulated_s is 0 or an earlier T_u. An
            // update applied out of order would be clamped to the clock.
            var starts = [0.0], clock = 0.0
            for r in rounds {
                clock += try XCTUnwrap(r["emulated_round_s"] as? Double)
                let entry = try XCTUnwrap((r["clients"] as? [[String: Any]])?.first)
                let start = clock - (entry["emulated_s"] as! Double)
                XCTAssertTrue(starts.contains { abs($0 - start) <= 1e-9 * clock }, "\(ranks) ranks: started at \(start), not one of \(starts)")
                starts.append(clock)
            }
            XCTAssertGreaterThan(clock, 60, "minutes of emulated time")
        }
        XCTAssertEqual(orders[0], orders[1])
        XCTAssertEqual(Set(orders[0]).count > 2, true, "more than the first two clients took part: \(orders[0])")
        XCTAssertEqual(hashes.count, 1, "\(hashes)")
    }

    /// `--async --buffer 3` with QSGD uploads: an update that does not fill
    /// the buffer leaves the version where it was, so a client can be sent
    /// one version twice, and in this run one is (an update's version is
    /// its record's round - 1 - its staleness). Each upload draws from the
    /// client's own upload count, never the executor's, so the model is the
    /// same on 1, 2 and 4 executors.
    func testAsyncCodecUploadsAreTheSameOnOneToFourExecutors() throws {
        var c = config(clients: 5)
        c.asynchronous = true
        c.clientsPerRound = 2
        c.buffer = 3
        c.rounds = 4
        c.clientBandwidth = [0.0011, 0.0013, 0.0017, 0.0019, 0.0023]
        var qsgd = CompressionSettings()
        qsgd.method = .qsgd
        (qsgd.levels, qsgd.bucketSize, qsgd.errorFeedback) = (7, 128, false)
        c.compression = qsgd
        var hashes = Set<String>()
        for ranks in [2, 3, 5] {
            let path = NSTemporaryDirectory() + "vc-\(UUID().uuidString).jsonl"
            defer { try? FileManager.default.removeItem(atPath: path) }
            var run = c
            run.metricsPath = path
            let final = try federate(run, ranks: ranks)
            XCTAssertEqual(final.figures.rejectedUpdates, 0, "\(ranks) ranks")
            hashes.insert(final.figures.modelSHA256)
            let rounds = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
                .map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
                .filter { $0["event"] as? String == "round" }
            var sent = [String: Int]()
            for r in rounds {
                for e in try XCTUnwrap(r["clients"] as? [[String: Any]]) {
                    let version = (r["round"] as! Int) - 1 - (e["staleness"] as! Int)
                    sent["client \(e["client"] as! Int) at version \(version)", default: 0] += 1
                }
            }
            XCTAssertTrue(sent.values.contains { $0 >= 2 }, "\(ranks) ranks: no client was sent a version twice: \(sent)")
        }
        XCTAssertEqual(hashes.count, 1, "\(hashes)")
    }

    /// Checkpoints with `--clients`: each executor saves all its clients'
    /// states (samplers, residuals) in one file; a run resumed from round 2
    /// ends with the model of the run that never stopped, with the idle
    /// residuals in memory or spilled to disk.
    func testAVirtualClientRunResumesBitwise() throws {
        var c = config(clients: 7)
        c.rounds = 4
        c.compression = CompressionSettings()
        c.compression!.ratio = 0.05
        c.compression!.groupSize = 256
        for ranks in [2, 3, 5] {
            let dir = NSTemporaryDirectory() + "vc-ckpt-\(UUID().uuidString)"
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let reference = try federate(c, ranks: ranks).figures.modelSHA256
            var run = c
            run.checkpointDir = dir
            run.checkpointEvery = 2
            XCTAssertEqual(try federate(run, ranks: ranks).figures.modelSHA256, reference, "\(ranks) ranks: checkpointing changed the run")
            // The last round writes no checkpoint: the resume starts after round 2.
            run.resume = true
            XCTAssertEqual(try federate(run, ranks: ranks).figures.modelSHA256, reference, "\(ranks) ranks: resumed")
            // With no memory for residuals, idle clients' residuals go to
            // the spill file: the same bits, fresh and resumed.
            var spilled = c
            spilled.residualMemoryBytes = 0
            let stored = ResidualSpill.stores.value
            XCTAssertEqual(try federate(spilled, ranks: ranks).figures.modelSHA256, reference, "\(ranks) ranks: spilled")
            XCTAssertGreaterThan(ResidualSpill.stores.value, stored, "the run spilled residuals")
            spilled.checkpointDir = dir
            spilled.checkpointEvery = 2
            spilled.resume = true
            XCTAssertEqual(try federate(spilled, ranks: ranks).figures.modelSHA256, reference, "\(ranks) ranks: spilled, resumed")
            XCTAssertThrowsError(try federate(run, ranks: ranks == 3 ? 4 : 3), "another executor count is refused")
        }
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
        async.checkpointDir = NSTemporaryDirectory() + "vc-refused-\(UUID().uuidString)"
        async.checkpointEvery = 1
        XCTAssertEqual(refusal(async, ranks: 3), "--clients with --async does not combine with --checkpoint-every yet")
        XCTAssertFalse(FileManager.default.fileExists(atPath: async.checkpointDir!), "refused before anything is written")
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
            XCTAssertEqual(final.figures.versions, 3, "N \(ranks)")
            let entries = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
                .map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
                .filter { $0["event"] as? String == "round" }
                .flatMap { $0["clients"] as! [[String: Any]] }
            let fromLiar = entries.filter { $0["rank"] as? Int == liar }
            XCTAssertFalse(fromLiar.isEmpty, "N \(ranks): the executor took part")
            XCTAssertTrue(fromLiar.allSatisfy { ($0["rejected"] as? String)?.contains("as client 999") == true }, "N \(ranks)")
            XCTAssertTrue(entries.filter { $0["rank"] as? Int != liar }.allSatisfy { $0["rejected"] == nil }, "N \(ranks)")
            XCTAssertEqual(final.figures.rejectedUpdates, fromLiar.count, "N \(ranks)")
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
