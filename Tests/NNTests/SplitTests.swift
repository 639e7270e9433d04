@testable import NN
import XCTest

/// A model cut at a named layer (`Model.split(at:)`): what it refuses, that
/// its halves compute exactly what the unsplit model computes, and the back
/// half's input gradient against finite differences.
final class SplitTests: XCTestCase {
    func testCutLayerNames() {
        XCTAssertEqual(makeModel(.mlp, seed: 1).cutLayerNames, ["relu1", "relu2"])
        XCTAssertEqual(makeModel(.cnn, seed: 1).cutLayerNames, ["relu1", "pool1", "relu2", "pool2", "flatten", "relu3"])
    }

    func assertRefused(_ model: Model, _ cut: String, _ expected: NNError, _ text: String, line: UInt = #line) {
        XCTAssertThrowsError(try model.split(at: cut), line: line) { error in
            XCTAssertEqual(error as? NNError, expected, line: line)
            XCTAssertEqual("\(error)", text, line: line)
        }
    }

    func testRefusedCuts() {
        let mlp = makeModel(.mlp, seed: 1), cnn = makeModel(.cnn, seed: 1)
        let mlpCuts = ["relu1", "relu2"], cnnCuts = cnn.cutLayerNames
        assertRefused(mlp, "conv1", .unknownCutLayer(name: "conv1", model: "mlp", valid: mlpCuts),
                      "cut layer 'conv1' is not a layer of model mlp; valid cut layers: relu1, relu2")
        assertRefused(mlp, "", .unknownCutLayer(name: "", model: "mlp", valid: mlpCuts),
                      "cut layer '' is not a layer of model mlp; valid cut layers: relu1, relu2")
        assertRefused(mlp, "fc3", .cutAtLastLayer(name: "fc3", model: "mlp", valid: mlpCuts),
                      "cut layer 'fc3' is the last layer of model mlp and would leave the back half empty; "
                          + "valid cut layers: relu1, relu2")
        assertRefused(cnn, "fc2", .cutAtLastLayer(name: "fc2", model: "cnn", valid: cnnCuts),
                      "cut layer 'fc2' is the last layer of model cnn and would leave the back half empty; "
                          + "valid cut layers: relu1, pool1, relu2, pool2, flatten, relu3")
        assertRefused(mlp, "fc1", .cutBeforeFusedReLU(name: "fc1", relu: "relu1", model: "mlp", valid: mlpCuts),
                      "cut layer 'fc1' of model mlp has its ReLU 'relu1' fused into it; cut at 'relu1' instead; "
                          + "valid cut layers: relu1, relu2")
        assertRefused(cnn, "conv2", .cutBeforeFusedReLU(name: "conv2", relu: "relu2", model: "cnn", valid: cnnCuts),
                      "cut layer 'conv2' of model cnn has its ReLU 'relu2' fused into it; cut at 'relu2' instead; "
                          + "valid cut layers: relu1, pool1, relu2, pool2, flatten, relu3")
    }

    /// `makeSplitModel` builds only the halves asked for, without the whole
    /// model: the same layers, sizes and refusals as `split(at:)`; the front
    /// built alone holds the whole model's front parameters bit for bit (the
    /// layers initialize in order from one stream); the back built alone
    /// needs the global one loaded.
    func testHalvesBuiltAloneMatchTheSplit() throws {
        for (kind, hidden, cut) in [(ModelKind.mlp, [32, 16], "relu1"), (.cnn, [], "pool2"), (.cnn, [], "relu1")] {
            let (front, back) = try makeModel(kind, hidden: hidden, seed: 3).split(at: cut)
            let onlyFront = try makeSplitModel(kind, hidden: hidden, cut: cut, seed: 3, front: true, back: false)
            XCTAssertNil(onlyFront.back)
            let builtFront = try XCTUnwrap(onlyFront.front)
            XCTAssertEqual(builtFront.name, front.name)
            XCTAssertEqual(builtFront.store.copyParameters().map(\.bitPattern), front.store.copyParameters().map(\.bitPattern))
            let onlyBack = try makeSplitModel(kind, hidden: hidden, cut: cut, seed: 3, front: false, back: true)
            XCTAssertNil(onlyBack.front)
            let builtBack = try XCTUnwrap(onlyBack.back)
            XCTAssertEqual(builtBack.layers.map(\.name), back.layers.map(\.name))
            XCTAssertEqual([onlyBack.frontParameterCount, onlyBack.backParameterCount], [front.parameterCount, back.parameterCount])
            XCTAssertEqual(onlyBack.cutShape, back.inputShape)
            XCTAssertEqual(onlyBack.backMultiplyAddsPerSample, back.multiplyAddsPerSample)
        }
        XCTAssertThrowsError(try makeSplitModel(.mlp, cut: "fc1", seed: 1, front: true, back: false)) {
            XCTAssertEqual($0 as? NNError, .cutBeforeFusedReLU(name: "fc1", relu: "relu1", model: "mlp", valid: ["relu1", "relu2"]))
        }
    }

