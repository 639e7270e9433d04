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
    return Model(name: kind.rawValue, layers: layers, seed: seed)
}
