@testable import NN
import Random
import XCTest

/// Analytic gradients against Float64 finite differences (`GradientCheck`),
/// layer by layer with per-entry rounding bounds, then whole models, then
/// deliberately broken backwards that the checks must reject.
final class GradientTests: XCTestCase {
    /// A layer passes when every checked entry is within its rounding bound.
    func assertWithinBound(_ e: GradientCheck.LayerResult, _ what: String, parameters: Bool = true,
                           file: StaticString = #filePath, line: UInt = #line) {
        print("\(what): worst error/bound params \(e.parameters.ratio) (abs \(e.parameters.error)), "
              + "inputs \(e.inputs.ratio) (abs \(e.inputs.error))")
        if parameters { XCTAssertLessThanOrEqual(e.parameters.ratio, 1, what, file: file, line: line) }
        XCTAssertLessThanOrEqual(e.inputs.ratio, 1, what, file: file, line: line)
    }

    func testLinear() {
        let layer = Linear("fc", inFeatures: 13, outFeatures: 7)
        assertWithinBound(GradientCheck.checkLayer(layer, batch: 5, input: gaussian(5 * 13, seed: 3)), "Linear")
    }

    func testReLU() {
        // Inputs kept away from the kink at 0, farther than the step.
        let x = gaussian(4 * 30, seed: 4).map { $0 >= 0 ? $0 + 0.1 : $0 - 0.1 }
        assertWithinBound(GradientCheck.checkLayer(ReLU("relu", shape: [30]), batch: 4, input: x), "ReLU", parameters: false)
    }

    func testFlatten() {
        let e = GradientCheck.checkLayer(Flatten("flat", shape: [3, 4, 2]), batch: 3, input: gaussian(3 * 24, seed: 5))
        assertWithinBound(e, "Flatten", parameters: false)
    }

    func testConv2dWithStridesAndPadding() {
        let cases: [(h: Int, w: Int, c: Int, oc: Int, k: Int, s: Int, p: Int)] = [
            (7, 6, 3, 4, 3, 1, 1), (8, 8, 2, 3, 5, 2, 2), (6, 7, 2, 2, 2, 2, 0), (5, 5, 1, 3, 5, 1, 2), (9, 7, 3, 2, 3, 3, 1),
        ]
        for t in cases {
            let layer = Conv2d("conv", height: t.h, width: t.w, inChannels: t.c, outChannels: t.oc, kernel: t.k,
                               stride: t.s, padding: t.p)
            let batch = 3
            let e = GradientCheck.checkLayer(layer, batch: batch, input: gaussian(batch * layer.inputCount, seed: 6))
            assertWithinBound(e, "Conv2d \(t)")
        }
    }

    func testMaxPool2d() {
        // Distinct values 0.05 apart: a step of 1e-3 never changes a winner.
        var rng = SeededGenerator(seed: 7)
        var x = (0..<2 * 6 * 6 * 8).map { Float($0) * 0.05 }
        rng.shuffle(&x)
        for channels in [8, 3] {
            let layer = MaxPool2d("pool", height: 6, width: 6, channels: channels)
            let e = GradientCheck.checkLayer(layer, batch: 2, input: Array(x.prefix(2 * 36 * channels)))
            assertWithinBound(e, "MaxPool2d (\(channels) channels)", parameters: false)
        }
    }

    /// dL/dz = (softmax(z) - onehot) / batch in Float32 against a Float64
    /// central difference of the Float64 loss. Bound: exp within 2 ulp (glibc
    /// documents expf within 1), a sum of `classes` terms (gamma_10), a
    /// reciprocal and two products: at most (4 + 10 + 1 + 2 + 1) u of
    /// softmax / batch <= 18 u / batch, plus u |g| for the subtraction, plus
    /// the Double side (truncation h^2 |L'''| / 6 <= 1e-10 at h = 1e-5, and
    /// rounding 1e-16 / h).
    func testSoftmaxCrossEntropy() {
        let batch = 4, classes = 10
        let z = gaussian(batch * classes, seed: 8).map { $0 * 3 }
        let labels: [Int32] = [0, 3, 9, 3]
        var g = [Float](repeating: 0, count: z.count)
        _ = SoftmaxCrossEntropy.apply(logits: z, labels: labels, batch: batch, classes: classes, gradient: &g)
        func loss(_ z: [Double]) -> Double {
            (0..<batch).reduce(0.0) { sum, b in
                let row = z[b * classes..<(b + 1) * classes]
                let m = row.max()!
                return sum + log(row.reduce(0.0) { $0 + exp($1 - m) }) - (row[b * classes + Int(labels[b])] - m)
            } / Double(batch)
        }
        let h = 1e-5
        var worst = 0.0
        var z64 = z.map(Double.init)
        for i in 0..<z64.count {
            let saved = z64[i]
            z64[i] = saved + h
            let plus = loss(z64)
            z64[i] = saved - h
            let minus = loss(z64)
            z64[i] = saved
            let numeric = (plus - minus) / (2 * h)
            let bound = 18 * GradientCheck.u32 / Double(batch) + GradientCheck.u32 * abs(Double(g[i])) + 1e-9
            worst = max(worst, abs(Double(g[i]) - numeric) / bound)
        }
        print("SoftmaxCrossEntropy: worst error/bound \(worst)")
        XCTAssertLessThanOrEqual(worst, 1)
    }

