extension Model {
    /// The names `split(at:)` takes, in layer order: every layer but the
    /// last, less each Conv2d or Linear whose ReLU is fused into it.
    public var cutLayerNames: [String] {
        layers.indices.dropLast().filter { !Self.isFusedReLU(layers, $0 + 1) }.map { layers[$0].name }
    }

    /// Cuts the model after the layer named `cut` into a front half (the
    /// layers up to and including `cut`) and a back half (the rest), for
    /// split learning: the front's output is the back's input. Each half is a
    /// new model with its own layers and store, holding this model's current
    /// parameters bit for bit (the front's store is the first
    /// `front.parameterCount` entries of this store, the back's the rest), so
    /// a split run and an unsplit run from the same seed start identical.
    ///
    /// The halves compute what this model computes, to the bit: the front
    /// keeps every ReLU fused into its Conv2d or Linear, so each layer runs
    /// the same oneDNN primitive as here. A cut between a ReLU and the max
    /// pooling after it (the CNN's `relu1`, `relu2`) moves that ReLU's
    /// backward from the pool's output size (see `Model`) back to full size
    /// in the front: the back's input gradient is the routed, unmasked one
    /// and the front masks it. Both give the same values, since the element
    /// that won a window holds the pooled value and every other element gets
    /// 0 either way (a masked zero may differ in sign, which no later sum
    /// turns into a nonzero difference).
    ///
    /// Refused, with an `NNError` naming `cut` and listing `cutLayerNames`:
    /// a name that is no layer; the last layer (an empty back half); a Conv2d
    /// or Linear whose ReLU is fused into it, since the front would then run
    /// it without the post-op, another primitive whose sums may round
    /// differently, and the device would send pre-activations: cut at the
    /// ReLU instead.
    public func split(at cut: String) throws -> (front: Model, back: Model) {
        let k = try Self.cutIndex(layers, at: cut, model: name)
        // Any seed: the parameters are overwritten with this model's next.
        let front = Model(name: "\(name)-front", layers: layers[...k].map { $0.freshCopy() }, seed: 0)
        let back = Model(name: "\(name)-back", layers: layers[(k + 1)...].map { $0.freshCopy() }, seed: 0)
        let parameters = store.copyParameters()
        front.store.loadParameters(Array(parameters[..<front.parameterCount]))
        back.store.loadParameters(Array(parameters[front.parameterCount...]))
        return (front, back)
    }
}

extension Model {
    /// The index of the layer named `cut` in `layers`, if `split(at:)` may
    /// cut there; else its `NNError`.
    static func cutIndex(_ layers: [Layer], at cut: String, model name: String) throws -> Int {
        let valid = layers.indices.dropLast().filter { !isFusedReLU(layers, $0 + 1) }.map { layers[$0].name }
        guard let k = layers.firstIndex(where: { $0.name == cut }) else {
            throw NNError.unknownCutLayer(name: cut, model: name, valid: valid)
        }
        guard k < layers.count - 1 else { throw NNError.cutAtLastLayer(name: cut, model: name, valid: valid) }
        guard !isFusedReLU(layers, k + 1) else {
            throw NNError.cutBeforeFusedReLU(name: cut, relu: layers[k + 1].name, model: name, valid: valid)
        }
        return k
    }
}

/// `makeModel`'s model cut at a layer, with only the halves a rank needs
/// built (split learning: a device holds the front, an edge server the
/// back, and neither the whole model), and the sizes every rank needs.
public struct SplitModel {
    /// The halves asked for, nil otherwise. A half built alone takes its
    /// parameters from the seed starting at its own first layer: the front's
    /// are the whole model's front (the model initializes its layers in
    /// order from one stream), the back's are not. Load the global ones.
    public let front: Model?
    public let back: Model?
    public let frontParameterCount: Int
    public let backParameterCount: Int
    /// The back's input shape: the front's output.
    public let cutShape: [Int]
    /// `multiplyAddsPerSample` of the back half.
    public let backMultiplyAddsPerSample: Int
}

/// Builds the halves of `makeModel(kind, ...)` cut at `cut` (as
/// `Model.split(at:)` cuts, with its refusals), each alone: `front` and
/// `back` say which to build. The halves are named as `split(at:)` names them.
public func makeSplitModel(
    _ kind: ModelKind, imageShape: [Int] = [28, 28, 1], classes: Int = 10, hidden: [Int] = [256, 128], cut: String,
    seed: UInt64, front buildFront: Bool, back buildBack: Bool
) throws -> SplitModel {
    let layers = modelLayers(kind, imageShape: imageShape, classes: classes, hidden: hidden)
    let k = try Model.cutIndex(layers, at: cut, model: kind.rawValue)
    let (frontLayers, backLayers) = (Array(layers[...k]), Array(layers[(k + 1)...]))
    return SplitModel(
        front: buildFront ? Model(name: "\(kind.rawValue)-front", layers: frontLayers, seed: seed) : nil,
        back: buildBack ? Model(name: "\(kind.rawValue)-back", layers: backLayers, seed: seed) : nil,
        frontParameterCount: frontLayers.reduce(0) { $0 + $1.parameterCount },
        backParameterCount: backLayers.reduce(0) { $0 + $1.parameterCount },
        cutShape: layers[k].outputShape, backMultiplyAddsPerSample: Model.multiplyAdds(backLayers))
}

extension Model {
    /// Multiply-adds of one sample's forward pass through the Linear and
    /// Conv2d layers (in x out per Linear, output positions x output
    /// channels x kernel patch per Conv2d; ReLU, pooling and flattening
    /// count 0). A training step's backward costs about twice the forward
    /// (the data and weight gradients), so a step is about 3x this; the
    /// cloud-edge mode costs a back half's work with it.
    public var multiplyAddsPerSample: Int { Self.multiplyAdds(layers) }

    static func multiplyAdds(_ layers: [Layer]) -> Int {
        layers.reduce(0) { total, layer in
            switch layer {
            case let l as Linear: return total + l.inFeatures * l.outFeatures
            case let c as Conv2d: return total + c.outputCount * c.geometry.patch
            default: return total
            }
        }
    }
}
