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
}
