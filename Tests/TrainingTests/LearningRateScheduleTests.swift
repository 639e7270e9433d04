import Training
import XCTest

final class LearningRateScheduleTests: XCTestCase {
    func testLinearScalingRule() {
        XCTAssertEqual(LearningRateSchedule.scaledRate(base: 0.05, scaling: .linear, ranks: 4, localBatch: 64, baseBatch: 64), 0.2, accuracy: 1e-12)
        XCTAssertEqual(LearningRateSchedule.scaledRate(base: 0.1, scaling: .linear, ranks: 8, localBatch: 32, baseBatch: 256), 0.1, accuracy: 1e-12)
        XCTAssertEqual(LearningRateSchedule.scaledRate(base: 0.05, scaling: .none, ranks: 4, localBatch: 64, baseBatch: 64), 0.05)
    }

    func testWarmupIsLinearFromBaseToPeak() {
        let s = LearningRateSchedule(base: 0.1, peak: 0.4, warmupSteps: 10, totalSteps: 100, decay: .constant)
        XCTAssertEqual(s.rate(at: 0), 0.1, accuracy: 1e-12)
        XCTAssertEqual(s.rate(at: 5), 0.25, accuracy: 1e-12)
        XCTAssertEqual(s.rate(at: 9), 0.37, accuracy: 1e-12)
        XCTAssertEqual(s.rate(at: 10), 0.4, accuracy: 1e-12)
        XCTAssertEqual(s.rate(at: 99), 0.4, accuracy: 1e-12)
    }

    func testCosineDecayAfterWarmup() {
        let s = LearningRateSchedule(base: 0.1, peak: 0.4, warmupSteps: 20, totalSteps: 120, decay: .cosine)
        XCTAssertEqual(s.rate(at: 20), 0.4, accuracy: 1e-12)
        XCTAssertEqual(s.rate(at: 70), 0.2, accuracy: 1e-12)
        XCTAssertEqual(s.rate(at: 120), 0, accuracy: 1e-12)
        for step in 21..<120 { XCTAssertLessThan(s.rate(at: step), s.rate(at: step - 1)) }
    }

    func testStepDecayMilestones() {
        let s = LearningRateSchedule(base: 1, peak: 1, warmupSteps: 0, totalSteps: 100, decay: .step)
        XCTAssertEqual(s.rate(at: 49), 1)
        XCTAssertEqual(s.rate(at: 50), 0.1, accuracy: 1e-12)
        XCTAssertEqual(s.rate(at: 75), 0.01, accuracy: 1e-12)
    }

    func testDefaultWarmupIsFiveEpochsCappedAtHalfTheRun() {
        var c = TrainConfig()
        c.epochs = 90
        XCTAssertEqual(c.warmupEpochs(ranks: 4), 5)
        XCTAssertEqual(c.warmupEpochs(ranks: 1), 0)
        c.epochs = 5
        XCTAssertEqual(c.warmupEpochs(ranks: 4), 2.5)
        c.scaling = .none
        XCTAssertEqual(c.warmupEpochs(ranks: 4), 0)
        c.warmupEpochs = 1
        XCTAssertEqual(c.warmupEpochs(ranks: 4), 1)
    }

    /// The trainers' peak: base x min(N x batch / baseBatch, cap). Defaults
    /// (MLP 0.05, folded momentum 0.9: x10) give base 0.5 and peak 1.0 from 2
    /// ranks on; the uncapped rule gave 0.5 x N (16 at 32 ranks), which
    /// diverged. 0.05 / (1 - 0.9) is 0.5 up to a few roundings of the decimal
    /// inputs (half an ulp each), so 1e-15 (about 4 ulps at 1) bounds it.
    func testPeakRateIsTheCappedLinearRule() {
        var c = TrainConfig()
        XCTAssertEqual(c.rates(ranks: 1).base, 0.5, accuracy: 1e-15)
        for (n, peak) in [(1, 0.5), (2, 1.0), (3, 1.0), (4, 1.0), (8, 1.0), (16, 1.0), (32, 1.0)] {
            XCTAssertEqual(c.rates(ranks: n).peak, peak, accuracy: 1e-15, "ranks \(n)")
        }
        c.maxLearningRateScale = .infinity  // the plain rule
        XCTAssertEqual(c.rates(ranks: 4).peak, 2, accuracy: 1e-15)
        XCTAssertEqual(c.rates(ranks: 32).peak, 16, accuracy: 1e-14)
        c.maxLearningRateScale = 4
        XCTAssertEqual(c.rates(ranks: 3).peak, 1.5, accuracy: 1e-15)
        XCTAssertEqual(c.rates(ranks: 8).peak, 2, accuracy: 1e-15)
        // Dense: momentum stays in the optimizer, no fold.
        c = TrainConfig()
        c.compression = nil
        XCTAssertEqual(c.rates(ranks: 8).base, 0.05, accuracy: 1e-15)
        XCTAssertEqual(c.rates(ranks: 8).peak, 0.1, accuracy: 1e-15)
        // DGC correction: no fold either.
        c = TrainConfig()
        c.compression?.momentum = .correction
        XCTAssertEqual(c.rates(ranks: 8).peak, 0.1, accuracy: 1e-15)
        // A base batch larger than the global batch scales down (0.5 x 128 / 256).
        c = TrainConfig()
        c.baseBatch = 256
        XCTAssertEqual(c.rates(ranks: 2).peak, 0.25, accuracy: 1e-15)
        XCTAssertEqual(c.rates(ranks: 16).peak, 1.0, accuracy: 1e-15)
        c.scaling = .none
        XCTAssertEqual(c.rates(ranks: 16).peak, 0.5, accuracy: 1e-15)
        // The CNN's default (0.01, folded: 0.1) peaks at 0.2 from 2 ranks on;
        // its former 0.02 gave 0.4, which diverged within 8 steps.
        c = TrainConfig()
        c.model = .cnn
        c.learningRate = TrainConfig.defaultLearningRate(for: .cnn)
        XCTAssertEqual(c.rates(ranks: 1).base, 0.1, accuracy: 1e-15)
        for n in [2, 4, 8, 16, 32] { XCTAssertEqual(c.rates(ranks: n).peak, 0.2, accuracy: 1e-15, "ranks \(n)") }
    }

    func testTrainersScheduleFromTheConfig() {
        var c = TrainConfig()
        c.epochs = 5
        let s = c.schedule(ranks: 4, stepsPerEpoch: 235)
        // Warm-up min(5, 5 / 2) = 2.5 epochs = 587.5 -> 588 steps (rounded half away from zero).
        XCTAssertEqual(s.base, 0.5, accuracy: 1e-15)
        XCTAssertEqual(s.peak, 1.0, accuracy: 1e-15)
        XCTAssertEqual(s.warmupSteps, 588)
        XCTAssertEqual(s.totalSteps, 1175)
        XCTAssertEqual(s.decay, .cosine)
        XCTAssertEqual(c.schedule(ranks: 1, stepsPerEpoch: 938).warmupSteps, 0)
    }
}
