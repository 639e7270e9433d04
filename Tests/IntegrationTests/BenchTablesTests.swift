import Foundation
import XCTest

/// bench/tables.py on hand-made records: which numbers it puts side by side.
final class BenchTablesTests: XCTestCase {
    /// The repository root (this file is Tests/IntegrationTests/BenchTablesTests.swift).
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Runs `body` (Python, with bench/tables.py imported as `tables` and
    /// `rows(text)` giving the table rows of a block as lists of cells); an
    /// `assert` that fails exits non-zero with its message.
    func python(_ body: String) throws {
        let script = """
            import sys
            sys.path.insert(0, "bench")
            import tables
            def rows(text):
                return [[c.strip() for c in line.strip().strip("|").split("|")]
                        for line in text.splitlines() if line.startswith("| ") and not line.startswith("| ---")]
            \(body)
            """
        let outcome = try MPIJob.spawn("/usr/bin/env", ["python3", "-c", script], timeout: 60, currentDirectory: root)
        XCTAssertEqual(outcome.status, 0, outcome.stderr + outcome.stdout)
    }

    /// Each edgetrain record meets PyTorch's of the same model, cap and round;
    /// a missing peer leaves its edgetrain record unpaired, never paired with
    /// the next PyTorch record in the file.
    func testTrainPairsByModelCapAndRound() throws {
        try python("""
            def run(label, sps, round_, **extra):
                r = {"bench": "train-throughput", "label": label, "samples_per_s": sps, "round": round_,
                     "model": label.split()[0], "isa": "avx2", "command": "x"}
                if label.endswith("pytorch"):
                    r["torch"] = "2.0"
                r.update(extra)
                return r
            records = [
                run("mlp all edgetrain", 100.0, 1),  # its PyTorch run failed: no record
                run("mlp avx2 pytorch", 40.0, 1),
                run("mlp avx2 edgetrain", 80.0, 1),
                run("mlp all edgetrain", 90.0, 2),
                run("mlp all pytorch", 30.0, 2),
                run("mlp avx2 edgetrain", 70.0, 2),  # its PyTorch run is in round 3 only
                run("mlp avx2 pytorch", 10.0, 3),
            ]
            text = tables.train(records)
            got = sorted((r[0], r[1], r[2], r[6]) for r in rows(text) if len(r) == 8 and r[0].isdigit())
            assert got == [("1", "mlp", "avx2", "2.00"), ("2", "mlp", "all", "3.00")], (got, text)
            # A second run of the script at the same commit repeats round 1: its
            # pair is counted as run 2's, not dropped or merged into run 1's.
            second = [run("mlp all edgetrain", 60.0, 1, load_avg_1m=3.25), run("mlp all pytorch", 30.0, 1)]
            text = tables.train(records + second)
            got = sorted((r[0], r[1], r[2], r[6], r[7]) for r in rows(text) if len(r) == 8 and r[0][0].isdigit())
            assert got == [("1.1", "mlp", "avx2", "2.00", "-"), ("1.2", "mlp", "all", "3.00", "-"),
                           ("2.1", "mlp", "all", "2.00", "3.2")], (got, text)
            """)
    }

    /// A Group-TopK row's MPI_Allreduce / total is the ratio measured in the
    /// same record's iterations, or "-" when the record has none; never the
    /// dense time of another record of the same size.
    func testSparseRatiosComeFromTheirOwnRecord() throws {
        try python("""
            base = {"bench": "edge-allreduce", "size": 1000, "ring_s": 1.0, "exact_compress_s": 0.1, "exact_ring_s": 0.2,
                    "exact_bytes_sent": 6, "bytes_sent": 600, "command": "x"}
            dense = dict(base, label="100mbit r=0.01", ratio=0.01, mpi_s=2.0, exact_total_s=0.5,
                         ratio_mpi_over_exact_total=3.0)
            sparse_only = dict(base, label="100mbit r=0.001", ratio=0.001, mpi_s=0.0, exact_total_s=0.25,
                               ratio_mpi_over_exact_total=5.0)
            old = dict(base, label="100mbit r=0.001", ratio=0.001, mpi_s=0.0, exact_total_s=0.25)
            text = tables.edge([dense, sparse_only, old])
            got = [r[-1] for r in rows(text) if "group-topk" in r[2]]
            assert got == ["**3.0x**", "**5.0x**", "-"], (got, text)
            """)
    }
}
