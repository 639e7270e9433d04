import Random

/// max(x, 0), element-wise, any shape.
public final class ReLU: Layer {
    public let name: String
    public let inputShape: [Int]

    public init(_ name: String, shape: [Int]) {
        self.name = name
        self.inputShape = shape
    }

    public var outputShape: [Int] { inputShape }
    public var parameterShapes: [(name: String, shape: [Int])] { [] }
    public func bind(parameters: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>) {}
    public func initialize(_ rng: inout SeededGenerator) {}

    public func forward(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, batch: Int) {
        reluForward(input, output, count: batch * inputCount)
    }

    public func backward(
        input: UnsafePointer<Float>, output: UnsafePointer<Float>, outputGradient: UnsafePointer<Float>,
        inputGradient: UnsafeMutablePointer<Float>?, batch: Int
    ) {
        guard let inputGradient else { return }
        reluBackward(output, outputGradient, inputGradient, count: batch * inputCount)
    }
}

/// Reshapes [h, w, c] (channels last) to [h * w * c]; the data is unchanged.
public final class Flatten: Layer {
    public let name: String
    public let inputShape: [Int]

    public init(_ name: String, shape: [Int]) {
        self.name = name
        self.inputShape = shape
    }

    public var outputShape: [Int] { [inputCount] }
    public var parameterShapes: [(name: String, shape: [Int])] { [] }
    public func bind(parameters: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>) {}
    public func initialize(_ rng: inout SeededGenerator) {}

    public func forward(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, batch: Int) {
        output.update(from: input, count: batch * inputCount)
    }

    public func backward(
        input: UnsafePointer<Float>, output: UnsafePointer<Float>, outputGradient: UnsafePointer<Float>,
        inputGradient: UnsafeMutablePointer<Float>?, batch: Int
    ) {
        inputGradient?.update(from: outputGradient, count: batch * inputCount)
    }
}
