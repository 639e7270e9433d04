import XCTest

/// `edgetrain bench allreduce` checks the ring against MPI_Allreduce.
final class BenchAllReduceTests: XCTestCase {
    func testJSONRecordsForOddAndShortLengths() throws {
        for ranks in [1, 2, 3, 5] {
            let outcome = try MPIJob.run(
                "edgetrain", ["bench", "allreduce", "--sizes", "0,1,4,7,1003", "--iters", "2", "--json"],
                ranks: ranks)
            XCTAssertEqual(outcome.status, 0, outcome.stderr)
            let records = outcome.jsonLines
            XCTAssertEqual(records.compactMap { $0["size"] as? Int }, [0, 1, 4, 7, 1003])
            for record in records {
                XCTAssertEqual(record["ranks"] as? Int, ranks)
                let error = try XCTUnwrap(record["max_abs_err"] as? Double)
                let tolerance = try XCTUnwrap(record["tolerance"] as? Double)
                XCTAssertLessThanOrEqual(error, tolerance)
                XCTAssertNotNil(record["ring_s"] as? Double)
                XCTAssertNotNil(record["mpi_s"] as? Double)
                // Each rank sends 2(N-1) of the N blocks' worth of floats, give or take the remainder.
                let size = try XCTUnwrap(record["size"] as? Int)
                let sent = try XCTUnwrap(record["bytes_sent"] as? Int)
                let exact = Double(2 * (ranks - 1) * size * 4) / Double(ranks)
                XCTAssertEqual(Double(sent), exact, accuracy: Double(2 * (ranks - 1) * 4), "size \(size) ranks \(ranks)")
            }
        }
    }

    /// Both sparse policies under mpirun, checked by the benchmark itself
    /// against MPI_Allreduce of the densified inputs (a mismatch exits non-zero).
    func testSparseRingBothPoliciesOnOneToFiveRanks() throws {
        for ranks in 1...5 {
            let outcome = try MPIJob.run(
                "edgetrain", ["bench", "allreduce", "--sparse", "--ratio", "0.05", "--group-size", "64",
                              "--sizes", "0,1,7,63,1001,20000", "--iters", "1", "--warmup", "0", "--json"],
                ranks: ranks)
            XCTAssertEqual(outcome.status, 0, "ranks \(ranks): \(outcome.stderr)")
            let records = outcome.jsonLines
            XCTAssertEqual(records.count, 6)
            for record in records {
                let size = try XCTUnwrap(record["size"] as? Int)
                let tolerance = try XCTUnwrap(record["tolerance"] as? Double)
                for policy in ["exact", "reselect"] {
                    XCTAssertLessThanOrEqual(try XCTUnwrap(record["\(policy)_max_abs_err"] as? Double), tolerance)
                    // The headline time is compression + ring, iteration by iteration, so its
                    // median is at least the median of either part.
                    let total = try XCTUnwrap(record["\(policy)_total_s"] as? Double)
                    XCTAssertGreaterThanOrEqual(total, try XCTUnwrap(record["\(policy)_compress_s"] as? Double))
                    XCTAssertGreaterThanOrEqual(total, try XCTUnwrap(record["\(policy)_ring_s"] as? Double))
                    try assertRatioBesideMPI(record, policy)
                    let sent = try XCTUnwrap(record["\(policy)_bytes_sent"] as? Int)
                    if ranks == 1 { XCTAssertEqual(sent, 0) }
                    if size >= 1001 && ranks > 1 {
                        XCTAssertLessThan(sent, try XCTUnwrap(record["bytes_sent"] as? Int), "\(policy) size \(size)")
                    }
                }
                if size == 20000 && ranks > 1 {
                    XCTAssertLessThan(try XCTUnwrap(record["reselect_bytes_sent"] as? Int),
                                      try XCTUnwrap(record["exact_bytes_sent"] as? Int))
                }
            }
        }
    }

    /// The MPI_Allreduce / Group-TopK ratio of a record comes from the
    /// same iterations, so it is there with --sparse-only too.
    func assertRatioBesideMPI(_ record: [String: Any], _ policy: String,
                              file: StaticString = #filePath, line: UInt = #line) throws {
        let total = try XCTUnwrap(record["\(policy)_total_s"] as? Double, file: file, line: line)
        let mpi = try XCTUnwrap(record["\(policy)_mpi_s"] as? Double, "\(policy): no MPI_Allreduce beside it", file: file, line: line)
        XCTAssertGreaterThanOrEqual(mpi, 0, file: file, line: line)
        let ratio = try XCTUnwrap(record["ratio_mpi_over_\(policy)_total"] as? Double, file: file, line: line)
        XCTAssertEqual(ratio, total > 0 ? mpi / total : 1, accuracy: 1e-12 * max(1, ratio), file: file, line: line)
    }

    func testSparseOnlyStillTimesMPIAllreduceBesideEachStep() throws {
        let outcome = try MPIJob.run(
            "edgetrain", ["bench", "allreduce", "--sparse", "--sparse-only", "--ratio", "0.05", "--group-size", "64",
                          "--sizes", "7,1001", "--iters", "2", "--warmup", "0", "--json"],
            ranks: 3)
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        XCTAssertEqual(outcome.jsonLines.count, 2)
        for record in outcome.jsonLines {
            XCTAssertEqual(record["mpi_s"] as? Double, 0, "the separate dense timing is skipped")
            for policy in ["exact", "reselect"] { try assertRatioBesideMPI(record, policy) }
        }
    }

    func testBadSizesGiveOneLineAndNonZeroExit() throws {
        for (sizes, message) in [
            ("1,x", "edgetrain: The value '1,x' is invalid for '--sizes <sizes>': element 2, 'x', is not an integer"),
            ("7,1000,-3", "edgetrain: --sizes must be lengths >= 0, got -3"),
        ] {
            let outcome = try MPIJob.run("edgetrain", ["bench", "allreduce", "--sizes", sizes], ranks: 3, timeout: 30)
            XCTAssertNotEqual(outcome.status, 0)
            let lines = outcome.stderr.split(separator: "\n").filter { $0.hasPrefix("edgetrain:") }
            XCTAssertEqual(lines, [Substring(message)], sizes)
            XCTAssertLessThan(outcome.seconds, Liveness.failedJob)
        }
    }
}
