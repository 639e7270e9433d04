@testable import NN
import Random
import XCTest

final class GradientTests: XCTestCase {
    func gaussian(_ n: Int, seed: UInt64) -> [Float] {
        var rng = SeededGenerator(seed: seed)
        return (0..<n).map { _ in Float(rng.nextGaussian()) }
    }

    func testLinear() {
        let layer = Linear("fc", inFeatures: 13, outFeatures: 7)
        // The loss is linear in weights and inputs: a large step has no truncation error.
        let e = GradientCheck.checkLayer(layer, batch: 5, input: gaussian(5 * 13, seed: 3), eps: 0.5)
        print("Linear: max relative error params \(e.parameters), inputs \(e.inputs)")
        XCTAssertLessThan(e.parameters, 1e-3)
        XCTAssertLessThan(e.inputs, 1e-3)
    }

    func testReLU() {
        // Inputs kept away from the kink at 0, farther than eps.
        let x = gaussian(4 * 30, seed: 4).map { $0 >= 0 ? $0 + 0.1 : $0 - 0.1 }
        let e = GradientCheck.checkLayer(ReLU("relu", shape: [30]), batch: 4, input: x)
        print("ReLU: max relative error inputs \(e.inputs)")
        XCTAssertLessThan(e.inputs, 1e-3)
    }

    func testFlatten() {
        let e = GradientCheck.checkLayer(Flatten("flat", shape: [3, 4, 2]), batch: 3, input: gaussian(3 * 24, seed: 5))
        print("Flatten: max relative error inputs \(e.inputs)")
        XCTAssertLessThan(e.inputs, 1e-4)
    }

    func testConv2dWithStridesAndPadding() {
        let cases: [(h: Int, w: Int, c: Int, oc: Int, k: Int, s: Int, p: Int)] = [
            (7, 6, 3, 4, 3, 1, 1), (8, 8, 2, 3, 5, 2, 2), (6, 7, 2, 2, 2, 2, 0), (5, 5, 1, 3, 5, 1, 2), (9, 7, 3, 2, 3, 3, 1),
        ]
        for t in cases {
            let layer = Conv2d("conv", height: t.h, width: t.w, inChannels: t.c, outChannels: t.oc, kernel: t.k,
                               stride: t.s, padding: t.p)
            let batch = 3
            // Linear in weights and inputs: a large step has no truncation error.
            let e = GradientCheck.checkLayer(layer, batch: batch, input: gaussian(batch * layer.inputCount, seed: 6), eps: 0.5)
            print("Conv2d \(t): max relative error params \(e.parameters), inputs \(e.inputs)")
            XCTAssertLessThan(e.parameters, 1e-3, "\(t)")
            XCTAssertLessThan(e.inputs, 1e-3, "\(t)")
        }
    }

    func testMaxPool2d() {
        // Distinct values 0.05 apart: a perturbation of 0.01 never changes a winner.
        var rng = SeededGenerator(seed: 7)
        var x = (0..<2 * 6 * 6 * 8).map { Float($0) * 0.05 }
        rng.shuffle(&x)
        for channels in [8, 3] {
            let layer = MaxPool2d("pool", height: 6, width: 6, channels: channels)
            let e = GradientCheck.checkLayer(layer, batch: 2, input: Array(x.prefix(2 * 36 * channels)))
            print("MaxPool2d (\(channels) channels): max relative error inputs \(e.inputs)")
            XCTAssertLessThan(e.inputs, 1e-3)
        }
    }

    func testSoftmaxCrossEntropy() {
        let batch = 4, classes = 10
        var z = gaussian(batch * classes, seed: 8)
        let labels: [Int32] = [0, 3, 9, 3]
        var g = [Float](repeating: 0, count: z.count)
        _ = SoftmaxCrossEntropy.apply(logits: z, labels: labels, batch: batch, classes: classes, gradient: &g)
        var worst = 0.0
        let eps: Float = 1e-2
        for i in 0..<z.count {
            let saved = z[i]
            z[i] = saved + eps
            let plus = SoftmaxCrossEntropy.apply(logits: z, labels: labels, batch: batch, classes: classes, gradient: nil).lossSum
            z[i] = saved - eps
            let minus = SoftmaxCrossEntropy.apply(logits: z, labels: labels, batch: batch, classes: classes, gradient: nil).lossSum
            z[i] = saved
            let numeric = (plus - minus) / Double(2 * eps) / Double(batch)
            worst = max(worst, GradientCheck.relativeError(Double(g[i]), numeric, floor: 1e-3))
        }
        print("SoftmaxCrossEntropy: max relative error \(worst)")
        XCTAssertLessThan(worst, 1e-2)
    }

    func testWholeMLP() {
        let model = makeModel(.mlp, imageShape: [28, 28, 1], hidden: [32, 16], seed: 9)
        let worst = GradientCheck.checkModel(model, batch: 3)
        print("MLP: max relative error \(worst.error) (\(worst.tensor)), \(worst.checked) checked, \(worst.skipped) skipped at kinks")
        XCTAssertLessThan(worst.error, 2e-2)
        XCTAssertLessThanOrEqual(worst.skipped * 10, worst.checked, "too many kinks: the check says little")
    }

    /// The composition of the layers. Each layer is checked exactly above; a
    /// whole CNN has thousands of ReLU and max-pool kinks, so a bias step
    /// (which moves a whole channel) crosses some, and the bound is looser.
    /// A wrongly routed gradient shows up as an error of order 1.
    func testWholeCNN() {
        let model = makeModel(.cnn, seed: 10)
        let worst = GradientCheck.checkModel(model, batch: 2, eps: 1e-3)
        print("CNN: max relative error \(worst.error) (\(worst.tensor)), \(worst.checked) checked, \(worst.skipped) skipped at kinks")
        XCTAssertLessThan(worst.error, 5e-2)
        XCTAssertLessThanOrEqual(worst.skipped * 10, worst.checked, "too many kinks: the check says little")
    }
}
