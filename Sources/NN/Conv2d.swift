import CDNNL
import Random

/// A 2-D convolution over channels-last images, by oneDNN's convolution
/// primitives (forward, backward-data, backward-weights).
///
/// Input [height, width, inChannels], output [outHeight, outWidth,
/// outChannels]; weights [outChannels, kernel, kernel, inChannels], bias
/// [outChannels], plain in the flat store. Activations stay channels-last
/// (oneDNN's nhwc) between layers; the weights are reordered into the layout
/// the primitives prefer before each forward, and the weight gradient back
/// into the store's plain layout after each backward.
public final class Conv2d: Layer {
    public let name: String
    public let inChannels: Int
    public let outChannels: Int
    let geometry: ConvGeometry
    /// Set by `Model` when a ReLU follows: forward then writes max(conv, 0)
    /// (a oneDNN post-op), and the ReLU layer's forward is skipped. Part of
    /// the plan key: a change takes effect at the next forward.
    var fusedReLU = false
    /// Set by `Model` when profiling: backward times its two passes.
    var profile: StepProfile?
    private var weight: UnsafeMutablePointer<Float>!
    private var bias: UnsafeMutablePointer<Float>!
    private var weightGradient: UnsafeMutablePointer<Float>!
    private var biasGradient: UnsafeMutablePointer<Float>!
    private var plans = PlanCache<ConvPlan>()

    public init(_ name: String, height: Int, width: Int, inChannels: Int, outChannels: Int,
                kernel: Int, stride: Int = 1, padding: Int = 0) {
        precondition(height > 0 && width > 0 && inChannels > 0 && outChannels > 0 && kernel > 0 && stride > 0
                     && padding >= 0, "Conv2d \(name): sizes must be positive")
        precondition(padding < kernel, "Conv2d \(name): padding must be smaller than the kernel")
        self.name = name
        self.inChannels = inChannels
        self.outChannels = outChannels
        geometry = ConvGeometry(height: height, width: width, channels: inChannels, kernelHeight: kernel,
                                kernelWidth: kernel, stride: stride, padding: padding)
        precondition(geometry.outHeight > 0 && geometry.outWidth > 0, "Conv2d \(name): kernel larger than padded input")
    }

    public var inputShape: [Int] { [geometry.height, geometry.width, inChannels] }
    public var outputShape: [Int] { [geometry.outHeight, geometry.outWidth, outChannels] }
    public var parameterShapes: [(name: String, shape: [Int])] {
        [("weight", [outChannels, geometry.kernelHeight, geometry.kernelWidth, inChannels]), ("bias", [outChannels])]
    }

    package func bind(parameters: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>) {
        let n = outChannels * geometry.patch
        weight = parameters
        bias = parameters + n
        weightGradient = gradients
        biasGradient = gradients + n
    }

    public func initialize(_ rng: inout SeededGenerator) {
        heNormal(weight, count: outChannels * geometry.patch, fanIn: geometry.patch, &rng)
        bias.update(repeating: 0, count: outChannels)
    }

    package func freshCopy() -> Layer {
        Conv2d(name, height: geometry.height, width: geometry.width, inChannels: inChannels, outChannels: outChannels,
               kernel: geometry.kernelHeight, stride: geometry.stride, padding: geometry.padding)
    }

    private func plan(_ batch: Int) -> ConvPlan {
        plans.plan(PlanKey(batch: batch, fusedReLU: fusedReLU)) {
            ConvPlan(geometry, outChannels: outChannels, batch: batch, fusedReLU: fusedReLU)
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
        p.weights.load(from: weight)
        p.src.point(at: input)
        p.dst.point(at: output)
        p.bias.point(at: bias)
        p.forward.execute([(DNNL_ARG_SRC, p.src), (DNNL_ARG_WEIGHTS, p.weights.inPrimitiveLayout),
                           (DNNL_ARG_BIAS, p.bias), (DNNL_ARG_DST, p.dst)])
    }

    package func backward(
        input: UnsafePointer<Float>, output: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>,
        inputGradient dx: UnsafeMutablePointer<Float>?, batch: Int
    ) {
        let p = plan(batch)
        p.src.point(at: input)
        p.diffDst.point(at: dy)
        p.bias.point(at: biasGradient)
        p.weightGradient.plain.point(at: weightGradient)
        let t0 = profile?.now() ?? 0
        p.backwardWeights.execute([(DNNL_ARG_SRC, p.src), (DNNL_ARG_DIFF_DST, p.diffDst),
                                   (DNNL_ARG_DIFF_WEIGHTS, p.weightGradient.inPrimitiveLayout), (DNNL_ARG_DIFF_BIAS, p.bias)])
        p.weightGradient.writeBack()
        profile?.add(layer: name, pass: "backward weights", since: t0)
        if let dx {
            let t1 = profile?.now() ?? 0
            defer { profile?.add(layer: name, pass: "backward data", since: t1) }
            // The weights of the last forward, already in the forward's layout.
            let weights = p.backwardDataWeights ?? p.weights
            if p.backwardDataWeights != nil { weights.load(from: weight) }
            p.diffSrc.point(at: dx)
            p.backwardData.execute([(DNNL_ARG_DIFF_DST, p.diffDst), (DNNL_ARG_WEIGHTS, weights.inPrimitiveLayout),
                                    (DNNL_ARG_DIFF_SRC, p.diffSrc)])
        }
    }
}

/// A tensor the flat store keeps plain and a primitive may want in another
/// layout: a reorder each way when the layouts differ, nothing when they agree.
final class PlainMirror {
    let plain: DNNLMemory
    let inPrimitiveLayout: DNNLMemory
    private let toPrimitive: DNNLPrimitive?
    private let toPlain: DNNLPrimitive?

