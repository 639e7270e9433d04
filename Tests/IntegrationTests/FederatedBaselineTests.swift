import Foundation
import XCTest

/// The federated baselines of the autonomy ablation and the async draw,
/// under real mpirun jobs on small synthetic data.
final class FederatedBaselineTests: XCTestCase {
    let small = ["federated", "--synthetic", "--synthetic-train", "1200", "--synthetic-test", "300",
                 "--batch", "16", "--lr", "0.02", "--local-steps", "20", "--json"]

    /// With one client training at a time, every new slot is drawn from all
    /// clients: over 12 versions more than one client must have trained
    /// (a set fixed at the start would be one client throughout).
    func testAsyncDrawsActiveClientsFromAllClients() throws {
        let path = temporaryFilePath("fedb")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let outcome = try MPIJob.run("edgetrain", small + ["--async", "--clients-per-round", "1", "--rounds", "12",
                                                           "--metrics", path], ranks: 5, timeout: 240)
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        let rounds = try jsonRecords(path).filter { $0["event"] as? String == "round" }
        XCTAssertEqual(rounds.count, 12)
        var trained = Set<Int>()
        for r in rounds {
            let clients = try XCTUnwrap(r["clients"] as? [[String: Any]])
            XCTAssertEqual(clients.count, 1, "one client at a time, one update per version")
            trained.formUnion(clients.compactMap { $0["rank"] as? Int })
        }
        XCTAssertGreaterThan(trained.count, 1, "only ranks \(trained) ever trained")
    }

    /// `--partial-work`: from round 2 on, the 8x slower client stops at the
    /// reference time and its partial work is aggregated (it is never dropped).
    func testPartialWorkKeepsTheSlowClientsSteps() throws {
        let path = temporaryFilePath("fedb")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let outcome = try MPIJob.run("edgetrain", small + ["--rounds", "4", "--client-speed", "1,1,8", "--partial-work",
                                                           "--aggregation", "fednova", "--metrics", path],
                                     ranks: 4, timeout: 240)
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        let rounds = try jsonRecords(path).filter { $0["event"] as? String == "round" }
        XCTAssertEqual(rounds.count, 4)
        var slowStops = 0
        for r in rounds {
            let round = try XCTUnwrap(r["round"] as? Int)
            XCTAssertEqual(r["dropped"] as? Int, 0)
            for c in try XCTUnwrap(r["clients"] as? [[String: Any]]) {
                let stopped = try XCTUnwrap(c["stopped_early"] as? Bool)
                let steps = try XCTUnwrap(c["steps"] as? Int)
                if round == 1 { XCTAssertFalse(stopped, "round 1 has no reference time") }
                if stopped {
                    XCTAssertLessThan(steps, 20)
                    XCTAssertGreaterThan(steps, 0)
                    if c["rank"] as? Int == 3 { slowStops += 1 }
                } else {
                    XCTAssertEqual(steps, 20)
                }
            }
        }
        XCTAssertGreaterThan(slowStops, 0, "the 8x slower client never stopped at the deadline")
        let bad = try MPIJob.run("edgetrain", small + ["--partial-work", "--round-timeout", "2"], ranks: 3, timeout: 30)
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("--partial-work"), bad.stderr)
    }

    /// On the --client-bandwidth link model every final upload takes at least
    /// its own bytes' time, and early-sent layers queue ahead of it: what the
    /// overlap saved is the whole model's upload time minus the real upload.
    /// Autonomy sends layers early over the emulated link, and each client
    /// entry's upload time and overlap saving agree with each other and with
    /// the link's rate. (That the final update queues behind the early
    /// layers is UploadLinkTests', on a clock of its own.)
    func testEarlyLayersCrossTheEmulatedLink() throws {
        let path = temporaryFilePath("fedb")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let rate = 50.0
        let outcome = try MPIJob.run(
            "edgetrain",
            small + ["--rounds", "6", "--local-steps", "60", "--strategy", "autonomy", "--sample-every", "2",
                     "--converge-threshold", "0.5", "--resend-threshold", "0.5", "--client-bandwidth", "\(Int(rate))",
                     "--metrics", path],
            ranks: 3, timeout: 240)
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        let parameters = try XCTUnwrap(outcome.jsonLines.last?["parameters"] as? Int)
        let headerBytes = 27 * 8
        let whole = Double(headerBytes + parameters * 4) * 8 / (rate * 1e6)
        var early = 0
        for r in try jsonRecords(path) where r["event"] as? String == "round" {
            for c in try XCTUnwrap(r["clients"] as? [[String: Any]]) {
                let upload = try XCTUnwrap(c["upload_s"] as? Double)
                let own = Double(try XCTUnwrap(c["bytes_up"] as? Int)) * 8 / (rate * 1e6)
                // upload_s is (start + transfer) - now on the monotonic clock: a rounding at the
                // clock's magnitude, x * 2^-52 s, below 1e-6 s for any uptime under 140 years.
                XCTAssertGreaterThanOrEqual(upload, own - 1e-6)
                let saved = try XCTUnwrap(c["overlap_saved_s"] as? Double)
                if try XCTUnwrap(c["layers_sent_early"] as? [String]).isEmpty {
                    XCTAssertEqual(saved, 0)
                } else {
                    early += 1
                    // The record's definition (whole-model time minus this upload's), not the queue.
                    XCTAssertEqual(saved + upload, whole, accuracy: 1e-6)
                }
            }
        }
        XCTAssertGreaterThan(early, 0, "no layer was sent early")
    }
}
