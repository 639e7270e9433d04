import CDNNL
import Random

/// Max pooling over channels-last images with a square window of `size` and
/// stride `size` (windows do not overlap; a ragged edge is dropped), by
/// oneDNN's pooling primitives. Forward keeps oneDNN's workspace (which
/// element of each window won) for backward. Ties go to the first element of
/// the window in row-major order.
public final class MaxPool2d: Layer {
    public let name: String
    public let size: Int
    private let height, width, channels: Int
    private var plans: [Int: PoolPlan] = [:]

    public init(_ name: String, height: Int, width: Int, channels: Int, size: Int = 2) {
        precondition(size > 0 && height >= size && width >= size && channels > 0, "MaxPool2d \(name): bad sizes")
        self.name = name
        self.size = size
        self.height = height
        self.width = width
        self.channels = channels
    }

    public var inputShape: [Int] { [height, width, channels] }
    public var outputShape: [Int] { [height / size, width / size, channels] }
    public var parameterShapes: [(name: String, shape: [Int])] { [] }
    public func bind(parameters: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>) {}
    public func initialize(_ rng: inout SeededGenerator) {}

    private func plan(_ batch: Int) -> PoolPlan {
        if let p = plans[batch] { return p }
        let p = PoolPlan(height: height, width: width, channels: channels, size: size, batch: batch)
        plans[batch] = p
        return p
    }

    /// The implementations oneDNN picked for `batch` (forward, backward).
    func implementations(batch: Int) -> [String] {
        let p = plan(batch)
        return [p.forward.implementation, p.backward.implementation]
    }

    public func forward(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, batch: Int) {
        let p = plan(batch)
        p.src.point(at: input)
        p.dst.point(at: output)
        p.forward.execute([(DNNL_ARG_SRC, p.src), (DNNL_ARG_DST, p.dst), (DNNL_ARG_WORKSPACE, p.workspace)])
    }

    /// Routes each output gradient to the element that won its window in the
    /// last forward at this batch size.
    public func backward(
        input: UnsafePointer<Float>, output: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>,
        inputGradient dx: UnsafeMutablePointer<Float>?, batch: Int
    ) {
        guard let dx else { return }
        let p = plan(batch)
        p.dst.point(at: dy)
        p.src.point(at: dx)
        p.backward.execute([(DNNL_ARG_DIFF_DST, p.dst), (DNNL_ARG_WORKSPACE, p.workspace), (DNNL_ARG_DIFF_SRC, p.src)])
    }
}

/// The pooling primitives of one MaxPool2d at one batch size, nhwc.
private final class PoolPlan {
    let forward, backward: DNNLPrimitive
    /// Input (forward) or input gradient (backward); output or output gradient.
    let src, dst: DNNLMemory
    let workspace: DNNLMemory

    init(height: Int, width: Int, channels: Int, size: Int, batch: Int) {
        let (oh, ow) = (height / size, width / size)
        var srcDesc = memoryDesc([batch, channels, height, width], dnnl_nhwc)
        var dstDesc = memoryDesc([batch, channels, oh, ow], dnnl_nhwc)
        // padding_r = oh * size - height <= 0 drops a ragged edge.
        let lists = [[size, size], [size, size], [0, 0], [oh * size - height, ow * size - width]]
        var fd = dnnl_pooling_desc_t()
        var bd = dnnl_pooling_desc_t()
        withDims(lists) { p in
            dnnlCheck(dnnl_pooling_forward_desc_init(&fd, dnnl_forward_training, dnnl_pooling_max, &srcDesc, &dstDesc,
                                                     p[0], p[1], p[2], p[3]), "pooling_forward_desc_init")
            dnnlCheck(dnnl_pooling_backward_desc_init(&bd, dnnl_pooling_max, &srcDesc, &dstDesc, p[0], p[1], p[2], p[3]),
                      "pooling_backward_desc_init")
        }
        forward = DNNLPrimitive("max pooling forward", &fd)
        backward = DNNLPrimitive("max pooling backward", &bd, hint: forward)
        src = DNNLMemory(srcDesc)
        dst = DNNLMemory(dstDesc)
        workspace = DNNLMemory(owning: forward.desc(dnnl_query_workspace_md))
    }
}
