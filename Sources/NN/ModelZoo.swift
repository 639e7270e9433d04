/// The models `edgetrain` builds by name.
public enum ModelKind: String, CaseIterable, Sendable {
    /// 784-256-128-10 by default (hidden sizes configurable), ReLU.
    case mlp
    /// conv5x5x32 (pad 2), ReLU, maxpool 2, conv5x5x64 (pad 2), ReLU,
    /// maxpool 2, fc128, ReLU, fc10: the CNN of McMahan et al. 2017 with a
    /// 128-unit hidden layer.
    case cnn
}

/// Builds a model for images of `imageShape` ([height, width, channels]).
/// `hidden` sets the MLP's hidden layer sizes; the CNN ignores it.
public func makeModel(
    _ kind: ModelKind, imageShape: [Int] = [28, 28, 1], classes: Int = 10, hidden: [Int] = [256, 128], seed: UInt64
) -> Model {
    Model(name: kind.rawValue, layers: modelLayers(kind, imageShape: imageShape, classes: classes, hidden: hidden), seed: seed)
}

/// `makeModel`'s layers, not yet bound to a store.
func modelLayers(_ kind: ModelKind, imageShape: [Int], classes: Int, hidden: [Int]) -> [Layer] {
    precondition(imageShape.count == 3, "image shape is [height, width, channels]")
    let (h, w, c) = (imageShape[0], imageShape[1], imageShape[2])
    var layers = [Layer]()
    switch kind {
    case .mlp:
        var width = h * w * c
        for (i, units) in hidden.enumerated() {
            layers.append(Linear("fc\(i + 1)", inFeatures: width, outFeatures: units))
            layers.append(ReLU("relu\(i + 1)", shape: [units]))
            width = units
        }
        layers.append(Linear("fc\(hidden.count + 1)", inFeatures: width, outFeatures: classes))
    case .cnn:
        layers.append(Conv2d("conv1", height: h, width: w, inChannels: c, outChannels: 32, kernel: 5, padding: 2))
        layers.append(ReLU("relu1", shape: [h, w, 32]))
        layers.append(MaxPool2d("pool1", height: h, width: w, channels: 32))
        let (h2, w2) = (h / 2, w / 2)
        layers.append(Conv2d("conv2", height: h2, width: w2, inChannels: 32, outChannels: 64, kernel: 5, padding: 2))
        layers.append(ReLU("relu2", shape: [h2, w2, 64]))
        layers.append(MaxPool2d("pool2", height: h2, width: w2, channels: 64))
        let (h3, w3) = (h2 / 2, w2 / 2)
        layers.append(Flatten("flatten", shape: [h3, w3, 64]))
        layers.append(Linear("fc1", inFeatures: h3 * w3 * 64, outFeatures: 128))
        layers.append(ReLU("relu3", shape: [128]))
        layers.append(Linear("fc2", inFeatures: 128, outFeatures: classes))
    }
    return layers
}

/// Builds the cloud model of split learning with distillation: a deeper,
/// larger model whose input is a cut layer's activations (`inputShape`:
/// [features], or [height, width, channels] channels last), which teaches the
/// back half that shares that input and learns from it in turn.
///
/// On an image input, up to two VGG-style stages (Simonyan and Zisserman
/// 2015) of 64 and then 128 channels, each conv3x3 (pad 1), ReLU, conv3x3
/// (pad 1), ReLU, maxpool 2; a stage is added while both sides are at least
/// 2. Then flatten, and the head that a vector input gets alone: fc512,
/// ReLU, fc256, ReLU, fc128, ReLU, fc`classes`. He-normal weights from
/// `seed`.
///
/// Against the back halves of `makeModel`'s defaults it has more parametric
/// layers at every cut (4 to 8 against at most 3) and more parameters: at
/// the CNN's `pool2` cut ([7, 7, 64]) 0.53 M against the back's 0.40 M, the
/// tightest case; at the MLP's `relu1` ([256]) 0.30 M against 0.03 M.
public func makeCloudModel(inputShape: [Int], classes: Int = 10, seed: UInt64) -> Model {
    precondition(inputShape.count == 1 || inputShape.count == 3, "cloud input shape is [features] or [height, width, channels]")
    precondition(inputShape.allSatisfy { $0 > 0 } && classes > 1, "cloud model: bad shape \(inputShape) or classes \(classes)")
    var layers = [Layer]()
    var width = inputShape[0]
    if inputShape.count == 3 {
        var (h, w, c) = (inputShape[0], inputShape[1], inputShape[2])
        for (stage, channels) in [64, 128].enumerated() where min(h, w) >= 2 {
            for k in 1...2 {
                let id = "\(stage + 1)_\(k)"
                layers.append(Conv2d("conv\(id)", height: h, width: w, inChannels: c, outChannels: channels, kernel: 3, padding: 1))
                layers.append(ReLU("relu\(id)", shape: [h, w, channels]))
                c = channels
            }
            layers.append(MaxPool2d("pool\(stage + 1)", height: h, width: w, channels: c))
            (h, w) = (h / 2, w / 2)
        }
        layers.append(Flatten("flatten", shape: [h, w, c]))
        width = h * w * c
    }
    for (i, units) in [512, 256, 128].enumerated() {
        layers.append(Linear("fc\(i + 1)", inFeatures: width, outFeatures: units))
        layers.append(ReLU("fc\(i + 1)_relu", shape: [units]))
        width = units
    }
    layers.append(Linear("fc4", inFeatures: width, outFeatures: classes))
    return Model(name: "cloud", layers: layers, seed: seed)
}
