import Foundation
@testable import NN
import XCTest

/// The distillation loss (`DistillationLoss`) against its definition computed
/// in Double (`Reference.distillation`), its gradient against central
/// differences of that, and its limits.
final class DistillationTests: XCTestCase {
    let batch = 4, classes = 10
    let labels: [Int32] = [0, 3, 9, 3]
    let settings: [(temperature: Double, alpha: Double)] = [(1, 0.5), (2, 0.25), (4, 0.7), (3, 1)]

    func logits(seed: UInt64) -> [Float] { gaussian(batch * classes, seed: seed).map { $0 * 2 } }

    /// The loss and, in Float, its gradient.
    func apply(_ z: [Float], _ t: [Float], temperature: Double, alpha: Double) -> (loss: Double, gradient: [Float], correct: Int) {
        var g = [Float](repeating: 0, count: z.count)
        let (sum, correct) = DistillationLoss.apply(
            logits: z, teacherLogits: t, labels: labels, batch: batch, classes: classes,
            temperature: temperature, alpha: alpha, gradient: &g)
        return (sum / Double(batch), g, correct)
    }

    /// The largest logit range (max - min) of a row of `z` or `t`.
    func range(_ z: [Float], _ t: [Float]) -> Double {
        (0..<2 * batch).map { r in
            let row = (r < batch ? z : t)[(r % batch) * classes..<(r % batch + 1) * classes].map(Double.init)
            return row.max()! - row.min()!
        }.max()!
    }

    /// A bound on the Double rounding of one evaluation of the loss, by
    /// either side: every intermediate of a row is below
    /// M = (1 - alpha)(R + log C) + 2 alpha T (R + T log C) in magnitude
    /// (|log p| <= R / T + log C for a softmax at temperature T of logits of
    /// range R, and the probabilities sum to 1), and no result passes through
    /// more than n = batch C + 4 C + 16 roundings (the sums over the batch
    /// and a row, exp, log, division), so it errs by at most gamma_n M.
    func doubleNoise(range r: Double, temperature: Double, alpha: Double) -> Double {
        let logC = log(Double(classes))
        let magnitude = (1 - alpha) * (r + logC) + 2 * alpha * temperature * (r + temperature * logC)
        return Double(batch * classes + 4 * classes + 16) * 0x1p-53 * magnitude
    }

    /// The Float32 rounding of the hard (cross-entropy) term, per row, to
    /// first order (doubled for the rest): z - m errs by u |z - m|, which
    /// expf turns into a relative u |z - m| <= u R, and expf adds 2u; the sum
    /// of C positive terms gamma_C; logf 2u |log S| with log S <= log C, plus
    /// the sum's relative error; the two subtractions u R and u (log C + R).
    /// The soft term is computed in Double (`doubleNoise`).
    func testLossMatchesTheDefinitionInDouble() {
        let z = logits(seed: 21), t = logits(seed: 22)
        let r = range(z, t)
        for (temperature, alpha) in settings {
            let loss = apply(z, t, temperature: temperature, alpha: alpha).loss
            let expected = Reference.distillation(
                student: z.map(Double.init), teacher: t.map(Double.init), labels: labels, batch: batch,
                temperature: temperature, alpha: alpha)
            let u = GradientCheck.u32
            let hardRow = 2 * (GradientCheck.gamma(classes) + u * (3 * r + 3 * log(Double(classes)) + 2))
            let bound = (1 - alpha) * hardRow + 2 * doubleNoise(range: r, temperature: temperature, alpha: alpha)
            print("distillation loss T \(temperature) alpha \(alpha): \(loss) vs \(expected), error/bound \(abs(loss - expected) / bound)")
            XCTAssertLessThanOrEqual(abs(loss - expected), bound, "T \(temperature) alpha \(alpha)")
            // The soft term carries weight: the same loss without it is far off.
            XCTAssertGreaterThan(abs(loss - (1 - alpha) * Reference.crossEntropy(z.map(Double.init), labels: labels, batch: batch)),
                                 100 * bound)
        }
    }

