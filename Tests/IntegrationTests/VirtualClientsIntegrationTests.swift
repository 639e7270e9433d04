import Foundation
import XCTest

/// `edgetrain federated --clients N` under real mpirun jobs, on small synthetic data.
final class VirtualClientsIntegrationTests: XCTestCase {
    /// 420 synthetic samples over `clients` clients, 3 rounds of 4 local steps.
    func arguments(clients: Int = 7, perRound: [String] = ["--clients-per-round", "4"], batch: Int = 8,
                   partition: [String] = ["--partition", "dirichlet", "--alpha", "0.5", "--min-partition-size", "8"]) -> [String] {
        ["federated", "--synthetic", "--synthetic-train", "420", "--synthetic-test", "60", "--hidden", "16",
         "--rounds", "3", "--batch", "\(batch)", "--lr", "0.05", "--local-steps", "4", "--clients", "\(clients)", "--json"]
            + perRound + partition
    }

    /// 7 clients on 1, 2, 3 and 4 executors (2 to 5 ranks) give one model,
    /// with FedProx and Group-TopK uploads (a per-client residual).
    func testSevenClientsGiveOneModelOnOneToFourExecutors() throws {
        let args = arguments() + ["--strategy", "fedprox", "--mu", "0.1", "--compression", "group-topk", "--ratio", "0.05",
                            "--group-size", "256"]
        var hashes = [String]()
        for ranks in 2...5 {
            let outcome = try MPIJob.run("edgetrain", args, ranks: ranks, timeout: 120)
            XCTAssertEqual(outcome.status, 0, "\(ranks) ranks: \(outcome.stderr)")
            let final = try XCTUnwrap(outcome.jsonLines.last, "\(ranks) ranks: no final record")
            XCTAssertEqual(final["clients"] as? Int, 7)
            XCTAssertEqual(final["ranks"] as? Int, ranks)
            hashes.append(try XCTUnwrap(final["model_sha256"] as? String))
        }
        XCTAssertEqual(Set(hashes).count, 1, "\(hashes)")
    }

    /// Bad combinations: one line, a non-zero exit, no rank left waiting.
    func testBadCombinationsEndTheJobWithOneLine() throws {
        let cases: [(args: [String], ranks: Int, message: String)] = [
            (arguments(clients: 3, perRound: []), 5,
             "edgetrain: --clients 3 is fewer than the 4 executor ranks (ranks 1...4); run at most 4 ranks"),
            (arguments(perRound: ["--fraction", "0.05"]), 3, "edgetrain: --fraction 0.05 selects 0 of the 7 clients"),
            (arguments(clients: 8, partition: ["--partition", "shards"]), 3,
             "edgetrain: --partition shards: 8 clients x 2 shards = 16 shards do not divide the 420 training samples"),
            (arguments(batch: 100), 4,
             "edgetrain: --clients 7 cannot each hold a batch of 100: the 420 training samples make at most 4 batches"),
            (arguments(batch: 50), 4, "edgetrain: --batch 50 is larger than client"),
        ]
        for c in cases {
            let outcome = try MPIJob.run("edgetrain", c.args, ranks: c.ranks, timeout: 60)
            XCTAssertNotEqual(outcome.status, 0, "\(c.args)")
            let lines = outcome.stderr.split(separator: "\n").filter { $0.hasPrefix("edgetrain:") }
            XCTAssertEqual(lines.count, 1, "\(c.args): \(outcome.stderr)")
            XCTAssertTrue(lines.first?.hasPrefix(c.message) ?? false, "\(c.args): \(outcome.stderr)")
            // Ended by the refusal, not by mpirun's time limit.
            XCTAssertFalse(outcome.stderr.contains(MPIJob.timeLimitNotice), "\(c.args): \(outcome.stderr)")
            XCTAssertLessThan(outcome.seconds, 60, "\(c.args)")
        }
    }
}
