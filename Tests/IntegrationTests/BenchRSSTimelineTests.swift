import Foundation
import XCTest

/// bench/rss-timeline.py: the memory sampler the virtual-clients and Flower
/// benchmarks wrap their processes in.
final class BenchRSSTimelineTests: XCTestCase {
    /// The repository root (this file is Tests/IntegrationTests/BenchRSSTimelineTests.swift).
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    var script: String { root.appendingPathComponent("bench/rss-timeline.py").path }

    func temporaryFile() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("rss-timeline-\(UUID().uuidString).jsonl")
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    func jsonLines(_ url: URL) throws -> [[String: Any]] {
        try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any], "not a JSON object: \($0)")
        }
    }

    /// The wrapper exits with its child's status and says so in the summary line.
    func testExitStatusPassesThrough() throws {
        let file = temporaryFile()
        let outcome = try MPIJob.spawn("/usr/bin/env", ["python3", script, file.path, "sh", "-c", "exit 3"], timeout: 60)
        XCTAssertEqual(outcome.status, 3, outcome.stderr)
        let last = try XCTUnwrap(try jsonLines(file).last)
        XCTAssertEqual(last["exit_status"] as? Int, 3)
        XCTAssertEqual(last["rank"] as? Int, -1)
    }

    /// --tree counts a descendant that daemonized (re-parented away from the
    /// child, as Ray's workers are) through its session; the plain wrapper's
    /// ru_maxrss does not see it. The descendant holds 96 MiB of written
    /// bytes while the child waits 2.5 s after it signalled: 10 samples, so
    /// one of them (every 8th) sums the PSS too.
    func testTreeCountsADaemonizedDescendant() throws {
        let marker = temporaryFile()
        let python = "b = b'x' * (96 << 20); open('\(marker.path)', 'w').close(); import time; time.sleep(4)"
        let shell = "(python3 -c \"\(python)\" &); while [ ! -e '\(marker.path)' ]; do sleep 0.05; done; sleep 2.5"
        let mib = 1 << 20
        let tree = temporaryFile()
        let outcome = try MPIJob.spawn("/usr/bin/env", ["python3", script, "--tree", tree.path, "sh", "-c", shell], timeout: 60)
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        let summary = try XCTUnwrap(try jsonLines(tree).last)
        XCTAssertEqual(summary["tree"] as? Bool, true)
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(summary["peak_rss_bytes"] as? Int), 96 * mib, "\(summary)")
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(summary["peak_pss_bytes"] as? Int), 96 * mib, "\(summary)")
        XCTAssertGreaterThanOrEqual(try jsonLines(tree).compactMap { $0["processes"] as? Int }.max() ?? 0, 2)

        try FileManager.default.removeItem(at: marker)
        let plain = temporaryFile()
        let again = try MPIJob.spawn("/usr/bin/env", ["python3", script, plain.path, "sh", "-c", shell], timeout: 60)
        XCTAssertEqual(again.status, 0, again.stderr)
        let alone = try XCTUnwrap(try jsonLines(plain).last)
        XCTAssertLessThan(try XCTUnwrap(alone["peak_rss_bytes"] as? Int), 96 * mib, "\(alone)")
    }

    /// Under mpirun each rank's wrapper names its rank; ranks sharing one file
    /// leave only whole lines; --records gives one timeline per rank, in rank order.
    func testRanksShareOneFile() throws {
        let mpirun = try MPIJob.requireMPIRun()
        for ranks in [1, 3] {
            let file = temporaryFile()
            let outcome = try MPIJob.spawn(mpirun, ["--oversubscribe", "--timeout", "60", "-np", "\(ranks)",
                                                    "python3", script, file.path, "sh", "-c", "sleep 0.6"],
                                           environment: MPIJob.environment(), timeout: 90)
            XCTAssertEqual(outcome.status, 0, outcome.stderr)
            let lines = try jsonLines(file)
            XCTAssertEqual(Set(lines.compactMap { $0["rank"] as? Int }), Set(0..<ranks))
            let records = try MPIJob.spawn("/usr/bin/env", ["python3", script, "--records", file.path], timeout: 60)
            XCTAssertEqual(records.status, 0, records.stderr)
            let timelines = records.stdout.split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
            XCTAssertEqual(timelines.map { $0["rank"] as? Int }, (0..<ranks).map { $0 })
            for t in timelines {
                XCTAssertEqual(t["event"] as? String, "rss_timeline")
                let times = try XCTUnwrap(t["t_s"] as? [Double])
                XCTAssertEqual(times.count, (t["rss_bytes"] as? [Any])?.count)
                XCTAssertEqual(times.count, t["samples"] as? Int)
                XCTAssertEqual(times, times.sorted())
                XCTAssertEqual(t["exit_status"] as? Int, 0)
            }
        }
    }
}
