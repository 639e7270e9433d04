@testable import edgetrain
import XCTest

/// The command line refuses a compression option the chosen method does not
/// read (`CompressionKind.refuseInapplicable`), in one process: every
/// option against every `--compression`, by the table docs/compression.md
/// gives (written out here, so that a change of the rule that the docs do
/// not follow fails). CompressionReadsRunTests checks the rule against what
/// runs do; CompressionMethodsIntegrationTests the refusal under mpirun.
final class CompressionOptionsTests: XCTestCase {
    static let topK = ["group-topk", "group-topk-fp16", "group-topk-int8"]
    static let everyMethod = topK + ["fp16", "int8", "qsgd", "sign", "powersgd"]
    static let uploadMethods = topK + ["fp16", "int8", "qsgd", "sign"]

    /// `train`: each option (its flag as named in the refusal, and its
    /// arguments) and the methods that read it.
    static let trainReaders: [(flag: String, arguments: [String], readers: [String])] = [
        ("--ratio", ["--ratio", "0.1"], topK),
        ("--group-size", ["--group-size", "256"], topK),
        ("--sparse-reduce", ["--sparse-reduce", "exact"], ["group-topk"]),
        ("--sparse-reduce", ["--sparse-reduce", "reselect"], ["group-topk"]),
        ("--no-error-feedback", ["--no-error-feedback"], everyMethod),
        ("--error-feedback", ["--error-feedback"], everyMethod),
        ("--sparse-momentum", ["--sparse-momentum", "fold"], everyMethod),
        ("--sparse-momentum", ["--sparse-momentum", "optimizer"], everyMethod),
        ("--sparse-momentum correction", ["--sparse-momentum", "correction"], ["group-topk"]),
        ("--momentum-correction", ["--momentum-correction"], ["group-topk"]),
        ("--bucket-size", ["--bucket-size", "64"], ["int8", "qsgd", "sign"]),
        ("--qsgd-levels", ["--qsgd-levels", "4"], ["qsgd"]),
        ("--stochastic-rounding", ["--stochastic-rounding"], ["int8"]),
        ("--powersgd-rank", ["--powersgd-rank", "1"], ["powersgd"]),
    ]

    /// `federated`'s upload options (PowerSGD is refused for uploads).
    static let uploadReaders: [(flag: String, arguments: [String], readers: [String])] = [
        ("--ratio", ["--ratio", "0.1"], topK),
        ("--group-size", ["--group-size", "256"], topK),
        ("--no-error-feedback", ["--no-error-feedback"], uploadMethods),
        ("--error-feedback", ["--error-feedback"], uploadMethods),
        ("--bucket-size", ["--bucket-size", "64"], ["int8", "qsgd", "sign"]),
        ("--qsgd-levels", ["--qsgd-levels", "4"], ["qsgd"]),
        ("--stochastic-rounding", ["--stochastic-rounding"], ["int8"]),
    ]

    /// "a", "a and b", "a, b and c".
    func list(_ names: [String]) -> String {
        names.count > 1 ? names.dropLast().joined(separator: ", ") + " and " + names.last! : names.joined()
    }

    /// The refusal `parse` throws, as `edgetrain` prints it after "edgetrain: ", or nil when it parses.
    func trainRefusal(_ arguments: [String]) -> String? {
        do {
            _ = try TrainCommand.parse(arguments)
            return nil
        } catch {
            return TrainCommand.message(for: error)
        }
    }

    func federatedRefusal(_ arguments: [String]) -> String? {
        do {
            _ = try FederatedCommand.parse(arguments)
            return nil
        } catch {
            return FederatedCommand.message(for: error)
        }
    }

    func testTrainRefusesEveryOptionItsMethodDoesNotRead() {
        XCTAssertEqual(Set(CompressionKind.allCases.map(\.rawValue)), Set(["none"] + Self.everyMethod))
        for method in CompressionKind.allCases.map(\.rawValue) {
            for option in Self.trainReaders {
                let arguments = ["--synthetic", "--compression", method] + option.arguments
                let expected = option.readers.contains(method) ? nil
                    : "\(option.flag) applies to --compression \(list(option.readers)) only, not \(method)"
                XCTAssertEqual(trainRefusal(arguments), expected, "train \(arguments)")
            }
        }
    }

