@testable import Federated
import XCTest

final class AutonomyTests: XCTestCase {
    /// A hand-made trajectory: two layers of two parameters; w moves along
    /// known directions, so p(i) = <C(i), C(I)> / |C(I)|^2 is known exactly.
    func testProgressCurveOnAHandMadeTrajectory() {
        // C(i) for i = 1..4 (w(0) - w(i)); layer 0 = [0, 1), layer 1 = [2, 4).
        let snapshots: [[Float]] = [
            [1, 0, 0, 0],
            [2, 0, 1, 0],
            [3, 0, 1, 1],
            [4, 0, 2, 0],
        ]
        let curve = ProgressCurve(snapshots: snapshots, at: [1, 2, 3, 4], layers: [0..<2, 2..<4])
        XCTAssertEqual(curve.iterations, 4)
        // Overall: C(I) = [4, 0, 2, 0], |C(I)|^2 = 20; <C(i), C(I)> = 4, 10, 14, 20.
        XCTAssertEqual(curve.overall, [0, 0.2, 0.5, 0.7, 1.0])
        // Layer 0: C_l(I) = [4, 0]: 0.25, 0.5, 0.75, 1. Layer 1: C_l(I) = [2, 0]: 0, 0.5, 0.5, 1.
        XCTAssertEqual(curve.layers[0], [0, 0.25, 0.5, 0.75, 1])
        XCTAssertEqual(curve.layers[1], [0, 0, 0.5, 0.5, 1])
    }

    func testCurvesInterpolateBetweenCheckpoints() {
        XCTAssertEqual(ProgressCurve.checkpointIterations(10, count: 64), Array(1...10))
        let checkpoints = ProgressCurve.checkpointIterations(200, count: 64)
        XCTAssertEqual(checkpoints.last, 200)
        XCTAssertLessThanOrEqual(checkpoints.count, 65)
        // C grows linearly: the interpolated curve is exactly i / I.
        let snapshots = checkpoints.map { i in [Float(i), Float(2 * i)] }
        let curve = ProgressCurve(snapshots: snapshots, at: checkpoints, layers: [0..<2])
        for i in 0...200 { XCTAssertEqual(curve.overall[i], Double(i) / 200, accuracy: 1e-9) }
    }

    func testEarlyStopWhereTheNetBenefitTurnsNegative() {
        // Progress that flattens: gains 0.1 per iteration for 5 iterations, then 0.5 / 15.
        var p = [0.0]
        for i in 1...20 { p.append(p.last! + (i <= 5 ? 0.1 : 0.5 / 15)) }
        let curve = ProgressCurve(overall: p, layers: [])
        // No free time: each iteration costs 1 s of a 20 s reference, 0.05. Window h = 1.
        let rule = EarlyStopRule(benefitWeight: 1, freeFraction: 0)
        XCTAssertEqual(rule.netBenefit(curve: curve, iteration: 3, iterationSeconds: 1, elapsed: 3, reference: 20), 0.05,
                       accuracy: 1e-9)
        XCTAssertFalse(rule.shouldStop(curve: curve, iteration: 5, iterationSeconds: 1, elapsed: 5, reference: 20))
        XCTAssertTrue(rule.shouldStop(curve: curve, iteration: 6, iterationSeconds: 1, elapsed: 6, reference: 20))
        // A faster client (0.5 s per iteration) still gains more than it pays at iteration 6.
        XCTAssertFalse(rule.shouldStop(curve: curve, iteration: 6, iterationSeconds: 0.5, elapsed: 3, reference: 20))
        // Without a reference nobody stops; beyond the sampled iterations there is no benefit left.
        XCTAssertFalse(rule.shouldStop(curve: curve, iteration: 6, iterationSeconds: 1, elapsed: 6, reference: 0))
        XCTAssertTrue(rule.shouldStop(curve: curve, iteration: 25, iterationSeconds: 0.01, elapsed: 6, reference: 20))
        // Within the free time an iteration costs nothing: a slow client goes on until
        // the reference round time has passed, then stops.
        let free = EarlyStopRule(benefitWeight: 1, freeFraction: 1)
        XCTAssertFalse(free.shouldStop(curve: curve, iteration: 10, iterationSeconds: 4, elapsed: 19.9, reference: 20))
        XCTAssertTrue(free.shouldStop(curve: curve, iteration: 10, iterationSeconds: 4, elapsed: 20.1, reference: 20))
    }

