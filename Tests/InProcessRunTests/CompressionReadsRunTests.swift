import Collectives
@testable import Federated
import RunSupport
@testable import Training
import XCTest

/// `CompressionMethod.reads(_:)`, the rule by which the command line refuses
/// an option a method ignores, checked against what whole runs do: for
/// every method and every setting, a run with the setting changed trains
/// another model when the rule says the method reads it, and the same model
/// bits (or the library refuses the settings) when it says it does not.
final class CompressionReadsRunTests: XCTestCase {
    /// The settings `edgetrain train --compression NAME` makes with no other option.
    func defaults(_ method: CompressionMethod) -> CompressionSettings {
        var s = CompressionSettings()
        s.method = method
        s.errorFeedback = method.errorFeedbackByDefault
        s.momentum = method.isTopK || method == .sign ? .fold : .optimizer
        return s
    }

    /// `s` with `field` set to another value than the default's.
    func changing(_ field: CompressionSettings.Field, of s: CompressionSettings) -> CompressionSettings {
        var s = s
        switch field {
        case .groupSize: s.groupSize = 64
        case .ratio: s.ratio = 0.1
        case .policy: s.policy = .reselect
        case .errorFeedback: s.errorFeedback.toggle()
        case .momentum: s.momentum = s.momentum == .fold ? .optimizer : .fold
        case .momentumCorrection: s.momentum = .correction
        case .bucketSize: s.bucketSize = 64
        case .levels: s.levels = 3
        case .stochasticRounding: s.stochasticRounding = true
        case .powerRank: s.powerRank = 1
        }
        return s
    }

    /// 3 ranks, 4 steps of a 784-8-10 MLP (6,370 parameters: 7 groups of
    /// 1,024, 100 of 64; powersgd's rank-2 factors are smaller than both
    /// weight matrices, so rank 1 changes both); nil when the library
    /// refuses the settings (`TrainConfig.settingsProblem`).
    func trainedModel(_ settings: CompressionSettings, momentum: Double = 0.9) throws -> String? {
        var c = TrainConfig()
        c.momentum = momentum
        c.data = .synthetic(trainCount: 96, testCount: 32)
        c.hidden = [8]
        c.epochs = 1
        c.batch = 8
        c.learningRate = 0.05
        c.evalBatch = 32
        c.json = true
        c.compression = settings
        if c.settingsProblem != nil { return nil }
        let config = c
        let hashes = try LoopbackTransport.run(ranks: 3) { try DataParallelTrainer(config: config, peers: $0).run().figures.modelSHA256 }
        XCTAssertEqual(Set(hashes).count, 1, "every rank holds the same model")
        return hashes[0]
    }

    func testTrainingReadsWhatTheRuleSays() throws {
        for method in CompressionMethod.allCases {
            let model = try XCTUnwrap(try trainedModel(defaults(method)), method.rawValue)
            // Momentum correction takes the optimizer's momentum away: were it
            // ignored, the run would be plain SGD at the same rate, as a fold
            // of momentum 0 is.
            var plain = defaults(method)
            plain.momentum = .fold
            let plainModel = try XCTUnwrap(try trainedModel(plain, momentum: 0), method.rawValue)
            for field in CompressionSettings.Field.allCases {
                let changed = try trainedModel(changing(field, of: defaults(method)))
                let base = field == .momentumCorrection ? plainModel : model
                if method.reads(field) {
                    XCTAssertNotNil(changed, "\(method.rawValue) reads \(field): the library accepts it")
                    XCTAssertNotEqual(changed, base, "\(method.rawValue) reads \(field): changing it changes the model")
                } else if let changed {
                    XCTAssertEqual(changed, base, "\(method.rawValue) does not read \(field): the same model")
                }
            }
        }
    }

    /// Federated uploads: the settings `federated` has options for (no
    /// sparse ring, momentum or PowerSGD there), for every upload method.
    func testFederatedUploadsReadWhatTheRuleSays() throws {
        let base = smallFederatedConfig(train: 120, test: 30, hidden: 8)
        func federatedModel(_ settings: CompressionSettings) throws -> String {
            var c = base
            c.compression = settings
            XCTAssertNil(c.compressionProblem, settings.method.rawValue)
            return try federatedModelSHA256(c)
        }
        let uploadFields: [CompressionSettings.Field] = [.groupSize, .ratio, .errorFeedback, .bucketSize, .levels, .stochasticRounding]
        for method in CompressionMethod.allCases where method != .powerSGD {
            let model = try federatedModel(defaults(method))
            for field in uploadFields {
                let changed = try federatedModel(changing(field, of: defaults(method)))
                if method.reads(field) {
                    XCTAssertNotEqual(changed, model, "\(method.rawValue) uploads read \(field)")
                } else {
                    XCTAssertEqual(changed, model, "\(method.rawValue) uploads do not read \(field)")
                }
            }
        }
    }
}