    /// One training step of the split model: the front's forward, the back's
    /// train step writing dL/d(activations), the front's backward from it.
    /// Returns the loss and the two halves' gradients, front then back.
    func splitStep(_ front: Model, _ back: Model, _ x: [Float], _ labels: [Int32], batch: Int) -> (loss: Double, gradients: [Float]) {
        let activations = Array(UnsafeBufferPointer(start: front.forward(features: x, batch: batch), count: batch * back.inputCount))
        var activationGradient = [Float](repeating: .nan, count: activations.count)
        let loss = back.trainStep(features: activations, labels: labels, batch: batch, inputGradient: &activationGradient).loss
        front.backward(features: x, outputGradient: activationGradient, inputGradient: nil, batch: batch)
        return (loss, Array(front.store.gradients) + Array(back.store.gradients))
    }

    /// The halves start from the unsplit model's parameters, bit for bit, and
    /// one step gives its loss and gradients bit for bit: each half runs,
    /// layer by layer, the same primitives on the same values as the unsplit
    /// model (the cut never separates a fused ReLU from its layer), so
    /// nothing is rounded differently. At a ReLU-then-pool cut (the CNNs'
    /// relu1, relu2) the ReLU's mask moves from the pool's output to its
    /// input (`Model.split(at:)`): the same values, but a masked zero may come
    /// out as -0 where the unsplit model has +0 (as the ReLU kernel writes
    /// it), so there the gradients are compared as Float values (==, which
    /// equates the two zeros). A wrong slice, an unmasked or misrouted
    /// gradient would differ by far more than the sign of a zero.
    func testSplitStepEqualsTheUnsplitStep() throws {
        let cases: [(model: () -> Model, cuts: [String])] = [
            ({ makeModel(.mlp, seed: 31) }, ["relu1", "relu2"]),
            ({ makeModel(.cnn, seed: 32) }, ["relu1", "pool1", "relu2", "pool2", "flatten", "relu3"]),
            ({ smallCNN() }, ["relu1", "pool1", "relu2", "relu3"]),
        ]
        let batch = 3
        let labels: [Int32] = [4, 0, 9]
        for (make, cuts) in cases {
            for cut in cuts {
                let unsplit = make()
                let (front, back) = try unsplit.split(at: cut)
                let what = "\(unsplit.name) cut at \(cut)"
                XCTAssertEqual(front.layers.map(\.name) + back.layers.map(\.name), unsplit.layers.map(\.name), what)
                XCTAssertEqual(front.layers.last?.name, cut, what)
                XCTAssertEqual((Array(front.store.parameters) + Array(back.store.parameters)).map(\.bitPattern),
                               unsplit.store.parameters.map(\.bitPattern), what)
                let x = gaussian(batch * unsplit.inputCount, seed: 33)
                let loss = unsplit.trainStep(features: x, labels: labels, batch: batch).loss
                let split = splitStep(front, back, x, labels, batch: batch)
                XCTAssertEqual(split.loss.bitPattern, loss.bitPattern, what)
                let unsplitGradients = Array(unsplit.store.gradients)
                let k = unsplit.layers.firstIndex { $0.name == cut }!
                let reluThenPool = unsplit.layers[k] is ReLU && unsplit.layers[k + 1] is MaxPool2d
                let differing = zip(split.gradients, unsplitGradients).filter {
                    reluThenPool ? $0 != $1 : $0.bitPattern != $1.bitPattern
                }.count
                XCTAssertEqual(differing, 0, "\(what): \(differing) of \(unsplitGradients.count) gradients differ")
                XCTAssertTrue(unsplitGradients.contains { $0 != 0 }, what)
            }
        }
    }