    func testStraightLinePriorStopsASlowClientButNotAFastOne() {
        let prior = ProgressCurve.straightLine(iterations: 100)
        XCTAssertEqual(prior.overall[50], 0.5)
        let rule = EarlyStopRule(benefitWeight: 2, freeFraction: 0)
        // Benefit 2 / 100 per iteration; reference pace 1 s of a 100 s round.
        XCTAssertFalse(rule.shouldStop(curve: prior, iteration: 50, iterationSeconds: 1.5, elapsed: 75, reference: 100))
        XCTAssertTrue(rule.shouldStop(curve: prior, iteration: 50, iterationSeconds: 4, elapsed: 200, reference: 100))
    }

    func testConvergenceMustHoldAtTheSameIterationInBothCurves() {
        let a = ProgressCurve(overall: [0, 0.5, 0.8, 0.95, 1], layers: [[0, 0.92, 0.95, 0.97, 1], [0, 0.2, 0.9, 0.95, 1]])
        let b = ProgressCurve(overall: [0, 0.4, 0.7, 0.9, 1], layers: [[0, 0.5, 0.91, 0.97, 1], [0, 0.95, 0.5, 0.92, 1]])
        XCTAssertEqual(convergedIteration([a, b], layer: 0, threshold: 0.9), 2)
        // Layer 1 passes 0.9 at 2 in `a` and at 1 in `b`, but only at 3 in both.
        XCTAssertEqual(convergedIteration([a, b], layer: 1, threshold: 0.9), 3)
        XCTAssertNil(convergedIteration([a, b], layer: 1, threshold: 0.99))
        XCTAssertNil(convergedIteration([a], layer: 0, threshold: 0.9), "one sampling round is not enough")
    }

    func testCosineResendRule() {
        XCTAssertEqual(cosineSimilarity([1, 0], [1, 0]), 1, accuracy: 1e-12)
        XCTAssertEqual(cosineSimilarity([1, 0], [0, 1]), 0, accuracy: 1e-12)
        XCTAssertEqual(cosineSimilarity([1, 1], [1, 0]), 0.5.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(cosineSimilarity([0, 0], [0, 0]), 1)
        XCTAssertEqual(cosineSimilarity([0, 0], [1, 0]), 0)
        // An early snapshot 90% of the way along the same direction is kept (cos 1 >= 0.95)...
        XCTAssertGreaterThanOrEqual(cosineSimilarity([0.9, 1.8], [1, 2]), 0.95)
        // ...one that turned away is re-sent.
        XCTAssertLessThan(cosineSimilarity([1, 0.2], [0.2, 1]), 0.95)
    }

    func testPerLayerAggregationWithMixedEarlyAndFinalCopies() throws {
        // Two layers: [0, 2) and [2, 3). Client 1 kept layer 0 early at 5 steps
        // and sent layer 1 final after 10; client 2 sent everything final after 10.
        let layers = [0..<2, 2..<3]
        let c1 = ClientContribution(rank: 1, samples: 100, steps: 10, delta: [5, 5, 10], layerSteps: [5, 10])
        let c2 = ClientContribution(rank: 2, samples: 100, steps: 10, delta: [10, 0, 20])
        // FedNova per layer. Layer 0: a = (5, 10), tau_eff = 7.5, change = 7.5 (0.5 x [5,5]/5 + 0.5 x [10,0]/10) = [7.5, 3.75].
        // Layer 1: a = (10, 10): the plain average 15.
        let nova = try XCTUnwrap(aggregate([c1, c2], rule: .fednova, layers: layers))
        XCTAssertEqual(nova[0], 7.5, accuracy: 1e-6)
        XCTAssertEqual(nova[1], 3.75, accuracy: 1e-6)
        XCTAssertEqual(nova[2], 15, accuracy: 1e-6)
        // Weighted FedAvg ignores step counts: [7.5, 2.5, 15].
        XCTAssertEqual(try XCTUnwrap(aggregate([c1, c2], rule: .weighted, layers: layers)), [7.5, 2.5, 15])
    }

    func testSamplingRoundsAreEveryPth() {
        var a = AutonomySettings()
        a.sampleEvery = 5
        XCTAssertEqual((1...16).filter { a.isSampling(round: $0) }, [5, 10, 15])
    }
}
