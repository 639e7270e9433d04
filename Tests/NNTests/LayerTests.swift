@testable import NN
import Random
import XCTest

/// Forward passes against naive reference loops, initialization, storage.
final class LayerTests: XCTestCase {
    func testConv2dMatchesDirectConvolution() {
        var rng = SeededGenerator(seed: 1)
        for (h, w, c, oc, k, s, p) in [(7, 6, 3, 4, 3, 1, 1), (8, 9, 2, 3, 5, 2, 2), (5, 5, 1, 2, 5, 1, 0)] {
            let layer = Conv2d("c", height: h, width: w, inChannels: c, outChannels: oc, kernel: k, stride: s, padding: p)
            let store = ParameterStore(tensors: layer.parameterShapes.map { (layer: "c", name: $0.name, shape: $0.shape) })
            layer.bind(parameters: store.parameters.baseAddress!, gradients: store.gradients.baseAddress!)
            for i in 0..<store.count { store.parameters[i] = Float(rng.nextGaussian()) }
            let batch = 2
            let x = (0..<batch * h * w * c).map { _ in Float(rng.nextGaussian()) }
            var y = [Float](repeating: 0, count: batch * layer.outputCount)
            layer.forward(x, &y, batch: batch)
            let (oh, ow) = ((h + 2 * p - k) / s + 1, (w + 2 * p - k) / s + 1)
            XCTAssertEqual(layer.outputShape, [oh, ow, oc])
            let weight = Array(store.parameters.prefix(oc * k * k * c))
            let bias = Array(store.parameters.suffix(oc))
            // Each output is a Float32 sum of k*k*c products and the bias: whatever
            // the kernel's order or FMA use, it is within gamma_(k*k*c+1) of the
            // exact value, relative to the sum of its terms' magnitudes.
            let bound = GradientCheck.gamma(k * k * c + 1)
            var worst = 0.0
            for b in 0..<batch { for oy in 0..<oh { for ox in 0..<ow { for o in 0..<oc {
                var sum = Double(bias[o]), magnitude = abs(Double(bias[o]))
                for ky in 0..<k { for kx in 0..<k { for ch in 0..<c {
                    let iy = oy * s - p + ky, ix = ox * s - p + kx
                    guard iy >= 0, iy < h, ix >= 0, ix < w else { continue }
                    let term = Double(weight[((o * k + ky) * k + kx) * c + ch]) * Double(x[((b * h + iy) * w + ix) * c + ch])
                    sum += term
                    magnitude += abs(term)
                } } }
                worst = max(worst, abs(sum - Double(y[((b * oh + oy) * ow + ox) * oc + o])) / (bound * magnitude))
            } } } }
            XCTAssertLessThanOrEqual(worst, 1, "conv \(h)x\(w)x\(c) k\(k) s\(s) p\(p): error / bound")
        }
    }

    func testMaxPoolPicksTheLargestAndTheFirstOfTies() {
        let layer = MaxPool2d("p", height: 4, width: 4, channels: 1)
        let x: [Float] = [1, 5, 2, 2,
                          3, 4, 2, 2,
                          -1, -2, 0, 7,
                          -3, -1, 7, 1]
        var y = [Float](repeating: 0, count: 4)
        layer.forward(x, &y, batch: 1)
        XCTAssertEqual(y, [5, 2, -1, 7])
        var dx = [Float](repeating: 9, count: 16)
        layer.backward(input: x, output: y, outputGradient: [10, 20, 30, 40], inputGradient: &dx, batch: 1)
        XCTAssertEqual(dx, [0, 10, 20, 0,
                            0, 0, 0, 0,
                            30, 0, 0, 40,
                            0, 0, 0, 0])
    }

    func testSameSeedSameWeightsBitwise() {
        for kind in ModelKind.allCases {
            let a = makeModel(kind, seed: 42).store.copyParameters()
            let b = makeModel(kind, seed: 42).store.copyParameters()
            let c = makeModel(kind, seed: 43).store.copyParameters()
            XCTAssertEqual(a.map(\.bitPattern), b.map(\.bitPattern), "\(kind)")
            XCTAssertNotEqual(a, c, "\(kind)")
        }
    }

    func testHeInitializationScale() {
        let model = makeModel(.mlp, seed: 3)
        let span = model.store.span(named: "fc1.weight")!
        let w = model.store.parameters[span.range].map(Double.init)
        let variance = w.map { $0 * $0 }.reduce(0, +) / Double(w.count)
        XCTAssertEqual(variance, 2.0 / 784, accuracy: 0.05 * 2.0 / 784)
        let bias = model.store.span(named: "fc1.bias")!
        XCTAssert(model.store.parameters[bias.range].allSatisfy { $0 == 0 })
    }

