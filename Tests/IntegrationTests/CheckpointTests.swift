import Foundation
import XCTest

/// Checkpoints under real mpirun jobs: a rank killed mid-run ends the job
/// quickly, and resuming from the newest complete checkpoint ends with the
/// model an uninterrupted run ends with, bit for bit.
final class CheckpointTests: XCTestCase {
    let train = ["train", "--synthetic", "--synthetic-train", "2400", "--synthetic-test", "300", "--hidden", "32,16",
                 "--epochs", "4", "--batch", "16", "--lr", "0.02", "--json"]
    let federated = ["federated", "--synthetic", "--synthetic-train", "1200", "--synthetic-test", "300", "--hidden", "32,16",
                     "--rounds", "6", "--batch", "16", "--lr", "0.02", "--local-steps", "15", "--partition", "dirichlet",
                     "--compression", "group-topk", "--json"]

    func completeCheckpoints(_ dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter {
            $0.hasPrefix("ckpt-") && FileManager.default.fileExists(atPath: "\(dir)/\($0)/COMPLETE")
        }.sorted()
    }

    func hash(_ o: MPIJob.Outcome) -> String? { o.jsonLines.last?["model_sha256"] as? String }

    func lineCount(_ path: String) -> Int {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").count
    }

    /// The process ids of the `edgetrain` ranks whose command line holds
    /// `marker`, by MPI rank (from OMPI_COMM_WORLD_RANK in their environment).
    func ranks(holding marker: String) -> [Int: pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        var found = [Int: pid_t]()
        for entry in entries {
            guard let pid = pid_t(entry), let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { continue }
            let argv = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            guard let first = argv.first, first.hasSuffix("/edgetrain"), argv.contains(marker),
                  let environ = FileManager.default.contents(atPath: "/proc/\(entry)/environ") else { continue }
            let prefix = "OMPI_COMM_WORLD_RANK="
            if let v = environ.split(separator: 0).map({ String(decoding: $0, as: UTF8.self) }).first(where: { $0.hasPrefix(prefix) }),
               let rank = Int(v.dropFirst(prefix.count)) {
                found[rank] = pid
            }
        }
        return found
    }

    /// Waits (up to 90 s) until `ready` holds or the job ends.
    func wait(for job: MPIJob.Running, until ready: () -> Bool) {
        var waited = 0.0
        while !ready() && job.process.isRunning && waited < 90 {
            usleep(20_000)
            waited += 0.02
        }
    }

    /// SIGKILLs rank `rank` of `job`; returns the job's outcome and the
    /// seconds from the kill to its end.
    func kill(rank: Int, of job: MPIJob.Running, marker: String, ranks count: Int) throws -> (MPIJob.Outcome, Double) {
        XCTAssertTrue(job.process.isRunning, "the run ended before it could be interrupted")
        let pids = ranks(holding: marker)
        XCTAssertEqual(pids.count, count, "expected \(count) edgetrain ranks, found \(pids)")
        XCTAssertEqual(Foundation.kill(try XCTUnwrap(pids[rank]), SIGKILL), 0)
        let killedAt = Date()
        let outcome = try job.wait(timeout: 150)
        let seconds = Date().timeIntervalSince(killedAt)
        print("the job ended \(String(format: "%.2f", seconds)) s after rank \(rank) was killed")
        return (outcome, seconds)
    }

