/// The settings the codecs read, one field per method option (what a
/// command line's `--compression NAME` and its options fill in). Each codec
/// reads only its own: `bucketSize` is int8's and QSGD's bucket and sign's
/// group; Group-TopK has its own `groupSize` and `ratio`.
public struct CodecOptions: Sendable, Equatable {
    /// Elements per scale (int8, qsgd) or per sign group.
    public var bucketSize = 512
    /// QSGD's s.
    public var levels = 127
    /// int8's rounding.
    public var rounding = ScaledInt8Codec.Rounding.nearest
    /// Group-TopK's group size and ratio.
    public var groupSize = 1024
    public var ratio = 0.01

    public init() {}
}

/// The names `makeGradientCodec` knows, in the order a comparison lists
/// them. PowerSGD is not among them: it is not a message of one vector but
/// two all-reduces of factors per layer (`PowerSGD`).
public let gradientCodecNames = ["fp16", "int8", "qsgd", "sign", "group-topk", "group-topk-fp16", "group-topk-int8"]

/// The codec called `name` with `options`, or nil for an unknown name. The
/// options must be in range (each codec's init states its range and
/// traps otherwise: a command line checks them first).
public func makeGradientCodec(named name: String, options: CodecOptions = CodecOptions()) -> (any GradientCodec)? {
    switch name {
    case "fp16": return Float16Codec()
    case "int8": return ScaledInt8Codec(bucketSize: options.bucketSize, rounding: options.rounding)
    case "qsgd": return QSGDCodec(levels: options.levels, bucketSize: options.bucketSize)
    case "sign": return ScaledSignCodec(groupSize: options.bucketSize)
    case "group-topk": return GroupTopKCodec(groupSize: options.groupSize, ratio: options.ratio, values: .float32)
    case "group-topk-fp16": return GroupTopKCodec(groupSize: options.groupSize, ratio: options.ratio, values: .float16)
    case "group-topk-int8": return GroupTopKCodec(groupSize: options.groupSize, ratio: options.ratio, values: .int8)
    default: return nil
    }
}