    /// dL/dz against a Float64 central difference of the definition at step
    /// h. Float side: the hard term's gradient within 18 u / batch + u |g|
    /// (`GradientTests.testSoftmaxCrossEntropy`), |g_hard| <= 1 / batch,
    /// scaled by (1 - alpha); the soft term in Double; one rounding to Float,
    /// u |g|. Double side: truncation h^2 / 6 |L'''| with |L'''| <= 0.1 / batch
    /// (a log-sum-exp's third derivative along a coordinate is
    /// p (1 - p)(1 - 2p), at most 0.1, and the soft term's is that over T),
    /// and two evaluations' rounding over 2h.
    func testGradientMatchesFiniteDifferences() {
        let z = logits(seed: 23), t = logits(seed: 24)
        let r = range(z, t)
        let h = 1e-3
        let t64 = t.map(Double.init)
        for (temperature, alpha) in settings {
            let g = apply(z, t, temperature: temperature, alpha: alpha).gradient
            func loss(_ z: [Double]) -> Double {
                Reference.distillation(student: z, teacher: t64, labels: labels, batch: batch, temperature: temperature, alpha: alpha)
            }
            let u = GradientCheck.u32
            let fd = h * h / 6 * 0.1 / Double(batch) + doubleNoise(range: r, temperature: temperature, alpha: alpha) / h
            var z64 = z.map(Double.init)
            var worst = 0.0
            for i in z64.indices {
                let saved = z64[i]
                z64[i] = saved + h
                let plus = loss(z64)
                z64[i] = saved - h
                let minus = loss(z64)
                z64[i] = saved
                let bound = (1 - alpha) * 19 * u / Double(batch) + u * abs(Double(g[i])) + fd
                worst = max(worst, abs(Double(g[i]) - (plus - minus) / (2 * h)) / bound)
            }
            print("distillation gradient T \(temperature) alpha \(alpha): worst error/bound \(worst)")
            XCTAssertLessThanOrEqual(worst, 1, "T \(temperature) alpha \(alpha)")
        }
    }

    /// alpha = 0 is `SoftmaxCrossEntropy`, bit for bit: the same hard term,
    /// plus 0 x (soft term), a zero that leaves every value unchanged.
    func testAlphaZeroIsCrossEntropy() {
        let z = logits(seed: 25), t = logits(seed: 26)
        var ce = [Float](repeating: 0, count: z.count)
        let (ceSum, ceCorrect) = SoftmaxCrossEntropy.apply(logits: z, labels: labels, batch: batch, classes: classes, gradient: &ce)
        let (loss, g, correct) = apply(z, t, temperature: 3, alpha: 0)
        XCTAssertEqual(loss.bitPattern, (ceSum / Double(batch)).bitPattern)
        XCTAssertEqual(g.map(\.bitPattern), ce.map(\.bitPattern))
        XCTAssertEqual(correct, ceCorrect)
    }

    /// A teacher equal to the student makes the KL term exactly 0 (the two
    /// log-softmaxes are the same computation) at T = 1 and at T = 3: the
    /// loss is (1 - alpha) CE and the gradient (1 - alpha) times CE's; at
    /// alpha = 1 both are 0.
    func testTeacherEqualToStudentLeavesOnlyTheHardTerm() {
        let z = logits(seed: 27)
        var ce = [Float](repeating: 0, count: z.count)
        let ceSum = SoftmaxCrossEntropy.apply(logits: z, labels: labels, batch: batch, classes: classes, gradient: &ce).lossSum
        for temperature in [1.0, 3.0] {
            for alpha in [0.4, 1.0] {
                let (loss, g, _) = apply(z, z, temperature: temperature, alpha: alpha)
                XCTAssertEqual(loss, (1 - alpha) * ceSum / Double(batch), "T \(temperature) alpha \(alpha)")
                XCTAssertEqual(g, ce.map { Float((1 - alpha) * Double($0)) }, "T \(temperature) alpha \(alpha)")
            }
        }
        XCTAssertEqual(apply(z, z, temperature: 1, alpha: 1).gradient, [Float](repeating: 0, count: z.count))
    }

    /// Each row of the gradient sums to 0 (both terms are differences of two
    /// probability vectors): to rounding, C entries each within the bound of
    /// `testGradientMatchesFiniteDifferences`'s Float side, summed in Double.
    func testGradientRowsSumToZero() {
        let z = logits(seed: 28), t = logits(seed: 29)
        let u = GradientCheck.u32
        for (temperature, alpha) in settings {
            let g = apply(z, t, temperature: temperature, alpha: alpha).gradient
            for b in 0..<batch {
                let row = g[b * classes..<(b + 1) * classes].map(Double.init)
                let bound = Double(classes) * (1 - alpha) * 19 * u / Double(batch) + u * row.reduce(0) { $0 + abs($1) }
                XCTAssertLessThanOrEqual(abs(row.reduce(0, +)), bound, "row \(b), T \(temperature) alpha \(alpha)")
            }
        }
    }
}
