import Foundation
import XCTest

/// What the benchmarks rely on: gradient dumps that `bench compress` reads,
/// the moving-window crossing rule of `--target-accuracy`, and the federated
/// baselines and link model of the autonomy ablation.
final class BenchmarkSupportTests: XCTestCase {
    func testDumpedGradientsFeedBenchCompress() throws {
        let dir = try temporaryDirectory("dumps")
        let train = try MPIJob.run(
            "edgetrain", ["train", "--synthetic", "--synthetic-train", "1200", "--synthetic-test", "300", "--epochs", "1",
                          "--batch", "16", "--lr", "0.02", "--dump-gradients", dir, "--dump-steps", "1,7", "--json"],
            ranks: 2)
        XCTAssertEqual(train.status, 0, train.stderr)
        let names = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
        XCTAssertEqual(names, ["mlp-step1.f32", "mlp-step1.residual.f32", "mlp-step7.f32", "mlp-step7.residual.f32"])
        let parameters = try XCTUnwrap(train.jsonLines.last?["parameters"] as? Int)
        for name in names {
            let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: "\(dir)/\(name)")[.size] as? Int)
            XCTAssertEqual(size, parameters * 4, name)
        }
        // Step 1's residual is all zeros (nothing held back yet); step 7's is not.
        let residual1 = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/mlp-step1.residual.f32"))
        XCTAssertTrue(residual1.allSatisfy { $0 == 0 })
        let residual7 = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/mlp-step7.residual.f32"))
        XCTAssertFalse(residual7.allSatisfy { $0 == 0 })

        let bench = try MPIJob.run(
            "edgetrain", ["bench", "compress", "--input", "\(dir)/mlp-step7.f32", "--ratio", "0.01,0.001", "--iters", "3", "--json"],
            ranks: 1)
        XCTAssertEqual(bench.status, 0, bench.stderr)
        XCTAssertEqual(bench.jsonLines.count, 2)
        for r in bench.jsonLines {
            XCTAssertEqual(r["input"] as? String, "mlp-step7.f32")
            XCTAssertEqual(r["size"] as? Int, parameters)
            XCTAssertEqual(r["residual_from_run"] as? Bool, true)
            // Encoded block: a 4-byte header, then 6 bytes per kept entry.
            let kept = (try XCTUnwrap(r["ratio_effective"] as? Double)) * Double(parameters)
            XCTAssertEqual(r["encoded_bytes"] as? Int, 4 + 6 * Int(kept.rounded()))
            XCTAssertGreaterThan(try XCTUnwrap(r["seconds_error_feedback"] as? Double), 0)
        }
        let bad = try MPIJob.run("edgetrain", ["bench", "compress", "--input", "\(dir)/missing.f32"], ranks: 1, timeout: 30)
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("missing.f32: cannot read the file"), bad.stderr)
    }

    /// The run stops at the first evaluation where the mean of the last 3
    /// evaluations reaches the target, never at a single lucky evaluation.
    func testTargetWindowCrossingRule() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tw-\(UUID().uuidString).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let outcome = try MPIJob.run(
            "edgetrain", ["train", "--synthetic", "--synthetic-train", "1200", "--synthetic-test", "300", "--epochs", "3",
                          "--batch", "16", "--lr", "0.02", "--eval-every", "4", "--target-accuracy", "0.5",
                          "--target-window", "3", "--stop-at-target", "--metrics", path, "--json"],
            ranks: 2)
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        let evals = try jsonRecords(path).filter { $0["event"] as? String == "eval" }
        let accuracies = try evals.map { try XCTUnwrap($0["test_accuracy"] as? Double) }
        func windowMean(_ i: Int) -> Double {
            let sum: Double = accuracies[i - 2] + accuracies[i - 1] + accuracies[i]
            return sum / 3
        }
        let crossing = try XCTUnwrap((2..<accuracies.count).first { windowMean($0) >= 0.5 }, "never crossed: \(accuracies)")
        XCTAssertEqual(evals.count, crossing + 1, "stopped at the wrong evaluation: \(accuracies)")
        let final = try XCTUnwrap(outcome.jsonLines.last)
        XCTAssertEqual(final["target_window"] as? Int, 3)
        XCTAssertEqual(try XCTUnwrap(final["time_to_target_s"] as? Double), try XCTUnwrap(evals.last?["wall_s"] as? Double),
                       accuracy: 1e-9)
    }
}
