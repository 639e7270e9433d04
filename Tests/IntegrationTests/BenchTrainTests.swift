import NN
import XCTest

/// `edgetrain bench train`: the instruction set and threads it reports, the
/// cap and the profile. One process, no mpirun.
final class BenchTrainTests: XCTestCase {
    var binary: String { MPIJob.productsDirectory.appendingPathComponent("edgetrain").path }

    func benchTrain(_ arguments: [String], environment: [String: String] = [:]) throws -> MPIJob.Outcome {
        var env = ProcessInfo.processInfo.environment
        env["ONEDNN_MAX_CPU_ISA"] = nil
        env["DNNL_MAX_CPU_ISA"] = nil
        for (k, v) in environment { env[k] = v }
        return try MPIJob.spawn(binary, ["bench", "train", "--steps", "2", "--batch", "5", "--json"] + arguments,
                                environment: env, timeout: 120)
    }

    func testTheCapHoldsFromTheOptionAndFromTheEnvironment() throws {
        for (arguments, environment, source) in [(["--max-isa", "avx2"], [:], "--max-isa"),
                                                 ([], ["ONEDNN_MAX_CPU_ISA": "AVX2"], "ONEDNN_MAX_CPU_ISA")] {
            let outcome = try benchTrain(["--model", "cnn", "--profile"] + arguments, environment: environment)
            XCTAssertEqual(outcome.status, 0, outcome.stderr)
            let record = try XCTUnwrap(outcome.jsonLines.first)
            // The record names the cap in force, wherever it was set.
            XCTAssertEqual(record["max_isa"] as? String, "avx2", "\(arguments), \(environment)")
            XCTAssertEqual(record["max_isa_source"] as? String, source)
            let isa = try XCTUnwrap(record["isa"] as? String)
            let level = try XCTUnwrap(CPUISA(rawValue: isa), "unknown isa \(isa)")
            XCTAssertTrue(CPUISA.avx2.includes(level), "\(isa) is above the avx2 cap (\(arguments), \(environment))")
            XCTAssertEqual(record["threads"] as? Int, 1)
            let profile = try XCTUnwrap(record["profile"] as? [[String: Any]])
            let passes = profile.compactMap { $0["pass"] as? String }
            // Execution order; relu1's forward is fused into conv1's.
            XCTAssertEqual(passes.first, "conv1 forward")
            XCTAssertEqual(passes.last, "sgd step")
            for key in ["conv2 backward weights", "conv2 backward data", "conv1 backward weights", "pool1 backward",
                        "fc1 forward", "relu1 backward", "loss forward+backward"] {
                XCTAssertTrue(passes.contains(key), "profile lacks \(key): \(passes)")
            }
            // relu1 runs fused into conv1's forward; the first layer's input gradient is never computed.
            XCTAssertFalse(passes.contains("relu1 forward") || passes.contains("conv1 backward data"), "\(passes)")
            XCTAssertTrue(profile.allSatisfy { ($0["ms_per_step"] as? Double).map { $0 >= 0 } ?? false })
            let implementations = try XCTUnwrap(record["implementations"] as? [String: [String]])
            XCTAssertEqual(Set(implementations.keys), ["conv1", "conv2", "fc1", "fc2"])
            if isa == "avx2" {
                // Every primitive has an AVX2 kernel: none may fall back to oneDNN's reference loops.
                for (layer, names) in implementations { XCTAssertFalse(names.contains { $0.hasPrefix("ref") }, "\(layer): \(names)") }
            }
        }
    }

    func testWithoutACapTheRecordSaysSo() throws {
        let outcome = try benchTrain([])
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        let record = try XCTUnwrap(outcome.jsonLines.first)
        XCTAssertEqual(record["max_isa"] as? String, "all")
        XCTAssertEqual(record["max_isa_source"] as? String, "none")
    }

    func testBadKernelOptionsGiveOneLineAndNonZeroExit() throws {
        for (arguments, flag) in [(["--max-isa", "avx1024"], "--max-isa"), (["--threads", "0"], "--threads")] {
            let outcome = try benchTrain(arguments)
            XCTAssertNotEqual(outcome.status, 0, "\(arguments)")
            XCTAssertTrue(outcome.stderr.contains(flag), "\(arguments): \(outcome.stderr)")
            XCTAssertTrue(outcome.stdout.isEmpty, outcome.stdout)
        }
    }
}