    func testParameterStoreLayout() {
        let cnn = makeModel(.cnn, seed: 1)
        XCTAssertEqual(cnn.store.spans.map(\.name),
                       ["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"])
        XCTAssertEqual(cnn.store.span(named: "conv2.weight")?.shape, [64, 5, 5, 32])
        XCTAssertEqual(cnn.store.span(named: "fc1.weight")?.shape, [128, 7 * 7 * 64])
        // Spans tile the buffer with no gaps; layers are contiguous ranges.
        var next = 0
        for span in cnn.store.spans {
            XCTAssertEqual(span.offset, next)
            next += span.count
        }
        XCTAssertEqual(next, cnn.store.count)
        XCTAssertEqual(cnn.store.count, 32 * 25 + 32 + 64 * 800 + 64 + 3136 * 128 + 128 + 1280 + 10)
        XCTAssertEqual(cnn.store.layerRange("conv2"), (32 * 25 + 32)..<(32 * 25 + 32 + 64 * 800 + 64))
        let mlp = makeModel(.mlp, seed: 1)
        XCTAssertEqual(mlp.store.count, 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10)
        XCTAssertEqual(mlp.layers.map(\.name), ["fc1", "relu1", "fc2", "relu2", "fc3"])
    }

    func testSGDMatchesHandComputedSteps() {
        var w: [Float] = [1, -2]
        var g: [Float] = [0.5, 1]
        let sgd = SGD(parameterCount: 2, learningRate: 0.1, momentum: 0.9, weightDecay: 0.01)
        w.withUnsafeMutableBufferPointer { wp in g.withUnsafeMutableBufferPointer { sgd.step(parameters: wp, gradients: $0) } }
        // v = g + wd w = [0.51, 0.98]; w -= 0.1 v
        XCTAssertEqual(w[0], 0.949, accuracy: 1e-6)
        XCTAssertEqual(w[1], -2.098, accuracy: 1e-6)
        w.withUnsafeMutableBufferPointer { wp in g.withUnsafeMutableBufferPointer { sgd.step(parameters: wp, gradients: $0) } }
        // v = 0.9 [0.51, 0.98] + [0.5 + 0.00949, 1 - 0.02098]
        XCTAssertEqual(sgd.velocity[0], 0.459 + 0.50949, accuracy: 1e-6)
        XCTAssertEqual(w[0], 0.949 - 0.1 * (0.459 + 0.50949), accuracy: 1e-6)

        let nesterov = SGD(parameterCount: 1, learningRate: 0.1, momentum: 0.5, nesterov: true)
        var x: [Float] = [1]
        var d: [Float] = [2]
        for _ in 0..<2 { x.withUnsafeMutableBufferPointer { xp in d.withUnsafeMutableBufferPointer { nesterov.step(parameters: xp, gradients: $0) } } }
        // step 1: v = 2, w -= 0.1 (2 + 0.5*2) = 0.7; step 2: v = 3, w -= 0.1 (2 + 1.5) = 0.35
        XCTAssertEqual(x[0], 0.35, accuracy: 1e-6)
    }

    func testGradientHookAddsATermBeforeMomentum() {
        // FedProx: g += mu (w - w0).
        let w0: [Float] = [0, 0]
        var w: [Float] = [1, 2]
        var g: [Float] = [0, 0]
        let sgd = SGD(parameterCount: 2, learningRate: 0.5)
        sgd.gradientHook = { params, grads in
            for i in 0..<grads.count { grads[i] += 0.1 * (params[i] - w0[i]) }
        }
        w.withUnsafeMutableBufferPointer { wp in g.withUnsafeMutableBufferPointer { sgd.step(parameters: wp, gradients: $0) } }
        XCTAssertEqual(w, [0.95, 1.9])
    }

    func testTrainingReducesLossOnASeparableProblem() {
        let model = makeModel(.mlp, imageShape: [4, 4, 1], classes: 3, hidden: [16], seed: 5)
        var rng = SeededGenerator(seed: 6)
        let batch = 30
        let labels = (0..<batch).map { Int32($0 % 3) }
        let x = labels.flatMap { y in (0..<16).map { i in Float(i % 3 == Int(y) ? 1 : 0) + Float(rng.nextGaussian() * 0.1) } }
        let sgd = SGD(parameterCount: model.parameterCount, learningRate: 0.1, momentum: 0.9)
        var first = 0.0, last = 0.0
        for step in 0..<100 {
            let (loss, _) = model.trainStep(features: x, labels: labels, batch: batch)
            sgd.step(parameters: model.store.parameters, gradients: model.store.gradients)
            if step == 0 { first = loss }
            last = loss
        }
        XCTAssertLessThan(last, first / 10, "loss \(first) -> \(last)")
        XCTAssertEqual(model.evaluate(features: x, labels: labels, batch: batch).correct, batch)
    }
}