    func testWholeMLP() {
        let model = makeModel(.mlp, imageShape: [28, 28, 1], hidden: [32, 16], seed: 9)
        assertPasses(GradientCheck.checkModel(model, batch: 3), "MLP")
    }

    /// The CNN that `train --model cnn` builds, whole.
    func testWholeCNN() {
        assertPasses(GradientCheck.checkModel(makeModel(.cnn, seed: 10), batch: 2), "CNN")
    }

    /// The cloud model whole, on a cut of 6x6x8 (conv stages at 6x6 and
    /// 3x3, then the fc stack) and on a flat cut of 24, under
    /// `GradientCheck.modelBound`. That bound's derivation holds here too:
    /// the chain is longer (8 parametric layers, 4 in the bound's models) but
    /// the sums are shorter, none over K = 1152 terms (conv2_2's backward,
    /// 3 x 3 x 128), so each layer's forward and backward err by at most
    /// gamma_1152 = 6.9e-5, and 8 layers x 2 x 6.9e-5 = 1.1e-3, the same ~1e-3
    /// as 4 x 2 x gamma_3136 there, with the same 10x left over. On [24] the
    /// chain is 4 fc layers with K at most 512.
    func testWholeCloudModel() {
        let conv = makeCloudModel(inputShape: [6, 6, 8], classes: 10, seed: 11)
        let worst = GradientCheck.checkModel(conv, batch: 2)
        assertPasses(worst, "cloud model on 6x6x8")
        XCTAssertEqual(Set(worst.byTensor.keys), Set(conv.store.spans.map(\.name)), "every tensor checked")
        XCTAssertEqual(conv.store.spans.count, 16, "4 convolutions and 4 fc layers, weights and biases")
        let flat = makeCloudModel(inputShape: [24], classes: 10, seed: 12)
        let flatWorst = GradientCheck.checkModel(flat, batch: 3)
        assertPasses(flatWorst, "cloud model on 24")
        XCTAssertEqual(Set(flatWorst.byTensor.keys), Set(flat.store.spans.map(\.name)), "every tensor checked")
        XCTAssertEqual(flat.store.spans.count, 8, "4 fc layers, weights and biases")
    }

    /// The check has power on the cloud model: gradients routed to the
    /// wrong tensor (the first entries of two biases swapped) fail there.
    func testCloudModelWithSwappedGradientSpansFails() {
        let model = makeCloudModel(inputShape: [24], classes: 10, seed: 12)
        let worst = GradientCheck.checkModel(model, batch: 3) { store in
            let a = store.span(named: "fc1.bias")!, b = store.span(named: "fc3.bias")!
            for i in 0..<min(a.count, b.count) { store.gradients.swapAt(a.offset + i, b.offset + i) }
        }
        XCTAssertGreaterThan(worst.byTensor["fc1.bias"] ?? 0, 10 * GradientCheck.modelBound)
        XCTAssertGreaterThan(worst.byTensor["fc3.bias"] ?? 0, 10 * GradientCheck.modelBound)
    }

    func testSmallCNN() {
        assertPasses(GradientCheck.checkModel(smallCNN(), batch: 3), "small CNN")
    }

    /// A backward that drops the ReLU mask gives order-1 errors in the layers
    /// below it, and the check fails.
    func testDroppedReLUMaskFails() {
        let worst = GradientCheck.checkModel(smallCNN(relu: { MasklessReLU($0, shape: $1) }), batch: 3)
        print("maskless ReLU: max relative error \(worst.error) (\(worst.tensor)); \(worst.byTensor)")
        XCTAssertGreaterThan(worst.error, 10 * GradientCheck.modelBound)
        for tensor in ["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc1.weight", "fc1.bias"] {
            XCTAssertGreaterThan(worst.byTensor[tensor] ?? 0, GradientCheck.modelBound, tensor)
        }
        XCTAssertLessThan(worst.byTensor["fc2.weight"] ?? 1, GradientCheck.modelBound, "fc2 sits above every ReLU")
    }

    /// Gradients routed to the wrong tensor (two spans' first entries swapped)
    /// fail in both tensors and nowhere else.
    func testSwappedGradientSpansFail() {
        let model = smallCNN()
        let worst = GradientCheck.checkModel(model, batch: 3) { store in
            let a = store.span(named: "conv2.bias")!, b = store.span(named: "fc1.bias")!
            for i in 0..<min(a.count, b.count) { store.gradients.swapAt(a.offset + i, b.offset + i) }
        }
        print("swapped spans: \(worst.byTensor)")
        XCTAssertGreaterThan(worst.byTensor["conv2.bias"] ?? 0, 10 * GradientCheck.modelBound)
        XCTAssertGreaterThan(worst.byTensor["fc1.bias"] ?? 0, 10 * GradientCheck.modelBound)
        for (tensor, error) in worst.byTensor where tensor != "conv2.bias" && tensor != "fc1.bias" {
            XCTAssertLessThan(error, GradientCheck.modelBound, tensor)
        }
    }
}
