/// How the values of a sparse block travel (byte 2 of its header; see
/// `SparseBlock.encode(into:values:)`). Positions and counts are the same in
/// every format; in memory a block always holds Float32 values, so merges
/// work as before and a ring hop that re-encodes requantizes what it summed.
///
/// - `float32`: 4 bytes a value, exact (the format before value formats
///   existed: byte 2 was a reserved 0).
/// - `float16`: 2 bytes a value, rounded to nearest binary16 and clamped to
///   +-65504, with `Float16Codec`'s error bound (2^-11 |v| for |v| >= 2^-14,
///   2^-25 below). With UInt16 positions an entry is 4 bytes instead of 6.
/// - `int8`: 1 byte a value, q = round(127 v / m) in -127...127 (ties to
///   even), m the largest magnitude among the values the group holds in
///   this block, sent as one Float32 scale per group of the block; error at
///   most m / 254 (plus Float32 rounding, as `ScaledInt8Codec`'s nearest
///   rounding). An entry is 3 bytes plus 4 / k per group.
///
/// The quantized formats refuse NaN and infinity (a scale cannot hold them,
/// and binary16 would turn a large finite sum into one); `float32` carries
/// them as Group-TopK always has.
public enum SparseValueFormat: UInt8, Sendable, CaseIterable {
    case float32 = 0, float16 = 1, int8 = 2

    /// Bytes of one value on the wire.
    public var valueBytes: Int {
        switch self {
        case .float32: return 4
        case .float16: return 2
        case .int8: return 1
        }
    }

    /// Bytes of the per-group scales of a block of `groups` groups.
    public func scaleBytes(groups: Int) -> Int { self == .int8 ? 4 * groups : 0 }

    /// The name in codec names and messages: `float32`, `fp16`, `int8`.
    public var name: String {
        switch self {
        case .float32: return "float32"
        case .float16: return "fp16"
        case .int8: return "int8"
        }
    }
}
