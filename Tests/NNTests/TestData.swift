@testable import NN
import Random

/// `n` standard normal Floats from `seed`: the same values on every run.
func gaussian(_ n: Int, seed: UInt64) -> [Float] {
    var rng = SeededGenerator(seed: seed)
    return (0..<n).map { _ in Float(rng.nextGaussian()) }
}

/// The CNN's layer sequence on 12 x 12 images, with `relu` making its ReLUs.
func smallCNN(relu: (String, [Int]) -> Layer = { ReLU($0, shape: $1) }) -> Model {
    Model(name: "small-cnn", layers: [
        Conv2d("conv1", height: 12, width: 12, inChannels: 1, outChannels: 8, kernel: 5, padding: 2),
        relu("relu1", [12, 12, 8]),
        MaxPool2d("pool1", height: 12, width: 12, channels: 8),
        Conv2d("conv2", height: 6, width: 6, inChannels: 8, outChannels: 16, kernel: 5, padding: 2),
        relu("relu2", [6, 6, 16]),
        MaxPool2d("pool2", height: 6, width: 6, channels: 16),
        Flatten("flatten", shape: [3, 3, 16]),
        Linear("fc1", inFeatures: 144, outFeatures: 32),
        relu("relu3", [32]),
        Linear("fc2", inFeatures: 32, outFeatures: 10),
    ], seed: 11)
}
