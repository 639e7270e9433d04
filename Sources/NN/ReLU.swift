import CDNNL
import Random

/// max(x, 0), element-wise, any shape, by oneDNN's eltwise primitives.
/// Backward reads the output (dx = dy where y > 0), so a ReLU fused into the
/// layer before it (see `Model`) needs nothing but its output.
public final class ReLU: Layer {
    public let name: String
    public let inputShape: [Int]
    private var plans = PlanCache<ReLUPlan>()

    public init(_ name: String, shape: [Int]) {
        self.name = name
        self.inputShape = shape
    }

    public var outputShape: [Int] { inputShape }
    public var parameterShapes: [(name: String, shape: [Int])] { [] }
    package func bind(parameters: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>) {}
    public func initialize(_ rng: inout SeededGenerator) {}
    package func freshCopy() -> Layer { ReLU(name, shape: inputShape) }

    private func plan(_ batch: Int) -> ReLUPlan {
        plans.plan(PlanKey(batch: batch)) { ReLUPlan(count: inputCount, batch: batch) }
    }

    /// The implementations oneDNN picked for `batch` (forward, backward).
    func implementations(batch: Int) -> [String] {
        let p = plan(batch)
        return [p.forward.implementation, p.backward.implementation]
    }

    package func forward(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, batch: Int) {
        let p = plan(batch)
        p.src.point(at: input)
        p.dst.point(at: output)
        p.forward.execute([(DNNL_ARG_SRC, p.src), (DNNL_ARG_DST, p.dst)])
    }

    package func backward(
        input: UnsafePointer<Float>, output: UnsafePointer<Float>, outputGradient: UnsafePointer<Float>,
        inputGradient: UnsafeMutablePointer<Float>?, batch: Int
    ) {
        guard let inputGradient else { return }
        let p = plan(batch)
        p.dst.point(at: output)
        p.src.point(at: outputGradient)
        p.diffSrc.point(at: inputGradient)
        p.backward.execute([(DNNL_ARG_DST, p.dst), (DNNL_ARG_DIFF_DST, p.src), (DNNL_ARG_DIFF_SRC, p.diffSrc)])
    }
}

/// The eltwise primitives of one ReLU at one batch size, over [batch, count].
private final class ReLUPlan {
    let forward, backward: DNNLPrimitive
    /// Input in forward, output gradient in backward.
    let src: DNNLMemory
    let dst, diffSrc: DNNLMemory

    init(count: Int, batch: Int) {
        var desc = memoryDesc([batch, count], dnnl_nc)
        var fd = dnnl_eltwise_desc_t()
        var bd = dnnl_eltwise_desc_t()
        dnnlCheck(dnnl_eltwise_forward_desc_init(&fd, dnnl_forward_training, dnnl_eltwise_relu_use_dst_for_bwd, &desc, 0, 0),
                  "eltwise_forward_desc_init")
        dnnlCheck(dnnl_eltwise_backward_desc_init(&bd, dnnl_eltwise_relu_use_dst_for_bwd, &desc, &desc, 0, 0),
                  "eltwise_backward_desc_init")
        forward = DNNLPrimitive("relu forward", &fd)
        backward = DNNLPrimitive("relu backward", &bd, hint: forward)
        src = DNNLMemory(desc)
        dst = DNNLMemory(desc)
        diffSrc = DNNLMemory(desc)
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
    package func bind(parameters: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>) {}
    public func initialize(_ rng: inout SeededGenerator) {}
    package func freshCopy() -> Layer { Flatten(name, shape: inputShape) }

    package func forward(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, batch: Int) {
        output.update(from: input, count: batch * inputCount)
    }

    package func backward(
        input: UnsafePointer<Float>, output: UnsafePointer<Float>, outputGradient: UnsafePointer<Float>,
        inputGradient: UnsafeMutablePointer<Float>?, batch: Int
    ) {
        inputGradient?.update(from: outputGradient, count: batch * inputCount)
    }
}
