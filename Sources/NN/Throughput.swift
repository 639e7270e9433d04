#if canImport(Glibc)
import Glibc
#endif
import Random

/// What `measureTrainingThroughput` found.
public struct ThroughputResult: Sendable {
    public let model: String
    public let batch: Int
    public let steps: Int
    public let seconds: Double
    public let parameters: Int
    public var samplesPerSecond: Double { Double(batch * steps) / seconds }
}

/// Times `steps` full training steps (forward, loss, backward, SGD with
/// momentum 0.9) of `model` on random inputs after `warmup` untimed steps.
/// The data does not change the arithmetic, so random inputs measure the
/// same work as real images.
public func measureTrainingThroughput(
    model: Model, batch: Int, steps: Int, warmup: Int = 5, seed: UInt64 = 1
) -> ThroughputResult {
    precondition(batch > 0 && steps > 0, "batch and steps must be positive")
    var rng = SeededGenerator(seed: seed, stream: 7)
    let features = (0..<batch * model.inputCount).map { _ in Float(rng.nextGaussian()) }
    let labels = (0..<batch).map { _ in Int32(rng.nextIndex(below: model.classes)) }
    let sgd = SGD(parameterCount: model.parameterCount, learningRate: 0.01, momentum: 0.9)
    func step() {
        features.withUnsafeBufferPointer { x in
            labels.withUnsafeBufferPointer { y in
                _ = model.trainStep(features: x.baseAddress!, labels: y.baseAddress!, batch: batch)
            }
        }
        sgd.step(parameters: model.store.parameters, gradients: model.store.gradients)
    }
    for _ in 0..<warmup { step() }
    var start = timespec()
    var end = timespec()
    clock_gettime(CLOCK_MONOTONIC, &start)
    for _ in 0..<steps { step() }
    clock_gettime(CLOCK_MONOTONIC, &end)
    let seconds = Double(end.tv_sec - start.tv_sec) + Double(end.tv_nsec - start.tv_nsec) * 1e-9
    return ThroughputResult(model: model.name, batch: batch, steps: steps, seconds: seconds, parameters: model.parameterCount)
}
