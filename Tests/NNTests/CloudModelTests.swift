@testable import NN
import Random
import XCTest

/// The cloud model of split learning with distillation (`makeCloudModel`).
final class CloudModelTests: XCTestCase {
    func parametricLayers(_ model: Model) -> Int { model.layers.filter { $0.parameterCount > 0 }.count }

    /// At every cut of the default MLP and CNN, the cloud model takes the
    /// cut's activations and is deeper and larger than the back half.
    func testCloudModelTakesTheCutAndOutgrowsEveryBackHalf() throws {
        for kind in ModelKind.allCases {
            let model = makeModel(kind, seed: 41)
            for cut in model.cutLayerNames {
                let (front, back) = try model.split(at: cut)
                let cloud = makeCloudModel(inputShape: front.layers.last!.outputShape, classes: model.classes, seed: 42)
                let what = "\(kind) cut at \(cut): cloud \(cloud.parameterCount) parameters in \(parametricLayers(cloud)) layers, "
                    + "back \(back.parameterCount) in \(parametricLayers(back))"
                print(what)
                XCTAssertEqual(cloud.inputShape, back.inputShape, what)
                XCTAssertEqual(cloud.classes, back.classes, what)
                XCTAssertGreaterThan(cloud.parameterCount, back.parameterCount, what)
                XCTAssertGreaterThan(parametricLayers(cloud), parametricLayers(back), what)
            }
        }
    }

    /// The documented layer sequences, on an image and on a vector.
    func testArchitecture() {
        let image = makeCloudModel(inputShape: [7, 7, 64], seed: 1)
        XCTAssertEqual(image.layers.map(\.name), [
            "conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1", "conv2_1", "relu2_1", "conv2_2", "relu2_2", "pool2",
            "flatten", "fc1", "fc1_relu", "fc2", "fc2_relu", "fc3", "fc3_relu", "fc4",
        ])
        XCTAssertEqual(image.layers[10].inputShape, [1, 1, 128], "7 -> 3 -> 1")
        // A side below 2 after the first stage leaves out the second.
        XCTAssertEqual(makeCloudModel(inputShape: [3, 2, 5], seed: 1).layers.filter { $0 is MaxPool2d }.count, 1)
        let vector = makeCloudModel(inputShape: [128], classes: 7, seed: 1)
        XCTAssertEqual(vector.layers.map(\.outputShape), [[512], [512], [256], [256], [128], [128], [7]])
    }

    /// Trained by distillation from a fixed teacher (alpha 0.5, T 2) on a
    /// small separable batch, on an image cut and a vector cut, its loss falls
    /// to under a quarter within 30 steps. The loss can fall that far: the
    /// student logits 4 x onehot(y) meet the teacher's soft targets, with a
    /// loss of 0.02, against about 1.4 for an untrained model.
    func testCloudModelLearnsFromSoftLabels() {
        for shape in [[6, 6, 8], [24]] {
            let cloud = makeCloudModel(inputShape: shape, classes: 3, seed: 43)
            let batch = 12
            let features = shape.reduce(1, *)
            var rng = SeededGenerator(seed: 44)
            let labels = (0..<batch).map { Int32($0 % 3) }
            let x = labels.flatMap { y in (0..<features).map { i in Float(i % 3 == Int(y) ? 1 : 0) + Float(rng.nextGaussian() * 0.1) } }
            let teacher = labels.flatMap { y in (0..<3).map { $0 == Int(y) ? Float(4) : 0 } }
            let sgd = SGD(parameterCount: cloud.parameterCount, learningRate: 0.02, momentum: 0.9)
            var losses = [Double]()
            for _ in 0..<30 {
                losses.append(cloud.distillationStep(features: x, labels: labels, teacherLogits: teacher, temperature: 2,
                                                     alpha: 0.5, batch: batch).loss)
                sgd.step(parameters: cloud.store.parameters, gradients: cloud.store.gradients)
            }
            print("cloud \(shape): loss \(losses.first!) -> \(losses.last!)")
            XCTAssertLessThan(losses.last!, losses.first! / 4, "cloud \(shape): \(losses)")
        }
    }
}
