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

    func testBadSizesGiveOneLineAndNonZeroExit() throws {
        let outcome = try MPIJob.run("edgetrain", ["bench", "allreduce", "--sizes", "1,x"], ranks: 3, timeout: 30)
        XCTAssertNotEqual(outcome.status, 0)
        let lines = outcome.stderr.split(separator: "\n").filter { $0.hasPrefix("edgetrain:") }
        XCTAssertEqual(lines, ["edgetrain: --sizes must be a comma-separated list of lengths >= 0, got '1,x'"])
        XCTAssertLessThan(outcome.seconds, 10)
    }
}
