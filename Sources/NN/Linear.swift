import CDNNL
import Random

/// A fully connected layer: y = x W^T + b, with W stored [out, in] as in
/// PyTorch, by oneDNN's inner-product primitives (forward, backward-data,
/// backward-weights) on the plain layouts of the flat store.
public final class Linear: Layer {
    public let name: String
    public let inFeatures: Int
    public let outFeatures: Int
    /// Set by `Model` when a ReLU follows: forward then writes max(xW^T + b, 0)
    /// (a oneDNN post-op), and the ReLU layer's forward is skipped. Part of
    /// the plan key: a change takes effect at the next forward.
    var fusedReLU = false
    /// Set by `Model` when profiling: backward times its two passes.
    var profile: StepProfile?
    private var weight: UnsafeMutablePointer<Float>!
    private var bias: UnsafeMutablePointer<Float>!
    private var weightGradient: UnsafeMutablePointer<Float>!
    private var biasGradient: UnsafeMutablePointer<Float>!
    private var plans = PlanCache<LinearPlan>()

    public init(_ name: String, inFeatures: Int, outFeatures: Int) {
        precondition(inFeatures > 0 && outFeatures > 0, "Linear \(name): features must be positive")
        self.name = name
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
    }

    public var inputShape: [Int] { [inFeatures] }
    public var outputShape: [Int] { [outFeatures] }
    public var parameterShapes: [(name: String, shape: [Int])] {
        [("weight", [outFeatures, inFeatures]), ("bias", [outFeatures])]
    }

    package func bind(parameters: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>) {
        weight = parameters
        bias = parameters + outFeatures * inFeatures
        weightGradient = gradients
        biasGradient = gradients + outFeatures * inFeatures
    }

    public func initialize(_ rng: inout SeededGenerator) {
        heNormal(weight, count: outFeatures * inFeatures, fanIn: inFeatures, &rng)
        bias.update(repeating: 0, count: outFeatures)
    }

    package func freshCopy() -> Layer { Linear(name, inFeatures: inFeatures, outFeatures: outFeatures) }

    private func plan(_ batch: Int) -> LinearPlan {
        plans.plan(PlanKey(batch: batch, fusedReLU: fusedReLU)) {
            LinearPlan(inFeatures: inFeatures, outFeatures: outFeatures, batch: batch, fusedReLU: fusedReLU)
        }
    }

    /// The implementations oneDNN picked for `batch` (forward, backward-data,
    /// backward-weights).
    func implementations(batch: Int) -> [String] {
        let p = plan(batch)
        return [p.forward.implementation, p.backwardData.implementation, p.backwardWeights.implementation]
    }

    package func forward(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, batch: Int) {
        let p = plan(batch)
        p.src.point(at: input)
        p.dst.point(at: output)
        p.weights.point(at: weight)
        p.bias.point(at: bias)
        p.forward.execute([(DNNL_ARG_SRC, p.src), (DNNL_ARG_WEIGHTS, p.weights), (DNNL_ARG_BIAS, p.bias), (DNNL_ARG_DST, p.dst)])
    }

    package func backward(
        input: UnsafePointer<Float>, output: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>,
        inputGradient dx: UnsafeMutablePointer<Float>?, batch: Int
    ) {
        let p = plan(batch)
        p.src.point(at: input)
        p.diffDst.point(at: dy)
        p.weights.point(at: weightGradient)
        p.bias.point(at: biasGradient)
        let t0 = profile?.now() ?? 0
        p.backwardWeights.execute([(DNNL_ARG_SRC, p.src), (DNNL_ARG_DIFF_DST, p.diffDst),
                                   (DNNL_ARG_DIFF_WEIGHTS, p.weights), (DNNL_ARG_DIFF_BIAS, p.bias)])
        profile?.add(layer: name, pass: "backward weights", since: t0)
        if let dx {
            let t1 = profile?.now() ?? 0
            defer { profile?.add(layer: name, pass: "backward data", since: t1) }
            p.weights.point(at: weight)
            p.diffSrc.point(at: dx)
            p.backwardData.execute([(DNNL_ARG_DIFF_DST, p.diffDst), (DNNL_ARG_WEIGHTS, p.weights), (DNNL_ARG_DIFF_SRC, p.diffSrc)])
        }
    }
}

/// The primitives and memory objects of one Linear at one batch size. All
/// tensors are plain row-major, so the store's weights and gradients are used
/// in place.
private final class LinearPlan {
    let forward, backwardData, backwardWeights: DNNLPrimitive
    let src, dst, diffSrc, diffDst, weights, bias: DNNLMemory

    init(inFeatures: Int, outFeatures: Int, batch: Int, fusedReLU: Bool) {
        var srcDesc = memoryDesc([batch, inFeatures], dnnl_nc)
        var dstDesc = memoryDesc([batch, outFeatures], dnnl_nc)
        var weightDesc = memoryDesc([outFeatures, inFeatures], dnnl_oi)
        var biasDesc = memoryDesc([outFeatures], dnnl_a)
        var fd = dnnl_inner_product_desc_t()
        var bd = dnnl_inner_product_desc_t()
        var wd = dnnl_inner_product_desc_t()
        dnnlCheck(dnnl_inner_product_forward_desc_init(&fd, dnnl_forward_training, &srcDesc, &weightDesc, &biasDesc, &dstDesc),
                  "inner_product_forward_desc_init")
        dnnlCheck(dnnl_inner_product_backward_data_desc_init(&bd, &srcDesc, &weightDesc, &dstDesc),
                  "inner_product_backward_data_desc_init")
        dnnlCheck(dnnl_inner_product_backward_weights_desc_init(&wd, &srcDesc, &weightDesc, &biasDesc, &dstDesc),
                  "inner_product_backward_weights_desc_init")
        let attributes = fusedReLU ? reluPostOp() : nil
        defer { if let attributes { dnnl_primitive_attr_destroy(attributes) } }
        forward = DNNLPrimitive("inner product forward", &fd, attributes: attributes)
        backwardData = DNNLPrimitive("inner product backward data", &bd, hint: forward)
        backwardWeights = DNNLPrimitive("inner product backward weights", &wd, hint: forward)
        src = DNNLMemory(srcDesc)
        dst = DNNLMemory(dstDesc)
        diffSrc = DNNLMemory(srcDesc)
        diffDst = DNNLMemory(dstDesc)
        weights = DNNLMemory(weightDesc)
        bias = DNNLMemory(biasDesc)
    }
}
