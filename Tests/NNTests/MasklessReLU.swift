@testable import NN
import Random

/// A deliberately broken layer for the tests that show the gradient checks
/// catch a wrong backward: ReLU forward, but the backward passes the output
/// gradient through without the mask.
final class MasklessReLU: Layer {
    let name: String
    let inputShape: [Int]
    init(_ name: String, shape: [Int]) {
        self.name = name
        inputShape = shape
    }
    var outputShape: [Int] { inputShape }
    var parameterShapes: [(name: String, shape: [Int])] { [] }
    func bind(parameters: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>) {}
    func initialize(_ rng: inout SeededGenerator) {}
    func freshCopy() -> Layer { MasklessReLU(name, shape: inputShape) }
    func forward(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, batch: Int) {
        for i in 0..<batch * inputCount { output[i] = max(input[i], 0) }
    }
    func backward(
        input: UnsafePointer<Float>, output: UnsafePointer<Float>, outputGradient: UnsafePointer<Float>,
        inputGradient: UnsafeMutablePointer<Float>?, batch: Int
    ) {
        inputGradient?.update(from: outputGradient, count: batch * inputCount)
    }
}