    func testAKilledRankEndsTheJobQuicklyAndResumingMatchesTheUninterruptedRun() throws {
        let reference = try MPIJob.run("edgetrain", train, ranks: 3)
        XCTAssertEqual(reference.status, 0, reference.stderr)
        let expected = try XCTUnwrap(hash(reference))

        // 50 steps per epoch, a checkpoint every 75: killed after the epoch-2
        // record (step 100) and before the second checkpoint (step 150), the
        // run resumes from step 75, whose checkpoint counted one record, so
        // the metrics file must be cut back from two records to one.
        let dir = try temporaryDirectory("ckpt-kill")
        let metrics = "\(dir)/metrics.jsonl"
        let args = train + ["--checkpoint-dir", dir, "--checkpoint-every", "75", "--metrics", metrics]
        let job = try MPIJob.start("edgetrain", args, ranks: 3, timeout: 120)
        wait(for: job) { lineCount(metrics) >= 2 }
        let (killed, exitSeconds) = try kill(rank: 2, of: job, marker: dir, ranks: 3)
        XCTAssertEqual(completeCheckpoints(dir), ["ckpt-000000075"], "the kill must land between steps 100 and 150")
        XCTAssertEqual(lineCount(metrics), 2)
        XCTAssertNotEqual(killed.status, 0, "a job with a killed rank must fail")
        XCTAssertLessThan(exitSeconds, Liveness.afterKill, "the job took \(exitSeconds) s to end after a rank died")
        XCTAssertNil(hash(killed), "the killed run must not print a final record")
        let saved = completeCheckpoints(dir)
        XCTAssertFalse(saved.isEmpty)

        let resumed = try MPIJob.run("edgetrain", args + ["--resume"], ranks: 3)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stderr.contains("resumed at step 75"), resumed.stderr)
        XCTAssertEqual(hash(resumed), expected, "resumed from \(saved.last ?? "?")")
        // The metrics file holds one run's records: epochs 1-4 once each, and the final one.
        let events = try String(contentsOfFile: metrics, encoding: .utf8).split(separator: "\n").map { line -> String in
            let r = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            return "\(r?["event"] ?? "?") \(r?["epoch"] ?? "")"
        }
        XCTAssertEqual(events, ["epoch 1", "epoch 2", "epoch 3", "epoch 4", "final "])
    }

    func testAKilledFederatedClientEndsTheJobQuicklyAndTheRunResumes() throws {
        let longer = federated.map { $0 == "6" ? "30" : $0 }
        let reference = try MPIJob.run("edgetrain", longer, ranks: 4)
        XCTAssertEqual(reference.status, 0, reference.stderr)
        let dir = try temporaryDirectory("fed-kill")
        let args = longer + ["--checkpoint-dir", dir, "--checkpoint-every", "2"]
        let job = try MPIJob.start("edgetrain", args, ranks: 4, timeout: 120)
        wait(for: job) { !completeCheckpoints(dir).isEmpty }
        let (killed, seconds) = try kill(rank: 2, of: job, marker: dir, ranks: 4)
        XCTAssertNotEqual(killed.status, 0)
        XCTAssertLessThan(seconds, Liveness.afterKill)
        XCTAssertFalse(completeCheckpoints(dir).isEmpty)
        let resumed = try MPIJob.run("edgetrain", args + ["--resume"], ranks: 4)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertEqual(hash(resumed), hash(reference))
    }

    func testResumeRefusesAnotherRankCountOrConfiguration() throws {
        let dir = try temporaryDirectory("ckpt-refuse")
        let args = train + ["--epochs", "1", "--checkpoint-dir", dir, "--checkpoint-every", "20"]
        let first = try MPIJob.run("edgetrain", args, ranks: 3)
        XCTAssertEqual(first.status, 0, first.stderr)
        let newest = try XCTUnwrap(completeCheckpoints(dir).last)
        let cases: [(args: [String], ranks: Int, problem: String)] = [
            (args + ["--resume"], 2, "written by 3 ranks; this run has 2 (resume with the same -np)"),
            (args + ["--resume", "--lr", "0.03"], 3, "written with a different configuration"),
        ]
        for c in cases {
            let outcome = try MPIJob.run("edgetrain", c.args, ranks: c.ranks, timeout: 60)
            XCTAssertNotEqual(outcome.status, 0)
            XCTAssertLessThan(outcome.seconds, Liveness.failedJob)
            let lines = outcome.stderr.split(separator: "\n").filter { $0.hasPrefix("edgetrain:") }
            XCTAssertEqual(lines.count, 1, outcome.stderr)
            XCTAssertTrue(lines.first?.hasPrefix("edgetrain: \(dir)/\(newest)/COMPLETE: \(c.problem)") ?? false, "\(lines)")
        }
    }

    func testSynchronousFederatedResumesBitwise() throws {
        let reference = try MPIJob.run("edgetrain", federated, ranks: 4)
        XCTAssertEqual(reference.status, 0, reference.stderr)
        let dir = try temporaryDirectory("ckpt-fed")
        let metrics = "\(dir)/metrics.jsonl"
        let args = federated + ["--checkpoint-dir", dir, "--checkpoint-every", "2", "--metrics", metrics]
        let full = try MPIJob.run("edgetrain", args, ranks: 4)
        XCTAssertEqual(full.status, 0, full.stderr)
        XCTAssertEqual(hash(full), hash(reference), "checkpointing must not change the run")
        // Checkpoints after rounds 2 and 4; resuming from round 4 replays rounds 5 and 6.
        XCTAssertEqual(completeCheckpoints(dir), ["ckpt-000000002", "ckpt-000000004"])
        let resumed = try MPIJob.run("edgetrain", args + ["--resume"], ranks: 4)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stderr.contains("resumed after round 4"), resumed.stderr)
        XCTAssertEqual(hash(resumed), hash(reference))
        XCTAssertEqual(lineCount(metrics), 7, "6 rounds and the final record, none twice")
    }

    func testAFullDiskFailsTheRunCleanlyAndKeepsThePreviousCheckpoint() throws {
        guard getuid() == 0 else { throw XCTSkip("full disk: mounting a small tmpfs needs root") }
        let mountPoint = try temporaryDirectory("ckpt-full")
        // One checkpoint of this run is about 0.95 MB over 3 ranks; the second cannot fit.
        let mount = try MPIJob.spawn("/bin/mount", ["-t", "tmpfs", "-o", "size=1400k", "tmpfs", mountPoint], timeout: 30)
        guard mount.status == 0 else { throw XCTSkip("full disk: cannot mount a tmpfs here: \(mount.stderr)") }
        addTeardownBlock { _ = try? MPIJob.spawn("/bin/umount", [mountPoint], timeout: 30) }
        let args = train + ["--epochs", "1", "--checkpoint-dir", mountPoint, "--checkpoint-every", "10"]
        let outcome = try MPIJob.run("edgetrain", args, ranks: 3, timeout: 60)
        XCTAssertNotEqual(outcome.status, 0)
        let lines = outcome.stderr.split(separator: "\n").filter { $0.hasPrefix("edgetrain:") }
        XCTAssertEqual(lines.count, 1, outcome.stderr)
        XCTAssertTrue(lines.first?.contains("No space left on device") ?? false, "\(lines)")
        XCTAssertEqual(completeCheckpoints(mountPoint), ["ckpt-000000010"])

        // The kept checkpoint loads: a copy on a roomy disk resumes and finishes.
        let copy = try temporaryDirectory("ckpt-copy")
        try FileManager.default.removeItem(atPath: copy)
        try FileManager.default.copyItem(atPath: mountPoint, toPath: copy)
        let resumed = try MPIJob.run("edgetrain", train + ["--epochs", "1", "--checkpoint-dir", copy, "--resume"], ranks: 3)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        let uninterrupted = try MPIJob.run("edgetrain", train + ["--epochs", "1"], ranks: 3)
        XCTAssertEqual(hash(resumed), hash(uninterrupted))
    }
}
