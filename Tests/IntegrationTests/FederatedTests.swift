import Foundation
import XCTest

/// `edgetrain federated` under real mpirun jobs, on small synthetic data.
final class FederatedIntegrationTests: XCTestCase {
    let small = ["federated", "--synthetic", "--synthetic-train", "1200", "--synthetic-test", "300",
                 "--rounds", "4", "--batch", "16", "--lr", "0.02", "--local-steps", "20", "--json"]

    func testEveryStrategyLowersTheGlobalLossWithWellFormedRecords() throws {
        let variants: [(name: String, args: [String])] = [
            ("fedavg", []),
            ("fedprox", ["--strategy", "fedprox", "--mu", "0.01"]),
            ("fedada", ["--strategy", "fedada", "--client-speed", "1,1,1,4"]),
            ("fednova", ["--aggregation", "fednova", "--slowdown-prob", "0.2", "--slowdown-steps", "5"]),
            ("async", ["--async", "--rounds", "8"]),
            ("fedbuff", ["--async", "--buffer", "2", "--rounds", "4", "--staleness-weight", "constant"]),
            ("timeout", ["--client-speed", "1,1,1,100", "--round-timeout", "1"]),
            ("compressed", ["--compression", "group-topk", "--ratio", "0.05", "--client-bandwidth", "100"]),
        ]
        for v in variants {
            let path = temporaryFilePath("fed")
            defer { try? FileManager.default.removeItem(atPath: path) }
            let outcome = try MPIJob.run("edgetrain", small + v.args + ["--metrics", path], ranks: 5, timeout: 240)
            XCTAssertEqual(outcome.status, 0, "\(v.name): \(outcome.stderr)")
            let final = try XCTUnwrap(outcome.jsonLines.last, "\(v.name): no final record")
            XCTAssertEqual(final["event"] as? String, "final")
            XCTAssertEqual(final["clients"] as? Int, 4)
            let rounds = try jsonRecords(path).filter { $0["event"] as? String == "round" }
            XCTAssertFalse(rounds.isEmpty, v.name)
            let losses = try rounds.map { try XCTUnwrap($0["test_loss"] as? Double) }
            XCTAssertLessThan(losses.last!, losses.first!, "\(v.name): global loss did not fall: \(losses)")
            for r in rounds {
                for key in ["round", "wall_s", "test_accuracy", "test_loss", "idle_s", "clients"] {
                    XCTAssertNotNil(r[key], "\(v.name): round record lacks \(key)")
                }
                for c in try XCTUnwrap(r["clients"] as? [[String: Any]]) where (c["dropped"] as? Bool) == false {
                    for key in ["rank", "steps", "compute_s", "bytes_up", "bytes_down", "staleness", "dropped"] {
                        XCTAssertNotNil(c[key], "\(v.name): client entry lacks \(key)")
                    }
                }
            }
            if v.name == "timeout" {
                // The client 100x slower misses the 1 s deadline and is left out.
                XCTAssertGreaterThan((final["dropped_updates"] as? Int ?? 0) + (final["late_updates"] as? Int ?? 0), 0)
            }
            if v.name == "fedada" {
                let assigned = try XCTUnwrap(rounds.last?["assigned_steps"] as? [String: Int])
                XCTAssertLessThan(try XCTUnwrap(assigned["4"]), 20, "the slow client should get fewer steps: \(assigned)")
            }
            if v.name == "compressed" {
                XCTAssertLessThan(try XCTUnwrap(final["bytes_up"] as? Int), (try XCTUnwrap(final["bytes_down"] as? Int)) / 5)
                // 235,146 parameters in groups of 1024 at 0.05: 229 full groups keep
                // round(51.2) = 51, the last 650 elements round(51 x 650 / 1024) = 32.
                XCTAssertEqual(try XCTUnwrap(final["ratio_effective"] as? Double), Double(229 * 51 + 32) / 235_146, accuracy: 1e-15)
            }
        }
    }

    func testAutonomyStopsTheSlowClientEarlyAndSendsLayersEarly() throws {
        let path = temporaryFilePath("fed")
        defer { try? FileManager.default.removeItem(atPath: path) }
        // Sampling rounds 2 and 4 give the two curves; rounds 3 and 5..8 use them.
        let outcome = try MPIJob.run(
            "edgetrain",
            ["federated", "--synthetic", "--synthetic-train", "2400", "--synthetic-test", "300", "--rounds", "8",
             "--batch", "16", "--lr", "0.02", "--local-steps", "60", "--strategy", "autonomy", "--sample-every", "2",
             "--client-speed", "1,1,8", "--converge-threshold", "0.5", "--resend-threshold", "0.5", "--json",
             "--metrics", path],
            ranks: 4, timeout: 240)
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        let final = try XCTUnwrap(outcome.jsonLines.last)
        XCTAssertEqual(final["aggregation"] as? String, "fednova")
        let rounds = try jsonRecords(path).filter { $0["event"] as? String == "round" }
        XCTAssertEqual(rounds.count, 8)
        var slowStops = 0, earlyLayers = 0
        for r in rounds {
            let sampling = try XCTUnwrap(r["sampling_round"] as? Bool)
            for c in try XCTUnwrap(r["clients"] as? [[String: Any]]) {
                let stopped = try XCTUnwrap(c["stopped_early"] as? Bool)
                if sampling { XCTAssertFalse(stopped, "sampling rounds run the full work") }
                if stopped {
                    XCTAssertLessThan(try XCTUnwrap(c["steps"] as? Int), 60)
                    XCTAssertEqual(c["stop_iteration"] as? Int, c["steps"] as? Int)
                    if c["rank"] as? Int == 3 { slowStops += 1 }
                }
                earlyLayers += try XCTUnwrap(c["layers_sent_early"] as? [String]).count
                XCTAssertNotNil(c["overlap_saved_s"] as? Double)
            }
        }
        XCTAssertGreaterThan(slowStops, 0, "the client 8x slower never stopped early")
        XCTAssertGreaterThan(earlyLayers, 0, "no layer was sent early")
        XCTAssertLessThan(try XCTUnwrap(rounds.last?["test_loss"] as? Double), try XCTUnwrap(rounds.first?["test_loss"] as? Double))
    }