    /// dL/d(activations), the gradient the edge server returns to the
    /// device, against Float64 central differences of the reference, by the
    /// rules of the whole-model checks (`GradientCheck.checkModel`): the back
    /// half is a chain of at most 3 parametric layers' Float32 sums of at
    /// most 3136 terms. With the cross-entropy loss and with distillation.
    func testBackHalfInputGradientMatchesFiniteDifferences() throws {
        let cases: [(model: Model, cut: String)] = [
            (makeModel(.mlp, hidden: [32, 16], seed: 34), "relu1"),
            (makeModel(.cnn, seed: 35), "pool2"),
            (smallCNN(), "relu1"),
            (smallCNN(), "pool1"),
        ]
        let batch = 3
        let labels: [Int32] = [2, 7, 2]
        for (model, cut) in cases {
            let back = try model.split(at: cut).back
            // Any activations will do; Gaussian ones have no ties in a pool window.
            let a = gaussian(batch * back.inputCount, seed: 36)
            var da = [Float](repeating: .nan, count: a.count)
            _ = back.trainStep(features: a, labels: labels, batch: batch, inputGradient: &da)
            assertPasses(GradientCheck.checkInputGradient(back, features: a, batch: batch, inputGradient: da) {
                Reference.crossEntropy($0, labels: labels, batch: batch)
            }, "\(model.name) back half from \(cut), input gradient")

            let teacher = gaussian(batch * back.classes, seed: 37).map { $0 * 2 }
            _ = back.distillationStep(features: a, labels: labels, teacherLogits: teacher, temperature: 2, alpha: 0.6,
                                      batch: batch, inputGradient: &da)
            assertPasses(GradientCheck.checkInputGradient(back, features: a, batch: batch, inputGradient: da) {
                Reference.distillation(student: $0, teacher: teacher.map(Double.init), labels: labels, batch: batch,
                                       temperature: 2, alpha: 0.6)
            }, "\(model.name) back half from \(cut), input gradient under distillation")
        }
    }

    /// The distillation step is the train step with another loss: at
    /// alpha = 0 its loss and gradients are the train step's, bit for bit.
    func testDistillationStepAtAlphaZeroIsTheTrainStep() {
        let model = smallCNN()
        let batch = 2
        let x = gaussian(batch * model.inputCount, seed: 38)
        let labels: [Int32] = [3, 5]
        var dx = [Float](repeating: 0, count: x.count)
        let plain = model.trainStep(features: x, labels: labels, batch: batch, inputGradient: &dx)
        let gradients = Array(model.store.gradients), inputGradient = dx
        let teacher = gaussian(batch * model.classes, seed: 39)
        let distilled = model.distillationStep(features: x, labels: labels, teacherLogits: teacher, temperature: 2, alpha: 0,
                                               batch: batch, inputGradient: &dx)
        XCTAssertEqual(distilled.loss.bitPattern, plain.loss.bitPattern)
        XCTAssertEqual(distilled.correct, plain.correct)
        XCTAssertEqual(model.store.gradients.map(\.bitPattern), gradients.map(\.bitPattern))
        XCTAssertEqual(dx.map(\.bitPattern), inputGradient.map(\.bitPattern))
        // And at alpha = 1 the teacher decides: another gradient.
        _ = model.distillationStep(features: x, labels: labels, teacherLogits: teacher, temperature: 2, alpha: 1, batch: batch)
        XCTAssertNotEqual(Array(model.store.gradients), gradients)
    }

    /// The multiply-adds the cost model charges, counted by hand, and a
    /// split's halves adding up to the whole.
    func testMultiplyAddsPerSample() throws {
        let mlp = makeModel(.mlp, seed: 1)
        XCTAssertEqual(mlp.multiplyAddsPerSample, 784 * 256 + 256 * 128 + 128 * 10)
        let cnn = makeModel(.cnn, seed: 1)
        XCTAssertEqual(cnn.multiplyAddsPerSample, 28 * 28 * 32 * 25 + 14 * 14 * 64 * (25 * 32) + 7 * 7 * 64 * 128 + 128 * 10)
        for (model, cut) in [(mlp, "relu1"), (cnn, "pool1"), (cnn, "relu2")] {
            let (front, back) = try model.split(at: cut)
            XCTAssertEqual(front.multiplyAddsPerSample + back.multiplyAddsPerSample, model.multiplyAddsPerSample, cut)
        }
    }
}
