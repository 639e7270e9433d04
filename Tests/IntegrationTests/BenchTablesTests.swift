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

    /// The cloud-edge tables: the crossing rule, a failed run counted as not
    /// reaching the target, device ranks taken from the record (cloud-edge
    /// devices after the cloud and edge servers, FedAvg clients after the
    /// coordinator), FedAvg's per-round bytes from its cumulative totals,
    /// and per-run means of device compute.
    func testCloudEdgeTablesReadTheRightRecords() throws {
        try python("""
            def ce_round(label, seed, n, wall, acc, **extra):
                r = {"bench": "cloud-edge", "label": label, "seed": seed, "event": "round", "round": n, "wall_s": wall,
                     "test_accuracy": acc, "command": "x", "device_compute_mean_s": 0.5, "device_edge_up_bytes": 2e6,
                     "device_edge_down_bytes": 1e6, "front_upload_bytes": 3e6, "back_upload_bytes": 4e5,
                     "edge_cloud_up_bytes": 5e5, "front_broadcast_bytes": 6e6, "back_broadcast_bytes": 7e5,
                     "cluster_kl_mean": 0.1, "random_cluster_kl_mean": 0.2, "optimal_matching_cost_s": 1.0,
                     "greedy_matching_cost_s": 1.5, "random_matching_cost_s": 2.0, "matching_cost_s": 1.0}
                r.update(extra)
                return r
            accs = [0.60, 0.72, 0.75, 0.76]
            records = [ce_round("alpha=0.5 ours", 1, i + 1, 10.0 * (i + 1), a) for i, a in enumerate(accs)]
            records += [{"bench": "cloud-edge", "label": "alpha=0.5 ours", "seed": 1, "event": "final", "test_accuracy": 0.76,
                         "cloud_test_accuracy": 0.5, "edge_servers": 2, "front_parameters": 1000, "command": "x"},
                        {"bench": "cloud-edge", "label": "alpha=0.5 ours", "seed": 1, "event": "peak_rss", "command": "x",
                         "peak_rss_bytes_by_rank": [900 * 2**20, 800 * 2**20, 700 * 2**20, 3 * 2**20, 5 * 2**20]},
                        {"bench": "cloud-edge", "label": "alpha=0.5 ours", "seed": 2, "event": "failed", "error": "boom",
                         "command": "x"}]
            for i, total in enumerate([1e6, 3e6]):
                records.append({"bench": "cloud-edge", "label": "alpha=0.5 fedavg", "seed": 1, "event": "round", "round": i + 1,
                                "wall_s": 5.0 * (i + 1), "test_accuracy": 0.8, "bytes_up_total": total, "bytes_down_total": 2 * total,
                                "clients": [{"compute_s": 1.0}, {"compute_s": 3.0}], "command": "x"})
            records += [{"bench": "cloud-edge", "label": "alpha=0.5 fedavg", "seed": 1, "event": "final", "test_accuracy": 0.8,
                         "parameters": 2000, "command": "x"},
                        {"bench": "cloud-edge", "label": "alpha=0.5 fedavg", "seed": 1, "event": "peak_rss", "command": "x",
                         "peak_rss_bytes_by_rank": [900 * 2**20, 4 * 2**20, 6 * 2**20]}]
            text = tables.cloud_edge(records)
            table_rows = rows(text)
            ours = [r for r in table_rows if r[0] == "ours"]
            # Accuracy block: the crossing at round 4 (mean of rounds 2-4 = 0.743 >= 0.70; rounds 1-3 give 0.69), 40 s;
            # the failed seed counts as not reaching it.
            assert ours[0][3] == "40.0 (1 seed)" and ours[0][4] == "1/2" and ours[0][5] == "4.0 (1 seed)", (ours[0], text)
            # Device block: the devices are ranks 3.. (1 + edge_servers), so the peak is 5 MiB, not the cloud's 900.
            assert ours[1][1] == "1,000" and ours[1][3] == "5.0 (1 seed)", (ours[1], text)
            fedavg = [r for r in table_rows if r[0] == "fedavg"]
            # FedAvg: clients are ranks 1..: peak 6 MiB; compute the mean of its clients' (2.0 s).
            assert fedavg[1][1] == "2,000" and fedavg[1][2] == "2.000 (1 seed)" and fedavg[1][3] == "6.0 (1 seed)", (fedavg[1], text)
            # Links: per-round bytes from cumulative totals (1 and 2 MB up: 1.50; down 3.00).
            assert fedavg[2][3] == "1.50 (model uploads)" and fedavg[2][6] == "3.00 (model downloads)", (fedavg[2], text)
            assert ours[2][1:] == ["2.00", "1.00", "3.00", "0.40", "0.50", "6.00", "0.70"], (ours[2], text)
            """)
    }

    /// The virtual-clients tables: overhead = round_s / (the arrived clients' compute_s
    /// summed / executors) - 1 per round and over the run (a dropped client's compute
    /// does not count; executors = ranks - 1), set-up = wall_s - round_s of round 1, RSS
    /// at a round = the last sample at or before its wall_s, and the 10k run's peaks
    /// per rank without the process tree's (-1).
    func testVirtualClientsTables() throws {
        try python("""
            MiB = 2**20
            def rnd(n, wall, round_s, computes):
                clients = [{"client": i + 1, "compute_s": c, "dropped": False} for i, c in enumerate(computes)]
                clients.append({"client": 99, "compute_s": 9.0, "dropped": True})
                return {"bench": "virtual-clients-1k", "label": "1k", "seed": 1, "event": "round", "round": n,
                        "wall_s": wall, "round_s": round_s, "clients": clients, "command": "x"}
            records = [rnd(1, 2.0, 1.5, [1.0, 0.5]), rnd(2, 3.0, 0.6, [1.0]), rnd(3, 4.5, 0.9, [0.4, 0.6]),
                       {"bench": "virtual-clients-1k", "label": "1k", "seed": 1, "event": "final", "ranks": 3,
                        "test_accuracy": 0.7, "wall_s": 4.6, "command": "x"},
                       {"bench": "virtual-clients-1k", "label": "1k", "seed": 1, "event": "rss_timeline", "rank": 1,
                        "t_s": [0.0, 1.0, 2.0, 2.9, 3.1, 4.4, 4.6],
                        "rss_bytes": [m * MiB for m in [1, 10, 20, 30, 40, 50, 60]],
                        "peak_rss_bytes": 64 * MiB, "samples": 7, "command": "x"}]
            for rank, peak in [(-1, 5000), (0, 100), (1, 10), (2, 20)]:
                records.append({"bench": "virtual-clients-10k", "label": "10k", "seed": 1, "event": "rss_timeline",
                                "rank": rank, "t_s": [0.0], "rss_bytes": [MiB], "peak_rss_bytes": peak * MiB, "command": "x"})
            records += [{"bench": "virtual-clients-10k", "label": "10k", "seed": 1, "event": "round", "round": 1,
                         "wall_s": 3.0, "round_s": 2.5, "clients": [{"compute_s": 0.3}, {"compute_s": 0.1}], "command": "x"},
                        {"bench": "virtual-clients-10k", "label": "10k", "seed": 1, "event": "final", "ranks": 3,
                         "test_accuracy": 0.4, "wall_s": 3.1, "command": "x"}]
            text = tables.virtual_clients(records)
            got = rows(text)
            # Shares 0.75, 0.5, 0.5: overheads +100%, +20%, +80%; all rounds 3.0 / 1.75 - 1 = +71%.
            many = [r for r in got if r[0] == "1k"][0]
            assert many[4:9] == ["0.900", "0.500", "+80% (+20% to +100%)", "+71%", "0.50"], (many, text)
            # Rank 1 at round 1 (wall 2.0): the 2.0 s sample, 20 MiB; round 3 (wall 4.5): the 4.4 s one, 50 MiB.
            rss = [r for r in got if r[:3] == ["1", "1", "executor"]][0]
            assert rss[3:] == ["20", "50", "+30.0", "64", "7"], (rss, text)
            huge = [r for r in got if r[0] == "10k"][0]
            assert huge[3:8] == ["0.50", "2.50", "0.20", "100 / 10 / 20", "130"], (huge, text)
            """)
    }

    /// The Flower side-by-side tables: each side's round time is the median over
    /// rounds 2 on, the ratios pair the two runs of one seed, and a seed whose
    /// Flower run failed is reported, not paired.
    func testFlowerTablesPairBySeed() throws {
        try python("""
            MiB = 2**20
            def run(label, seed, round_s, walls, accs, lifetime, pss):
                out = [{"bench": "flower", "label": label, "seed": seed, "event": "round", "round": i + 1,
                        "round_s": s, "wall_s": w, "test_accuracy": a, "clients": [{"compute_s": 0.1}], "command": "x"}
                       for i, (s, w, a) in enumerate(zip(round_s, walls, accs))]
                final = {"bench": "flower", "label": label, "seed": seed, "event": "final", "test_accuracy": accs[-1],
                         "command": "x", "flwr": "1", "ray": "2", "torch": "3"}
                tree = {"bench": "flower", "label": label, "seed": seed, "event": "rss_timeline", "rank": -1, "t_s": [0.0],
                        "rss_bytes": [MiB], "peak_rss_bytes": 2 * pss * MiB, "peak_pss_bytes": pss * MiB,
                        "lifetime_s": lifetime, "command": "x"}
                return out + [final, tree]
            records = (run("edgetrain", 1, [2.0, 0.2, 0.4], [3.0, 3.5, 4.5], [0.5, 0.7, 0.80], 5.0, 100)
                       + run("flower", 1, [30.0, 1.0, 1.4], [40.0, 41.5, 43.5], [0.5, 0.7, 0.79], 50.0, 1000)
                       + run("edgetrain", 2, [2.0, 0.3, 0.3], [3.0, 3.4, 3.8], [0.5, 0.7, 0.81], 5.0, 100)
                       + [{"bench": "flower", "label": "flower", "seed": 2, "event": "failed", "exit_status": 1,
                           "error": "ray did not start", "command": "x"}])
            text = tables.flower(records)
            got = rows(text)
            pairs = [r for r in got if r[0] == "1" and len(r) == 8]
            # Medians over rounds 2-3: 0.3 and 1.2 (4.0x); wall per round 0.75 and 1.75 (2.3x); lifetimes 10x;
            # accuracy 0.80 - 0.79 = +1.00 points; PSS 10x.
            assert pairs == [["1", "0.300", "1.200", "**4.0x**", "2.3x", "10.0x", "+1.00", "10.0x"]], (pairs, text)
            assert not [r for r in got if r[0] == "2" and len(r) == 8], text
            assert "flower seed 2: failed (exit 1): ray did not start" in text, text
            # Per round 2: EdgeTrain 0.2 and 0.3 over the two seeds (0.250 ± 0.071), Flower 1.0: 4.0x.
            second = [r for r in got if r[0] == "2" and len(r) == 6][0]
            assert second[1:4] == ["0.250 ± 0.071", "1.000", "4.0x"], (second, text)
            sides = {r[0]: r for r in got if r[0] in ("edgetrain", "flower")}
            assert sides["edgetrain"][2] == "2" and sides["flower"][2] == "1", (sides, text)
            """)
    }
}