    func testSynchronousRunsAreDeterministic() throws {
        let a = try MPIJob.run("edgetrain", small + ["--seed", "5", "--partition", "dirichlet"], ranks: 4)
        let b = try MPIJob.run("edgetrain", small + ["--seed", "5", "--partition", "dirichlet"], ranks: 4)
        let c = try MPIJob.run("edgetrain", small + ["--seed", "6", "--partition", "dirichlet"], ranks: 4)
        for o in [a, b, c] { XCTAssertEqual(o.status, 0, o.stderr) }
        let hash = { (o: MPIJob.Outcome) in o.jsonLines.last?["model_sha256"] as? String }
        XCTAssertNotNil(hash(a))
        XCTAssertEqual(hash(a), hash(b))
        XCTAssertNotEqual(hash(a), hash(c))
    }

    func testRobustAggregationAndTheNormBoundWithstandAPoisonedClient() throws {
        func accuracy(_ extra: [String], metrics: String? = nil, ranks: Int = 4) throws -> Double {
            let outcome = try MPIJob.run("edgetrain", small + extra + (metrics.map { ["--metrics", $0] } ?? []), ranks: ranks)
            XCTAssertEqual(outcome.status, 0, outcome.stderr)
            return try XCTUnwrap(outcome.jsonLines.last?["test_accuracy"] as? Double, "\(extra)")
        }
        let honest = try accuracy([])
        let flip = ["--byzantine", "3", "--attack", "sign-flip"]
        let poisoned = try accuracy(flip)
        let median = try accuracy(flip + ["--aggregation", "median"])
        // 5 clients: the trimmed mean drops 1 value per end and averages 3, unlike the median.
        let trimmed = try accuracy(flip + ["--aggregation", "trimmed-mean"], ranks: 6)
        XCTAssertGreaterThan(honest, 0.8)
        XCTAssertLessThan(poisoned, 0.5, "FedAvg should fall to a sign-flipping client scaled by 10")
        XCTAssertGreaterThan(median, 0.7)
        XCTAssertGreaterThan(trimmed, 0.7)

        let metrics = temporaryFilePath("fed")
        defer { try? FileManager.default.removeItem(atPath: metrics) }
        let bounded = try accuracy(["--byzantine", "3", "--attack", "scale", "--attack-scale", "1000", "--max-update-norm", "100"],
                                   metrics: metrics)
        XCTAssertGreaterThan(bounded, 0.8)
        let rounds = try jsonRecords(metrics).filter { $0["event"] as? String == "round" }
        XCTAssertEqual(rounds.count, 4)
        for r in rounds {
            XCTAssertEqual(r["rejected"] as? Int, 1)
            XCTAssertEqual(r["participants"] as? Int, 2)
            let entry = (r["clients"] as? [[String: Any]])?.first { $0["rank"] as? Int == 3 }
            XCTAssertTrue((entry?["rejected"] as? String)?.contains("above --max-update-norm 100") ?? false, "\(r)")
        }
        XCTAssertEqual(try jsonRecords(metrics).last?["rejected_updates"] as? Int, 4)

        // NaN uploads are rejected by the finite check, every round.
        let nan = try MPIJob.run("edgetrain", small + ["--byzantine", "2", "--attack", "nan"], ranks: 4)
        XCTAssertEqual(nan.status, 0, nan.stderr)
        XCTAssertEqual(nan.jsonLines.last?["rejected_updates"] as? Int, 4)
        XCTAssertGreaterThan(nan.jsonLines.last?["test_accuracy"] as? Double ?? 0, 0.8)
        XCTAssertTrue(nan.stderr.contains("round 1: rejected rank 2's update: non-finite value nan at index 0"), nan.stderr)
    }

    /// Compressed uploads too: Group-TopK cannot rank a NaN, so the client
    /// sends that change dense and the coordinator's check rejects it, every
    /// round, and the run ends normally.
    func testANaNUploadIsRejectedWhenCompressedToo() throws {
        let compressed = try MPIJob.run("edgetrain", small + ["--byzantine", "2", "--attack", "nan", "--compression", "group-topk"], ranks: 4)
        XCTAssertEqual(compressed.status, 0, compressed.stderr)
        XCTAssertEqual(compressed.jsonLines.last?["rejected_updates"] as? Int, 4)
        // No NaN reached the model (a NaN weight makes the test loss NaN).
        XCTAssertTrue((compressed.jsonLines.last?["test_loss"] as? Double)?.isFinite ?? false, compressed.stdout)
        XCTAssertTrue(compressed.stderr.contains("round 1: rejected rank 2's update: non-finite value nan at index 0"), compressed.stderr)
    }
}
