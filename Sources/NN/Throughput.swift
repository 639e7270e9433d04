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
/// momentum 0.9) of `model` on random inputs after `warmup` untimed steps,
/// on `clock` (seconds; the caller's, as NN keeps no clock).
/// With `model.profile` set, the profile then holds the timed steps only.
/// The data does not change the arithmetic, so random inputs measure the
/// same work as real images.
public func measureTrainingThroughput(
    model: Model, batch: Int, steps: Int, warmup: Int = 5, seed: UInt64 = 1, clock: () -> Double
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
        let t0 = model.profile?.now() ?? 0
        sgd.step(parameters: model.store.parameters, gradients: model.store.gradients)
        model.profile?.add(layer: "sgd", pass: "step", since: t0)
    }
    for _ in 0..<warmup { step() }
    model.profile?.reset()
    let start = clock()
    for _ in 0..<steps { step() }
    let seconds = clock() - start
    return ThroughputResult(model: model.name, batch: batch, steps: steps, seconds: seconds, parameters: model.parameterCount)
}
