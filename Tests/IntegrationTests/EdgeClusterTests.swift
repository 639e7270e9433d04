import Foundation
import XCTest

/// The emulated edge cluster: network namespaces as hosts on rate-limited
/// links, OpenMPI over real TCP between them. Needs root and iproute2; where
/// namespaces cannot be made the test is skipped with the reason.
final class EdgeClusterTests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let prefix = "etst"
    let subnet = "10.213.58"

    func script(_ arguments: [String], out: URL) throws -> MPIJob.Outcome {
        try MPIJob.spawn(Self.repository.appendingPathComponent("scripts/edge-cluster").path,
                         arguments + ["--prefix", prefix, "--out", out.path], timeout: 120)
    }

    func requireNamespaces() throws {
        guard getuid() == 0 else { throw XCTSkip("edge cluster: not root, so no network namespaces can be made") }
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip") || FileManager.default.isExecutableFile(atPath: "/sbin/ip")
        else { throw XCTSkip("edge cluster: 'ip' (iproute2) is not installed") }
        let probe = try MPIJob.spawn("/bin/sh", ["-c", "ip netns add etprobe && ip netns delete etprobe"], timeout: 30)
        guard probe.status == 0 else { throw XCTSkip("edge cluster: cannot create a network namespace here: \(probe.stderr)") }
    }

    func namespaces() throws -> [String] {
        try MPIJob.spawn("/bin/sh", ["-c", "ip netns list"], timeout: 30).stdout
            .split(separator: "\n").map { String($0.split(separator: " ")[0]) }.filter { $0.hasPrefix("\(prefix)-") }
    }

    func testBenchAndTrainOverThreeEmulatedHosts() throws {
        try requireNamespaces()
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("edge-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        defer {
            _ = try? script(["down"], out: out)
            try? FileManager.default.removeItem(at: out)
        }
        let up = try script(["up", "--hosts", "3", "--rate", "100mbit", "--subnet", subnet], out: out)
        XCTAssertEqual(up.status, 0, up.stderr)
        XCTAssertEqual(try namespaces().sorted(), ["etst-node0", "etst-node1", "etst-node2"])
        let hostfile = try String(contentsOf: out.appendingPathComponent("emulated"), encoding: .utf8)
        XCTAssertEqual(hostfile.split(separator: "\n"), ["etst-node0 slots=1", "etst-node1 slots=1", "etst-node2 slots=1"])
        let mca = out.appendingPathComponent("emulated.mca").path
        let cluster = ["--hostfile", out.appendingPathComponent("emulated").path, "-am", mca]

        // `up` twice is safe.
        XCTAssertEqual(try script(["up", "--hosts", "3", "--rate", "100mbit", "--subnet", subnet], out: out).status, 0)
        XCTAssertEqual(try namespaces().count, 3)

        let bench = try MPIJob.run(
            "edgetrain", ["bench", "allreduce", "--sizes", "1000,100003", "--sparse", "--iters", "2", "--json"],
            ranks: 3, timeout: 180, mpirunOptions: cluster)
        XCTAssertEqual(bench.status, 0, bench.stderr)
        XCTAssertEqual(bench.jsonLines.count, 2, bench.stdout)
        for record in bench.jsonLines {
            let tolerance = try XCTUnwrap(record["tolerance"] as? Double)
            XCTAssertLessThanOrEqual(try XCTUnwrap(record["max_abs_err"] as? Double), tolerance)
            XCTAssertLessThanOrEqual(try XCTUnwrap(record["exact_max_abs_err"] as? Double), tolerance)
            XCTAssertLessThanOrEqual(try XCTUnwrap(record["reselect_max_abs_err"] as? Double), tolerance)
            XCTAssertEqual(record["ranks"] as? Int, 3)
        }
        // 100003 floats: the ring sends 4/3 x 400 kB per rank; at 100 Mbit/s that takes
        // at least 43 ms, so a much faster time would mean the links are not limited.
        let large = try XCTUnwrap(bench.jsonLines.last)
        XCTAssertGreaterThan(try XCTUnwrap(large["ring_s"] as? Double), 0.03, "the 100 Mbit/s limit is not in effect")

        let train = try MPIJob.run(
            "edgetrain", ["train", "--synthetic", "--synthetic-train", "1200", "--synthetic-test", "300", "--epochs", "2",
                          "--batch", "16", "--lr", "0.02", "--json"],
            ranks: 3, timeout: 300, mpirunOptions: cluster)
        XCTAssertEqual(train.status, 0, train.stderr)
        let final = try XCTUnwrap(train.jsonLines.last)
        XCTAssertEqual(final["ranks"] as? Int, 3)
        XCTAssertGreaterThan(try XCTUnwrap(final["test_accuracy"] as? Double), 0.8)

        // `down` leaves nothing behind.
        let down = try script(["down"], out: out)
        XCTAssertEqual(down.status, 0, down.stderr)
        XCTAssertEqual(try namespaces(), [])
        let hosts = try String(contentsOfFile: "/etc/hosts", encoding: .utf8)
        XCTAssertFalse(hosts.contains("edgetrain-edge-cluster \(prefix)"))
        let links = try MPIJob.spawn("/bin/sh", ["-c", "ip -o link show"], timeout: 30).stdout
        XCTAssertFalse(links.contains("\(prefix)-br") || links.contains("\(prefix)v0"), links)
        let userParams = (try? String(contentsOfFile: NSHomeDirectory() + "/.openmpi/mca-params.conf", encoding: .utf8)) ?? ""
        XCTAssertFalse(userParams.contains("edgetrain-edge-cluster \(prefix)"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: mca))
    }

    func testBadArgumentsGiveOneLine() throws {
        try requireNamespaces()
        let out = FileManager.default.temporaryDirectory
        for (args, message) in [
            (["up", "--hosts", "0"], "edge-cluster: --hosts must be a number from 1 to 200, got '0'"),
            (["up", "--hosts", "2", "--rates", "100mbit"], "edge-cluster: --rates has 1 entries for 2 hosts"),
            (["up", "--hosts", "2", "--rate", "fast"], "edge-cluster: rate 'fast' is not a tc rate like 100mbit, 20mbit or 1gbit"),
            (["sideways"], "edge-cluster: unknown command 'sideways' (up, down or status)"),
        ] {
            let outcome = try script(args, out: out)
            XCTAssertNotEqual(outcome.status, 0, "\(args)")
            XCTAssertEqual(outcome.stderr.trimmingCharacters(in: .whitespacesAndNewlines), message)
        }
        XCTAssertEqual(try namespaces(), [])
    }
}
