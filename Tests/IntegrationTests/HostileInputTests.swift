import Foundation
import XCTest

/// Every bad input of the reliability list, each under a real mpirun: one
/// line naming the input and the problem, a non-zero exit, and no rank left
/// waiting (the job ends within seconds).
final class HostileInputTests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// A data directory whose training images file is `images` (plain IDX)
    /// next to well-formed other files.
    func dataDirectory(images: [UInt8]) throws -> String {
        let dir = URL(fileURLWithPath: try temporaryDirectory("bad-data"))
        func header(_ magic: UInt32, _ dims: [UInt32]) -> [UInt8] {
            ([magic] + dims).flatMap { v in withUnsafeBytes(of: v.bigEndian) { Array($0) } }
        }
        let labels = header(0x0000_0801, [4]) + [0, 1, 2, 3]
        let testImages = header(0x0000_0803, [4, 28, 28]) + [UInt8](repeating: 7, count: 4 * 784)
        for (name, bytes) in [("train-images-idx3-ubyte", images), ("train-labels-idx1-ubyte", labels),
                              ("t10k-images-idx3-ubyte", testImages), ("t10k-labels-idx1-ubyte", labels)] {
            try Data(bytes).write(to: dir.appendingPathComponent(name))
        }
        return dir.path
    }

    func testEveryBadInputGivesOneLineAndAQuickNonZeroExit() throws {
        let wrongMagic = try dataDirectory(images: Array("this is not an IDX file".utf8))
        var truncatedImages: [UInt8] = [0, 0, 8, 3, 0, 0, 0, 4, 0, 0, 0, 28, 0, 0, 0, 28]
        truncatedImages += [UInt8](repeating: 9, count: 1000)
        let truncated = try dataDirectory(images: truncatedImages)
        let noCheckpoint = try temporaryDirectory("no-ckpt")
        let synthetic = ["--synthetic", "--synthetic-train", "600", "--synthetic-test", "100"]
        let cases: [(args: [String], ranks: Int, message: String)] = [
            (["train", "--ratio", "0"], 3, "edgetrain: --ratio must be in (0, 1], got 0.0"),
            (["train", "--ratio", "1.5"], 3, "edgetrain: --ratio must be in (0, 1], got 1.5"),
            (["train", "--group-size", "0"], 3, "edgetrain: --group-size must be at least 1, got 0"),
            (["train", "--group-size", "4294967297"], 3, "edgetrain: --group-size 4294967297 is too big for its encoding"),
            (["train", "--epochs", "0"], 3, "edgetrain: --epochs must be at least 1, got 0"),
            (["federated", "--rounds", "0"], 3, "edgetrain: --rounds must be at least 1, got 0"),
            (["train", "--batch", "0"], 2, "edgetrain: --batch must be at least 1, got 0"),
            (["federated", "--batch", "0"], 2, "edgetrain: --batch must be at least 1, got 0"),
            (["train", "--model", "resnet"], 2, "edgetrain: The value 'resnet' is invalid for '--model <model>'"),
            (["federated", "--strategy", "fedsgd"], 3, "edgetrain: The value 'fedsgd' is invalid for '--strategy <strategy>'"),
            (["train", "--partition", "zipf"], 3, "edgetrain: The value 'zipf' is invalid for '--partition <partition>'"),
            (["train", "--partition", "dirichlet", "--alpha", "0"], 2, "edgetrain: --alpha must be > 0, got 0.0"),
            (["train", "--synthetic", "--synthetic-train", "3"], 4, "edgetrain: invalid partition request: 4 partitions but only 3 samples"),
            (["train", "--data-dir", "/nonexistent-data"], 3, "edgetrain: /nonexistent-data/train-images-idx3-ubyte"),
            (["train", "--data-dir", wrongMagic], 3, "edgetrain: \(wrongMagic)/train-images-idx3-ubyte: wrong magic number"),
            (["train", "--data-dir", truncated], 3, "edgetrain: \(truncated)/train-images-idx3-ubyte: truncated file (expected 3152 bytes, found 1016)"),
            (["federated", "--client-speed", "1,1"] + synthetic, 4, "edgetrain: --client-speed has 2 values for 3 clients"),
            (["federated"] + synthetic, 1, "edgetrain: federated mode needs at least 2 ranks (a coordinator and a client), got 1"),
            (["train", "--resume", "--checkpoint-dir", noCheckpoint] + synthetic, 3,
             "edgetrain: --resume: no complete checkpoint in \(noCheckpoint)"),
            (["federated", "--resume", "--checkpoint-dir", noCheckpoint] + synthetic, 3,
             "edgetrain: --resume: no complete checkpoint in \(noCheckpoint)"),
            (["train", "--resume"], 2, "edgetrain: --resume needs --checkpoint-dir"),
            (["federated", "--byzantine", "3", "--attack", "scale"] + synthetic, 3,
             "edgetrain: --byzantine rank 3 is not a client (clients are ranks 1...2)"),
            (["federated", "--attack", "noise"], 3, "edgetrain: --attack needs --byzantine RANKS"),
            (["federated", "--aggregation", "median", "--async"], 3, "edgetrain: --aggregation median combines a synchronous round's updates"),
        ]
        for c in cases {
            let outcome = try MPIJob.run("edgetrain", c.args, ranks: c.ranks, timeout: 60)
            check(outcome, c.args, c.message)
        }
        // A missing hostfile, through the launcher users run.
        let launcher = Self.repository.appendingPathComponent("scripts/mpirun").path
        let outcome = try MPIJob.spawn(launcher, ["--hostfile", "/nonexistent/hosts", "-np", "2", "true"],
                                       environment: MPIJob.environment(), timeout: 60)
        check(outcome, ["scripts/mpirun --hostfile /nonexistent/hosts"], "mpirun: hostfile '/nonexistent/hosts' does not exist",
              prefix: "mpirun:")
    }

    /// Comma-separated lists: an element that does not parse, an empty one,
    /// or one out of range is refused before MPI starts, with one line
    /// naming the option and the element.
    func testBadListElementsAreNamed() throws {
        let cases: [(args: [String], ranks: Int, message: String)] = [
            (["train", "--hidden", "256,x"], 3,
             "edgetrain: The value '256,x' is invalid for '--hidden <hidden>': element 2, 'x', is not an integer"),
            (["train", "--hidden", "256,,128"], 2,
             "edgetrain: The value '256,,128' is invalid for '--hidden <hidden>': element 2 is empty"),
            (["federated", "--hidden", "32,0"], 3, "edgetrain: --hidden sizes must be at least 1, got 0"),
            (["train", "--dump-steps", "1,2.5"], 2,
             "edgetrain: The value '1,2.5' is invalid for '--dump-steps <dump-steps>': element 2, '2.5', is not an integer"),
            (["train", "--dump-steps", "5,0,7"], 2, "edgetrain: --dump-steps must be steps >= 1, got 0"),
            (["federated", "--client-speed", "1,x,1"], 4,
             "edgetrain: The value '1,x,1' is invalid for '--client-speed <client-speed>': element 2, 'x', is not a number"),
            (["federated", "--client-speed", "1,0.5,1"], 4, "edgetrain: --client-speed factors must be numbers >= 1, got 0.5"),
            (["federated", "--client-speed", "1,inf"], 3, "edgetrain: --client-speed factors must be numbers >= 1, got inf"),
            (["federated", "--client-bandwidth", "100,-1"], 3, "edgetrain: --client-bandwidth values must be Mbit/s > 0, got -1.0"),
            (["federated", "--byzantine", "2,", "--attack", "nan"], 3,
             "edgetrain: The value '2,' is invalid for '--byzantine <byzantine>': element 2 is empty"),
            (["bench", "compress", "--ratio", "0.01,abc"], 1,
             "edgetrain: The value '0.01,abc' is invalid for '--ratio <ratio>': element 2, 'abc', is not a number"),
            (["bench", "compress", "--group-size", "256,0"], 1, "edgetrain: --group-size must be at least 1, got 0"),
            (["bench", "compress", "--input", "a.f32,,b.f32"], 1,
             "edgetrain: The value 'a.f32,,b.f32' is invalid for '--input <input>': element 2 is empty"),
            (["train", "--inject-fault", "diverge:1"], 2,
             "edgetrain: The value 'diverge:1' is invalid for '--inject-fault': expected diverge:RANK:STEP or hang:RANK:STEP"),
        ]
        for c in cases {
            let outcome = try MPIJob.run("edgetrain", c.args, ranks: c.ranks, timeout: 60)
            check(outcome, c.args, c.message)
        }
    }

    /// Combinations that used to run while doing something else than asked,
    /// and a batch larger than a rank's partition: refused with one line.
    func testCombinationsThatDoNothingUsefulAreRefused() throws {
        let synthetic = ["--synthetic", "--synthetic-train", "600", "--synthetic-test", "100"]
        let cases: [(args: [String], ranks: Int, message: String)] = [
            (["train", "--sparse-reduce", "reselect", "--no-error-feedback"] + synthetic + ["--epochs", "1"], 2,
             "edgetrain: --sparse-reduce reselect needs error feedback"),
            (["federated", "--strategy", "fedada", "--async", "--rounds", "1"] + synthetic, 3,
             "edgetrain: --strategy fedada assigns the local steps of synchronous rounds; drop --async"),
            // 600 samples over 3 ranks: 200 each.
            (["train", "--batch", "300", "--epochs", "1"] + synthetic, 3,
             "edgetrain: --batch 300 is larger than rank 0's partition of 200 samples"),
            // 601 over 3: 201, 200, 200; the first smallest is rank 1's.
            (["train", "--batch", "201", "--epochs", "1", "--synthetic", "--synthetic-train", "601", "--synthetic-test", "100"], 3,
             "edgetrain: --batch 201 is larger than rank 1's partition of 200 samples"),
            // Federated: 600 over 2 clients (ranks 1 and 2): 300 each.
            (["federated", "--batch", "301", "--rounds", "1"] + synthetic, 3,
             "edgetrain: --batch 301 is larger than rank 1's partition of 300 samples"),
        ]
        for c in cases {
            let outcome = try MPIJob.run("edgetrain", c.args, ranks: c.ranks, timeout: 60)
            check(outcome, c.args, c.message)
        }
        // The largest batch a partition holds is accepted.
        let fits = try MPIJob.run("edgetrain", ["train", "--batch", "200", "--epochs", "1", "--hidden", "16"] + synthetic, ranks: 3, timeout: 60)
        XCTAssertEqual(fits.status, 0, fits.stderr)
    }

    func check(_ outcome: MPIJob.Outcome, _ args: [String], _ message: String, prefix: String = "edgetrain:") {
        XCTAssertNotEqual(outcome.status, 0, "\(args)")
        XCTAssertLessThan(outcome.seconds, Liveness.failedJob, "\(args) took \(outcome.seconds) s")
        let lines = outcome.stderr.split(separator: "\n").filter { $0.hasPrefix(prefix) }
        XCTAssertEqual(lines.count, 1, "\(args): \(outcome.stderr)")
        XCTAssertTrue(lines.first?.hasPrefix(message) ?? false, "\(args): \(lines)")
    }
}
