/// A request the NN module refuses: the one error type of the module.
public enum NNError: Error, CustomStringConvertible, Equatable, Sendable {
    /// `Model.split(at:)` was given `name`, which is no layer of `model`.
    /// `valid` lists the names it takes (`Model.cutLayerNames`).
    case unknownCutLayer(name: String, model: String, valid: [String])
    /// `Model.split(at:)` was given the last layer of `model`: the back half
    /// would be empty.
    case cutAtLastLayer(name: String, model: String, valid: [String])
    /// `Model.split(at:)` was given a Conv2d or Linear whose following ReLU
    /// (`relu`) the model fuses into it; cutting between them would change
    /// the kernels the halves run (see `Model.split(at:)`).
    case cutBeforeFusedReLU(name: String, relu: String, model: String, valid: [String])

    public var description: String {
        switch self {
        case let .unknownCutLayer(name, model, valid):
            "cut layer '\(name)' is not a layer of model \(model); valid cut layers: \(valid.joined(separator: ", "))"
        case let .cutAtLastLayer(name, model, valid):
            "cut layer '\(name)' is the last layer of model \(model) and would leave the back half empty; "
                + "valid cut layers: \(valid.joined(separator: ", "))"
        case let .cutBeforeFusedReLU(name, relu, model, valid):
            "cut layer '\(name)' of model \(model) has its ReLU '\(relu)' fused into it; cut at '\(relu)' instead; "
                + "valid cut layers: \(valid.joined(separator: ", "))"
        }
    }
}
