import Random

/// A sequence of layers over one flat parameter store.
///
/// Owns the activations of the last forward pass and two ping-pong gradient
/// buffers, sized for the largest batch seen so far. Not thread-safe: one
/// model per rank.
///
/// A ReLU right after a Conv2d or Linear is fused into it: that layer's
/// forward applies max(x, 0) as a oneDNN post-op on its output, the ReLU's
/// forward is skipped and its output is the same buffer. Backward is
/// unchanged (ReLU backward reads only its output).
///
/// A ReLU followed by max pooling runs its backward at the pool's output size
/// (4x fewer elements for 2x2 windows): the element that won a window holds
/// the pooled value, so masking dy where the pooled output is not positive
/// and then routing it through the pool gives exactly the gradient that
/// routing first and masking at full size gives; every other element gets 0
/// either way.
public final class Model {
    public let name: String
    package let layers: [Layer]
    public let store: ParameterStore
    public let classes: Int
    /// When set, forward and backward time each layer into it (Conv2d and
    /// Linear split backward into its weights and data passes).
    public var profile: StepProfile? {
        didSet { for case let layer as BackwardPassesTimed in layers { layer.profile = profile } }
    }
    /// fused[i]: layer i is a ReLU computed by layer i - 1's forward.
    private let fused: [Bool]
    /// poolMasks[i]: layer i is a MaxPool2d after a ReLU (not the first
    /// layer); backward runs that ReLU's backward at the pool's output size.
    private let poolMasks: [Int: ReLU]
    private var capacity = 0
    /// outputs[i] holds layer i's output for the current batch.
    private var outputs: [UnsafeMutablePointer<Float>] = []
    private var gradientA: UnsafeMutablePointer<Float>?
    private var gradientB: UnsafeMutablePointer<Float>?

    /// Builds the store, binds every layer to its slice, and initializes the
    /// parameters from `seed`: the same seed gives bitwise-identical weights
    /// on every rank and every run.
    package init(name: String, layers: [Layer], seed: UInt64) {
        precondition(!layers.isEmpty, "a model needs at least one layer")
        for i in 1..<layers.count {
            precondition(layers[i - 1].outputCount == layers[i].inputCount,
                         "\(layers[i - 1].name) gives \(layers[i - 1].outputShape) but \(layers[i].name) takes \(layers[i].inputShape)")
        }
        self.name = name
        self.layers = layers
        let fused = layers.indices.map { Self.isFusedReLU(layers, $0) }
        for i in layers.indices where fused[i] { (layers[i - 1] as? ReLUFusable)?.fusedReLU = true }
        self.fused = fused
        var poolMasks = [Int: ReLU]()
        for i in layers.indices where i >= 2 && layers[i] is MaxPool2d && layers[i - 1] is ReLU {
            poolMasks[i] = ReLU(layers[i - 1].name, shape: layers[i].outputShape)
        }
        self.poolMasks = poolMasks
        classes = layers.last!.outputCount
        store = ParameterStore(tensors: layers.flatMap { layer in
            layer.parameterShapes.map { (layer: layer.name, name: $0.name, shape: $0.shape) }
        })
        var offset = 0
        var rng = SeededGenerator(seed: seed, stream: 0x6D6F_6465_6C)  // "model"
        for layer in layers {
            layer.bind(parameters: store.parameters.baseAddress! + offset, gradients: store.gradients.baseAddress! + offset)
            layer.initialize(&rng)
            offset += layer.parameterCount
        }
    }

    deinit { release() }

    /// Whether `layers[i]` is a ReLU that a model of `layers` fuses into the
    /// layer before it.
    static func isFusedReLU(_ layers: [Layer], _ i: Int) -> Bool {
        i > 0 && layers[i] is ReLU && layers[i - 1] is ReLUFusable
    }

    private func release() {
        for (i, p) in outputs.enumerated() where !fused[i] { p.deallocate() }
        gradientA?.deallocate()
        gradientB?.deallocate()
        outputs = []
    }

    public var inputShape: [Int] { layers[0].inputShape }
    public var inputCount: Int { layers[0].inputCount }
    public var parameterCount: Int { store.count }

    private func reserve(batch: Int) {
        guard batch > capacity else { return }
        release()
        capacity = batch
        outputs = []
        for (i, layer) in layers.enumerated() {
            outputs.append(fused[i] ? outputs[i - 1] : .allocate(capacity: batch * layer.outputCount))
        }
        let widest = layers.map { max($0.inputCount, $0.outputCount) }.max()!
        gradientA = .allocate(capacity: batch * widest)
        gradientB = .allocate(capacity: batch * widest)
    }

    /// Runs the layers on `features` (batch x inputCount) and returns the
    /// logits (batch x classes), valid until the next call.
    @discardableResult
    package func forward(features: UnsafePointer<Float>, batch: Int) -> UnsafePointer<Float> {
        precondition(batch > 0, "batch must be positive")
        reserve(batch: batch)
        var input = features
        for (i, layer) in layers.enumerated() {
            if !fused[i] {
                let t0 = profile?.now() ?? 0
                layer.forward(input, outputs[i], batch: batch)
                profile?.add(layer: layer.name, pass: "forward", since: t0)
            }
            input = UnsafePointer(outputs[i])
        }
        return input
    }

