import Foundation
import XCTest

/// `--compression NAME` under a real mpirun: every method trains on 3 ranks
/// (the run checks that all ranks hold the same model bits), names itself in
/// the final record, and sends fewer bytes a step than dense; the
/// refusals are one line before MPI starts.
final class CompressionMethodsIntegrationTests: XCTestCase {
    let small = ["train", "--synthetic", "--synthetic-train", "960", "--synthetic-test", "200", "--epochs", "1", "--batch", "16",
                 "--lr", "0.02", "--hidden", "32", "--json"]

    func testEveryMethodTrainsOnThreeRanks() throws {
        let dense = try MPIJob.run("edgetrain", small + ["--compression", "none"], ranks: 3)
        XCTAssertEqual(dense.status, 0, dense.stderr)
        let denseBytes = try XCTUnwrap(dense.jsonLines.last?["bytes_sent_per_step"] as? Double)
        for method in ["group-topk", "group-topk-fp16", "group-topk-int8", "fp16", "int8", "qsgd", "sign", "powersgd"] {
            let run = try MPIJob.run("edgetrain", small + ["--compression", method], ranks: 3)
            XCTAssertEqual(run.status, 0, "\(method): \(run.stderr)")
            let final = try XCTUnwrap(run.jsonLines.last, method)
            XCTAssertEqual(final["compression"] as? String, method)
            XCTAssertLessThan(try XCTUnwrap(final["bytes_sent_per_step"] as? Double), denseBytes, method)
        }
    }

    func testBadCombinationsAreOneLine() throws {
        for (arguments, line) in [
            (["--compression", "qsgd", "--checkpoint-dir", "/tmp", "--checkpoint-every", "5"],
             "edgetrain: --compression qsgd does not combine with checkpoints yet (its error-feedback and factor state is not saved, so a resume would not continue the run); use group-topk or none, or run without checkpoints"),
            (["--compression", "sign", "--momentum-correction"], "edgetrain: --momentum-correction applies to --compression group-topk only, not sign"),
            (["--compression", "qsgd", "--qsgd-levels", "0"], "edgetrain: --qsgd-levels must be in 1...32767, got 0"),
        ] {
            let run = try MPIJob.run("edgetrain", small + arguments, ranks: 2, timeout: 30)
            XCTAssertNotEqual(run.status, 0)
            XCTAssertEqual(run.stderr.split(separator: "\n").filter { $0.hasPrefix("edgetrain:") }.map(String.init), [line])
        }
        let upload = try MPIJob.run("edgetrain", ["federated", "--synthetic", "--compression", "powersgd"], ranks: 2, timeout: 30)
        XCTAssertNotEqual(upload.status, 0)
        XCTAssertTrue(upload.stderr.contains("edgetrain: --compression powersgd sums low-rank factors"), upload.stderr)
    }

    /// An option the method does not read is refused on 3 ranks: one line
    /// naming the option, the methods that read it and the method given; a
    /// non-zero exit well before mpirun's --timeout, with no rank left
    /// waiting. Options the method reads are taken: the run's final record
    /// carries them.
    func testOptionsTheMethodDoesNotReadAreRefused() throws {
        for (arguments, line) in [
            (small + ["--compression", "int8", "--qsgd-levels", "4"], "edgetrain: --qsgd-levels applies to --compression qsgd only, not int8"),
            (small + ["--compression", "fp16", "--bucket-size", "64"],
             "edgetrain: --bucket-size applies to --compression int8, qsgd and sign only, not fp16"),
            (small + ["--compression", "none", "--ratio", "0.1"],
             "edgetrain: --ratio applies to --compression group-topk, group-topk-fp16 and group-topk-int8 only, not none"),
            (small + ["--compression", "group-topk-int8", "--stochastic-rounding"],
             "edgetrain: --stochastic-rounding applies to --compression int8 only, not group-topk-int8"),
            (small + ["--compression", "group-topk-fp16", "--sparse-reduce", "reselect"],
             "edgetrain: --sparse-reduce applies to --compression group-topk only, not group-topk-fp16"),
            (["federated", "--synthetic", "--rounds", "1", "--ratio", "0.1"],
             "edgetrain: --ratio applies to --compression group-topk, group-topk-fp16 and group-topk-int8 only, not none"),
        ] {
            let run = try MPIJob.run("edgetrain", arguments, ranks: 3, timeout: 30)
            XCTAssertNotEqual(run.status, 0, "\(arguments)")
            XCTAssertFalse(run.stderr.contains(MPIJob.timeLimitNotice), "\(arguments): \(run.stderr)")
            XCTAssertLessThan(run.seconds, Liveness.failedJob, "\(arguments) took \(run.seconds) s")
            XCTAssertEqual(run.stderr.split(separator: "\n").filter { $0.hasPrefix("edgetrain:") }.map(String.init), [line], "\(arguments)")
        }
        let qsgd = try MPIJob.run("edgetrain", small + ["--compression", "qsgd", "--qsgd-levels", "15", "--bucket-size", "256"],
                                  ranks: 3, timeout: 120)
        XCTAssertEqual(qsgd.status, 0, qsgd.stderr)
        let final = try XCTUnwrap(qsgd.jsonLines.last)
        XCTAssertEqual(final["qsgd_levels"] as? Int, 15)
        XCTAssertEqual(final["bucket_size"] as? Int, 256)
    }
}