    init(plain plainDesc: dnnl_memory_desc_t, primitive: dnnl_memory_desc_t) {
        plain = DNNLMemory(plainDesc)
        if sameLayout(plainDesc, primitive) {
            inPrimitiveLayout = plain
            toPrimitive = nil
            toPlain = nil
        } else {
            inPrimitiveLayout = DNNLMemory(owning: primitive)
            toPrimitive = DNNLPrimitive(reorderFrom: plainDesc, to: primitive)
            toPlain = DNNLPrimitive(reorderFrom: primitive, to: plainDesc)
        }
    }

    /// Makes `inPrimitiveLayout` hold the plain tensor at `source`.
    func load(from source: UnsafePointer<Float>) {
        plain.point(at: source)
        toPrimitive?.execute([(DNNL_ARG_FROM, plain), (DNNL_ARG_TO, inPrimitiveLayout)])
    }

    /// Copies `inPrimitiveLayout` into the plain buffer `plain` points at.
    /// When the layouts agree they are one memory object, so point `plain`
    /// at the destination before the primitive writes it.
    func writeBack() {
        toPlain?.execute([(DNNL_ARG_FROM, inPrimitiveLayout), (DNNL_ARG_TO, plain)])
    }
}

/// The primitives and memory objects of one Conv2d at one batch size.
private final class ConvPlan {
    let forward, backwardData, backwardWeights: DNNLPrimitive
    let src, dst, diffSrc, diffDst, bias: DNNLMemory
    let weights: PlainMirror
    /// Set when backward-data wants the weights in another layout than forward.
    let backwardDataWeights: PlainMirror?
    let weightGradient: PlainMirror

    init(_ g: ConvGeometry, outChannels: Int, batch: Int, fusedReLU: Bool) {
        let srcDesc = memoryDesc([batch, g.channels, g.height, g.width], dnnl_nhwc)
        let dstDesc = memoryDesc([batch, outChannels, g.outHeight, g.outWidth], dnnl_nhwc)
        let weightDims = [outChannels, g.channels, g.kernelHeight, g.kernelWidth]
        let plainWeights = memoryDesc(weightDims, dnnl_ohwi)
        var anyWeights = memoryDesc(weightDims, dnnl_format_tag_any)
        var biasDesc = memoryDesc([outChannels], dnnl_a)
        var (s, d) = (srcDesc, dstDesc)
        let lists = [[g.stride, g.stride], [g.padding, g.padding], [g.paddingBottom, g.paddingRight]]

        let attributes = fusedReLU ? reluPostOp() : nil
        defer { if let attributes { dnnl_primitive_attr_destroy(attributes) } }

        var fd = dnnl_convolution_desc_t()
        var bd = dnnl_convolution_desc_t()
        var wd = dnnl_convolution_desc_t()
        withDims(lists) { p in
            dnnlCheck(dnnl_convolution_forward_desc_init(&fd, dnnl_forward_training, dnnl_convolution_direct, &s, &anyWeights,
                                                         &biasDesc, &d, p[0], p[1], p[2]), "convolution_forward_desc_init")
            dnnlCheck(dnnl_convolution_backward_data_desc_init(&bd, dnnl_convolution_direct, &s, &anyWeights, &d,
                                                               p[0], p[1], p[2]), "convolution_backward_data_desc_init")
            dnnlCheck(dnnl_convolution_backward_weights_desc_init(&wd, dnnl_convolution_direct, &s, &anyWeights, &biasDesc,
                                                                  &d, p[0], p[1], p[2]), "convolution_backward_weights_desc_init")
        }
        forward = DNNLPrimitive("convolution forward", &fd, attributes: attributes)
        backwardData = DNNLPrimitive("convolution backward data", &bd, hint: forward)
        backwardWeights = DNNLPrimitive("convolution backward weights", &wd, hint: forward)

        src = DNNLMemory(srcDesc)
        dst = DNNLMemory(dstDesc)
        diffSrc = DNNLMemory(srcDesc)
        diffDst = DNNLMemory(dstDesc)
        bias = DNNLMemory(biasDesc)
        let forwardLayout = forward.desc(dnnl_query_weights_md)
        weights = PlainMirror(plain: plainWeights, primitive: forwardLayout)
        let dataLayout = backwardData.desc(dnnl_query_weights_md)
        backwardDataWeights = sameLayout(dataLayout, forwardLayout) ? nil : PlainMirror(plain: plainWeights, primitive: dataLayout)
        weightGradient = PlainMirror(plain: plainWeights, primitive: backwardWeights.desc(dnnl_query_diff_weights_md))
        precondition(sameLayout(forward.desc(dnnl_query_src_md), srcDesc) && sameLayout(forward.desc(dnnl_query_dst_md), dstDesc))
    }
}
