/// What compressing a vector, or decoding and merging a sparse block or a
/// codec's message, can refuse. `description` is one line naming the
/// element, group, block or field.
public enum CompressionError: Error, CustomStringConvertible, Equatable, Sendable {
    /// Group-TopK met a NaN, which has no magnitude to rank (see `GroupTopK`):
    /// `position` is the element of the vector holding the first one, `what`
    /// names that vector ("the input", "gradient + residual", "the merged sum", ...).
    case notANumber(position: Int, what: String)
    /// `mergeReselect` was given a dense block (for `groups`), which it cannot cut back.
    case denseBlockInReselect(groups: Range<Int>)
    /// In `mergeReselect`, group `group` holds `entries` entries in the union
    /// of both blocks, fewer than the `keeps` it must keep.
    case tooFewEntriesToReselect(group: Int, entries: Int, keeps: Int)
    /// The block given to `mergeReselect` holds a NaN at element `position`
    /// of the vector (Group-TopK never sends one, so the block is malformed).
    case notANumberInBlock(position: Int)
    /// Received bytes do not decode as a block of `groups`; `reason` says what
    /// is wrong (form, size, position width or a position).
    case undecodableBlock(groups: Range<Int>, reason: String)
    /// A codec was given a value it cannot encode: a NaN or an infinity
    /// (a scale or norm cannot hold one), at element `position` of the
    /// input. `encoding` names the encoding ("qsgd", "fp16 sparse values", ...).
    case notFinite(position: Int, value: Float, encoding: String)
    /// Received bytes do not decode as an `encoding` message of the expected
    /// shape; `reason` says what is wrong (size, header field, a scale, a level).
    case undecodable(encoding: String, reason: String)

    public var description: String {
        switch self {
        case let .notANumber(position, what):
            return "NaN at element \(position) of \(what); Group-TopK cannot rank it"
        case let .denseBlockInReselect(groups):
            return "a dense block for groups \(groups), which reselect cannot merge"
        case let .tooFewEntriesToReselect(group, entries, keeps):
            return "group \(group) holds \(entries) entries in the union of both blocks, fewer than the \(keeps) it keeps"
        case let .notANumberInBlock(position):
            return "a NaN at element \(position) of the block, which reselect cannot rank"
        case let .undecodableBlock(groups, reason):
            return "bad sparse block for groups \(groups): \(reason)"
        case let .notFinite(position, value, encoding):
            return "\(value) at element \(position) of the input; the \(encoding) encoding takes finite values only"
        case let .undecodable(encoding, reason):
            return "bad \(encoding) message: \(reason)"
        }
    }
}
