/// Where one parameter tensor lives in the flat store.
public struct ParameterSpan: Sendable, Equatable {
    /// Full name, `<layer>.<tensor>`, e.g. `fc1.weight`.
    public let name: String
    /// The layer it belongs to, e.g. `fc1`.
    public let layer: String
    /// First element in the flat buffers.
    public let offset: Int
    /// Number of elements.
    public let count: Int
    /// Shape, row-major (Linear weights are [out, in]; Conv2d weights [out, kh, kw, in]).
    public let shape: [Int]

    public var range: Range<Int> { offset..<offset + count }
}

/// All parameters of a model in one contiguous Float buffer, and all
/// gradients in another of the same layout, with named spans per tensor and
/// per layer. One compress call and one ring call then cover the whole model,
/// and any single layer is a contiguous range (`layerRange`).
public final class ParameterStore {
    public let count: Int
    /// The parameters, `count` floats, 64-byte aligned.
    package let parameters: UnsafeMutableBufferPointer<Float>
    /// The gradients, same layout as `parameters`.
    package let gradients: UnsafeMutableBufferPointer<Float>
    public let spans: [ParameterSpan]
    /// Layer names in order, each with the contiguous range of its tensors.
    public let layers: [(name: String, range: Range<Int>)]

    /// Lays out `tensors` (layer, tensor name, shape) consecutively; all zero.
    public init(tensors: [(layer: String, name: String, shape: [Int])]) {
        var spans = [ParameterSpan]()
        var offset = 0
        var layers = [(name: String, range: Range<Int>)]()
        for t in tensors {
            let n = t.shape.reduce(1, *)
            spans.append(ParameterSpan(name: "\(t.layer).\(t.name)", layer: t.layer, offset: offset, count: n, shape: t.shape))
            if let last = layers.last, last.name == t.layer {
                layers[layers.count - 1].range = last.range.lowerBound..<offset + n
            } else {
                layers.append((t.layer, offset..<offset + n))
            }
            offset += n
        }
        count = offset
        self.spans = spans
        self.layers = layers
        parameters = Self.allocateZeroed(offset)
        gradients = Self.allocateZeroed(offset)
    }

    deinit {
        parameters.baseAddress.map { UnsafeMutableRawPointer($0).deallocate() }
        gradients.baseAddress.map { UnsafeMutableRawPointer($0).deallocate() }
    }

    static func allocateZeroed(_ count: Int) -> UnsafeMutableBufferPointer<Float> {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * 4, alignment: 64)
        raw.initializeMemory(as: Float.self, repeating: 0, count: max(count, 1))
        return UnsafeMutableBufferPointer(start: raw.assumingMemoryBound(to: Float.self), count: count)
    }

    /// The span named `name` (e.g. `fc1.weight`).
    public func span(named name: String) -> ParameterSpan? { spans.first { $0.name == name } }

    /// The contiguous range of layer `name`'s tensors.
    public func layerRange(_ name: String) -> Range<Int>? { layers.first { $0.name == name }?.range }

    /// A copy of the parameters.
    public func copyParameters() -> [Float] { Array(parameters) }

    /// Overwrites the parameters from `values` (same count).
    public func loadParameters(_ values: [Float]) {
        precondition(values.count == count, "expected \(count) parameters, got \(values.count)")
        values.withUnsafeBufferPointer { src in
            if count > 0 { parameters.baseAddress!.update(from: src.baseAddress!, count: count) }
        }
    }
}