    /// Forward, softmax cross-entropy and backward on one batch. Overwrites
    /// `store.gradients` with the gradient of the mean loss and, when
    /// `inputGradient` is given (batch x inputCount), writes dL/d(features)
    /// into it. Returns the mean loss and the number of correct predictions.
    package func trainStep(
        features: UnsafePointer<Float>, labels: UnsafePointer<Int32>, batch: Int,
        inputGradient: UnsafeMutablePointer<Float>? = nil
    ) -> (loss: Double, correct: Int) {
        step(features: features, batch: batch, inputGradient: inputGradient) { logits, gradient in
            SoftmaxCrossEntropy.apply(logits: logits, labels: labels, batch: batch, classes: classes, gradient: gradient)
        }
    }

    /// `trainStep` with the distillation loss (`DistillationLoss`) against
    /// `teacherLogits` (batch x classes) at `temperature` and weight `alpha`
    /// on the soft targets. Returns the mean distillation loss and the number
    /// of correct predictions.
    package func distillationStep(
        features: UnsafePointer<Float>, labels: UnsafePointer<Int32>, teacherLogits: UnsafePointer<Float>,
        temperature: Double, alpha: Double, batch: Int, inputGradient: UnsafeMutablePointer<Float>? = nil
    ) -> (loss: Double, correct: Int) {
        step(features: features, batch: batch, inputGradient: inputGradient) { logits, gradient in
            DistillationLoss.apply(logits: logits, teacherLogits: teacherLogits, labels: labels, batch: batch,
                                   classes: classes, temperature: temperature, alpha: alpha, gradient: gradient)
        }
    }

    /// Forward, `loss` (summed loss and correct count; writes dL/dlogits of
    /// the mean loss into its second argument), then backward.
    private func step(
        features: UnsafePointer<Float>, batch: Int, inputGradient: UnsafeMutablePointer<Float>?,
        loss: (UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> (lossSum: Double, correct: Int)
    ) -> (loss: Double, correct: Int) {
        let logits = forward(features: features, batch: batch)
        let t0 = profile?.now() ?? 0
        let (lossSum, correct) = loss(logits, gradientA!)
        profile?.add(layer: "loss", pass: "forward+backward", since: t0)
        backward(features: features, outputGradient: gradientA!, inputGradient: inputGradient, batch: batch)
        return (lossSum / Double(batch), correct)
    }

    /// Backward through every layer from dL/d(output) (`outputGradient`,
    /// batch x outputCount), after a `forward` of the same `features` and
    /// batch: overwrites `store.gradients` with dL/d(parameters) and, when
    /// `inputGradient` is given (batch x inputCount), writes dL/d(features)
    /// into it. `outputGradient` is only read; it may be the model's own
    /// buffer (as `trainStep` passes it) or the caller's.
    package func backward(
        features: UnsafePointer<Float>, outputGradient: UnsafePointer<Float>,
        inputGradient: UnsafeMutablePointer<Float>?, batch: Int
    ) {
        precondition(batch <= capacity, "backward of batch \(batch) without its forward")
        var dy = outputGradient
        // A work buffer that is not `other`.
        func scratch(besides other: UnsafePointer<Float>) -> UnsafeMutablePointer<Float> {
            other == UnsafePointer(gradientA!) ? gradientB! : gradientA!
        }
        var i = layers.count - 1
        while i >= 0 {
            if let mask = poolMasks[i] {
                // ReLU (i - 1) then max pooling (i): mask dy where the pooled
                // output is not positive, at the pool's output size, then route.
                let masked = scratch(besides: dy)
                let routed = scratch(besides: UnsafePointer(masked))
                let t0 = profile?.now() ?? 0
                mask.backward(input: outputs[i], output: outputs[i], outputGradient: dy, inputGradient: masked, batch: batch)
                profile?.add(layer: layers[i - 1].name, pass: "backward", since: t0)
                let t1 = profile?.now() ?? 0
                layers[i].backward(input: outputs[i - 1], output: outputs[i], outputGradient: masked, inputGradient: routed,
                                   batch: batch)
                profile?.add(layer: layers[i].name, pass: "backward", since: t1)
                dy = UnsafePointer(routed)
                i -= 2
                continue
            }
            let input = i == 0 ? features : UnsafePointer(outputs[i - 1])
            let dx = i == 0 ? inputGradient : scratch(besides: dy)
            let t0 = profile?.now() ?? 0
            layers[i].backward(input: input, output: outputs[i], outputGradient: dy, inputGradient: dx, batch: batch)
            if !(layers[i] is BackwardPassesTimed) { profile?.add(layer: layers[i].name, pass: "backward", since: t0) }
            if let dx { dy = UnsafePointer(dx) }
            i -= 1
        }
    }

    /// Per layer run by oneDNN (fused ReLUs left out), the implementations
    /// oneDNN picked at `batch`: forward, then backward ones.
    public func kernelImplementations(batch: Int) -> [(layer: String, implementations: [String])] {
        layers.indices.compactMap { i in
            guard !fused[i], let k = layers[i] as? KernelBacked else { return nil }
            return (layers[i].name, k.implementations(batch: batch))
        }
    }

    /// Summed loss and correct count of one batch, without gradients.
    package func evaluate(features: UnsafePointer<Float>, labels: UnsafePointer<Int32>, batch: Int) -> (lossSum: Double, correct: Int) {
        let logits = forward(features: features, batch: batch)
        return SoftmaxCrossEntropy.apply(logits: logits, labels: labels, batch: batch, classes: classes, gradient: nil)
    }
}
