import Random

/// One layer: a forward/backward pair over flat, batch-major buffers.
///
/// Shapes are per sample: images are [height, width, channels] (channels
/// last), vectors are [features]. A batch is `batch` samples back to back.
/// The model binds each layer to its slice of the flat parameter and
/// gradient buffers before first use.
package protocol Layer: AnyObject {
    var name: String { get }
    var inputShape: [Int] { get }
    var outputShape: [Int] { get }
    /// The layer's tensors in storage order: (tensor name, shape).
    var parameterShapes: [(name: String, shape: [Int])] { get }

    /// Points the layer at its parameters and gradients (same offsets).
    func bind(parameters: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>)
    /// Fills the bound parameters (He/Kaiming normal weights, zero biases).
    func initialize(_ rng: inout SeededGenerator)
    /// Computes `output` (batch x outputCount) from `input` (batch x inputCount).
    func forward(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, batch: Int)
    /// Given dL/d(output), overwrites the parameter gradients with dL/d(params)
    /// and, when `inputGradient` is non-nil, writes dL/d(input). `input` and
    /// `output` are the buffers of the last `forward` on this batch.
    func backward(
        input: UnsafePointer<Float>, output: UnsafePointer<Float>, outputGradient: UnsafePointer<Float>,
        inputGradient: UnsafeMutablePointer<Float>?, batch: Int)
    /// A new layer of the same name and configuration: unbound, unfused,
    /// with no primitives made yet (`Model.split` builds its halves of them).
    func freshCopy() -> Layer
}

extension Layer {
    package var inputCount: Int { inputShape.reduce(1, *) }
    package var outputCount: Int { outputShape.reduce(1, *) }
    package var parameterCount: Int { parameterShapes.reduce(0) { $0 + $1.shape.reduce(1, *) } }
}

/// He/Kaiming normal initialization for ReLU networks: N(0, 2 / fanIn).
func heNormal(_ weights: UnsafeMutablePointer<Float>, count: Int, fanIn: Int, _ rng: inout SeededGenerator) {
    let std = (2.0 / Double(fanIn)).squareRoot()
    for i in 0..<count { weights[i] = Float(rng.nextGaussian() * std) }
}

/// A layer whose forward can apply max(x, 0) to its output (a oneDNN post-op),
/// so that the ReLU after it costs no pass of its own. `Model` sets it before
/// the first forward.
protocol ReLUFusable: AnyObject {
    var fusedReLU: Bool { get set }
}

extension Conv2d: ReLUFusable {}
extension Linear: ReLUFusable {}

/// A layer whose backward runs two primitives (weights, then data) and times
/// each into `profile` as "backward weights" and "backward data"; `Model`
/// sets it and then does not time the layer's backward as a whole.
protocol BackwardPassesTimed: AnyObject {
    var profile: StepProfile? { get set }
}

extension Conv2d: BackwardPassesTimed {}
extension Linear: BackwardPassesTimed {}

/// A layer that runs oneDNN primitives: the implementations oneDNN picked at
/// a batch size (e.g. "brg:avx512_core", "jit:avx2", "gemm:jit").
protocol KernelBacked: AnyObject {
    func implementations(batch: Int) -> [String]
}

extension Conv2d: KernelBacked {}
extension Linear: KernelBacked {}
extension ReLU: KernelBacked {}
