import Random

/// Group-TopK with quantized values, as a `GradientCodec`: the vector is cut
/// into groups of `groupSize` and each keeps its k = max(1, round(ratio x
/// groupSize)) largest magnitudes (`GroupLayout`, `GroupTopK`); the kept
/// entries of all groups travel as one fixed-form `SparseBlock` with values
/// in `values` (float32, fp16 or int8, see `SparseValueFormat`) and UInt16
/// positions relative to the group start (UInt32 above 65,536).
///
/// Wire format: the sparse block of all groups (`SparseBlock.encode(into:values:)`):
///
///     header   4 bytes: form 0 (fixed), position bytes, value format, 0
///     scales   int8 only: one Float32 per group (largest kept magnitude)
///     values   K x (4, 2 or 1 bytes),  K = the kept entries of every group
///     positions K x UInt16 (UInt32 when groupSize > 65,536)
///
///     bytes = 4 + [int8: 4 ceil(n / G)] + K (value bytes + position bytes)
///
/// so an entry is 4 bytes with fp16 values instead of today's 6 (Float32 +
/// UInt16), and 3 + 4 / k with int8. The decoder also takes the block's
/// other forms (variable, dense), which an exact merge of two such messages
/// produces.
///
/// Deterministic; biased (it drops all but k per group): use it with error
/// feedback (`encode(gradient:residual:into:using:)`), whose residual then
/// keeps the dropped entries and the rounding of the sent ones. A NaN is
/// refused as Group-TopK refuses it (`CompressionError.notANumber`); the
/// quantized formats also refuse a selected infinity (`.notFinite`).
///
/// An instance keeps the selector of the last length it encoded: use one
/// per thread (the value codecs are plain `Sendable` structs).
public final class GroupTopKCodec: GradientCodec {
    public let groupSize: Int
    public let ratio: Double
    public let values: SparseValueFormat
    /// The selector and its output for the last length encoded.
    private var compressor: GroupTopK?
    private var selected: SparseGradient?

    public init(groupSize: Int = 1024, ratio: Double = 0.01, values: SparseValueFormat = .float16) {
        precondition(groupSize >= 1 && groupSize <= Int(UInt32.max), "group size must be in 1...\(UInt32.max), not \(groupSize)")
        precondition(ratio > 0 && ratio <= 1, "ratio must be in (0, 1], not \(ratio)")
        self.groupSize = groupSize
        self.ratio = ratio
        self.values = values
    }

    /// `group-topk` (float32 values), `group-topk-fp16`, `group-topk-int8`.
    public var name: String { values == .float32 ? "group-topk" : "group-topk-\(values.name)" }

    public func layout(count: Int) -> GroupLayout { GroupLayout(length: count, groupSize: groupSize, ratio: ratio) }

    /// 4 + [int8: 4 groups] + kept x (value bytes + position bytes).
    public func encodedBytes(count: Int) -> Int {
        let l = layout(count: count)
        return SparseBlock.headerBytes + values.scaleBytes(groups: l.groupCount)
            + l.kept(inGroups: 0..<l.groupCount) * (values.valueBytes + l.positionBytes)
    }

    public func encode(_ x: Span<Float>, into bytes: inout MutableRawSpan, using generator: inout SeededGenerator) throws {
        let l = layout(count: x.count)
        precondition(bytes.byteCount == encodedBytes(count: x.count),
                     "\(name) needs \(encodedBytes(count: x.count)) bytes for \(x.count) floats, not \(bytes.byteCount)")
        if compressor?.layout != l {
            compressor = GroupTopK(layout: l)
            selected = SparseGradient(layout: l)
        }
        try x.withUnsafeBufferPointer { try compressor!.compress($0, into: &selected!) }
        let block = SparseBlock(selected!, groups: 0..<l.groupCount)
        try block.checkEncodable(values)
        bytes.withUnsafeMutableBytes { block.write(to: $0.baseAddress!, values: values) }
    }

    public func decode(_ bytes: RawSpan, into out: inout MutableSpan<Float>, _ mode: DecodeMode) throws {
        let l = layout(count: out.count)
        let block: SparseBlock
        do {
            block = try bytes.withUnsafeBytes { try SparseBlock(decoding: $0, layout: l, groups: 0..<l.groupCount, values: values) }
        } catch let CompressionError.undecodableBlock(_, reason) {
            throw CompressionError.undecodable(encoding: name, reason: reason)
        }
        out.withUnsafeMutableBufferPointer { o in
            guard let base = o.baseAddress else { return }
            switch mode {
            case .overwrite:
                base.update(repeating: 0, count: o.count)
                block.add(into: base)
            case .add:
                block.add(into: base)
            case .subtract:
                block.add(into: base, negated: true)
            }
        }
    }
}