    func testFederatedRefusesEveryUploadOptionItsMethodDoesNotRead() {
        for method in ["none"] + Self.uploadMethods {
            for option in Self.uploadReaders {
                let arguments = ["--synthetic", "--compression", method] + option.arguments
                let expected = option.readers.contains(method) ? nil
                    : "\(option.flag) applies to --compression \(list(option.readers)) only, not \(method)"
                XCTAssertEqual(federatedRefusal(arguments), expected, "federated \(arguments)")
            }
        }
        // Uploads are not compressed by default: a Group-TopK option alone is refused.
        XCTAssertEqual(federatedRefusal(["--ratio", "0.1"]),
                       "--ratio applies to --compression group-topk, group-topk-fp16 and group-topk-int8 only, not none")
        // PowerSGD is refused for uploads whatever else is given.
        XCTAssertTrue(federatedRefusal(["--compression", "powersgd", "--ratio", "0.1"])?
            .hasPrefix("--compression powersgd sums low-rank factors") == true)
    }

    /// With no option given, the settings are those the options' old
    /// non-optional defaults made (docs/compression.md: error feedback off
    /// for fp16 and qsgd, momentum folded for the Group-TopK methods and
    /// sign); given ones land in the settings.
    func testDefaultsAreUnchangedAndGivenValuesApply() throws {
        for method in Self.everyMethod {
            let s = try XCTUnwrap(try TrainCommand.parse(["--compression", method]).makeConfig().compression, method)
            XCTAssertEqual(s.method.rawValue, method)
            XCTAssertEqual(s.ratio, 0.01, method)
            XCTAssertEqual([s.groupSize, s.bucketSize, s.levels, s.powerRank], [1024, 512, 127, 2], method)
            XCTAssertEqual(s.policy.rawValue, "exact", method)
            XCTAssertFalse(s.stochasticRounding, method)
            XCTAssertEqual(s.errorFeedback, method != "fp16" && method != "qsgd", method)
            XCTAssertEqual(s.momentum.rawValue, Self.topK.contains(method) || method == "sign" ? "fold" : "optimizer", method)
        }
        for method in Self.uploadMethods {
            let s = try XCTUnwrap(try FederatedCommand.parse(["--compression", method]).makeConfig().compression, method)
            XCTAssertEqual(s.ratio, 0.01, method)
            XCTAssertEqual([s.groupSize, s.bucketSize, s.levels], [1024, 512, 127], method)
            XCTAssertFalse(s.stochasticRounding, method)
            XCTAssertEqual(s.errorFeedback, method != "fp16" && method != "qsgd", method)
        }
        XCTAssertNil(try TrainCommand.parse(["--compression", "none"]).makeConfig().compression)
        XCTAssertNil(try FederatedCommand.parse([]).makeConfig().compression)

        let qsgd = try XCTUnwrap(try TrainCommand.parse(["--compression", "qsgd", "--bucket-size", "64", "--qsgd-levels", "4"])
            .makeConfig().compression)
        XCTAssertEqual([qsgd.bucketSize, qsgd.levels], [64, 4])
        let int8 = try XCTUnwrap(try TrainCommand.parse(["--compression", "int8", "--stochastic-rounding"]).makeConfig().compression)
        XCTAssertTrue(int8.stochasticRounding)
        let topK = try XCTUnwrap(try TrainCommand.parse(["--ratio", "0.1", "--group-size", "256", "--sparse-reduce", "reselect"])
            .makeConfig().compression)
        XCTAssertEqual(topK.ratio, 0.1)
        XCTAssertEqual(topK.groupSize, 256)
        XCTAssertEqual(topK.policy.rawValue, "reselect")
        XCTAssertEqual(try TrainCommand.parse(["--compression", "powersgd", "--powersgd-rank", "3"]).makeConfig().compression?.powerRank, 3)
        let upload = try XCTUnwrap(try FederatedCommand.parse(["--compression", "group-topk-int8", "--ratio", "0.2", "--group-size", "128"])
            .makeConfig().compression)
        XCTAssertEqual(upload.ratio, 0.2)
        XCTAssertEqual(upload.groupSize, 128)
    }

    /// The defaults stay visible in `--help`.
    func testHelpShowsTheDefaults() {
        let train = TrainCommand.helpMessage(columns: 1000)
        for text in ["elements per group (default: 1024)", "round(ratio x group size))) (default: 0.01)", "(default: exact)",
                     "elements per scale group (default: 512)", "(1...32767) (default: 127)", "rank of the factors (default: 2)"] {
            XCTAssertTrue(train.contains(text), text)
        }
        let federated = FederatedCommand.helpMessage(columns: 1000)
        for text in ["ratio of uploads (default: 0.01)", "group size of uploads (default: 1024)", "(default: 512)", "(default: 127)"] {
            XCTAssertTrue(federated.contains(text), text)
        }
    }
}
