import Foundation
import XCTest

/// `--trace` under a real mpirun: a 4-rank train and federated run each
/// write one trace that `scripts/check-trace.py` (the Trace Event format
/// rules the viewers apply) accepts, with a named track per rank.
final class TraceIntegrationTests: XCTestCase {
    func check(_ path: String, ranks: Int) throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let outcome = try MPIJob.spawn("/usr/bin/env", ["python3", "scripts/check-trace.py", path, "--ranks", "\(ranks)"],
                                       timeout: 60, currentDirectory: root)
        XCTAssertEqual(outcome.status, 0, outcome.stdout + outcome.stderr)
        XCTAssertTrue(outcome.stdout.hasSuffix("well formed\n"), outcome.stdout)
    }

    /// Runs `edgetrain ARGUMENTS --trace FILE` on 4 ranks and checks the trace.
    func traceOfAFourRankRun(_ arguments: [String]) throws {
        let path = temporaryFilePath("trace") + ".json"
        let run = try MPIJob.run("edgetrain", arguments + ["--synthetic", "--synthetic-train", "800", "--synthetic-test", "200",
                                                          "--batch", "16", "--trace", path, "--json"], ranks: 4)
        XCTAssertEqual(run.status, 0, run.stderr)
        try check(path, ranks: 4)
    }

    func testAFourRankTrainingTraceIsWellFormed() throws {
        try traceOfAFourRankRun(["train", "--epochs", "1", "--lr", "0.02", "--eval-every", "5"])
        try traceOfAFourRankRun(["train", "--epochs", "1", "--lr", "0.02", "--compression", "powersgd"])
    }

    func testAFourRankFederatedTraceIsWellFormed() throws {
        try traceOfAFourRankRun(["federated", "--rounds", "2", "--clients", "6", "--local-steps", "3"])
    }

    func testATraceIntoAMissingDirectoryIsRefusedBeforeTheRun() throws {
        let run = try MPIJob.run("edgetrain", ["train", "--synthetic", "--trace", "/nonexistent-dir/t.json"], ranks: 2, timeout: 30)
        XCTAssertNotEqual(run.status, 0)
        XCTAssertEqual(run.stderr.split(separator: "\n").filter { $0.hasPrefix("edgetrain:") },
                       ["edgetrain: --trace /nonexistent-dir/t.json: the directory /nonexistent-dir does not exist or is not writable"])
    }
}
