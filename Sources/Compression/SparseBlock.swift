/// The entries of a contiguous run of groups (one ring block) of a Group-TopK
/// vector, in one of three forms:
///
/// - `fixed`: every group holds exactly `layout.kept(inGroup:)` entries, so no
///   counts are stored (what compression and `reselect` produce);
/// - `variable`: a count per group, then the entries (what an `exact` union
///   produces, since fill-in varies by group);
/// - `dense`: every element of the block, as floats.
///
/// Inside a group, positions are ascending and relative to the group start.
public struct SparseBlock: Sendable {
    public enum Form: UInt8, Sendable { case fixed = 0, variable = 1, dense = 2 }

    public let layout: GroupLayout
    public let groups: Range<Int>
    public internal(set) var form: Form
    /// Entries per group (`variable`; derived from the layout for `fixed`).
    public internal(set) var counts: [Int]
    public internal(set) var values: [Float]
    public internal(set) var positions: [UInt32]

    /// The elements of the vector this block covers.
    public var elements: Range<Int> {
        guard !groups.isEmpty else { return 0..<0 }
        return layout.range(ofGroup: groups.lowerBound).lowerBound..<layout.range(ofGroup: groups.upperBound - 1).upperBound
    }

    /// The block of groups `groups` of a compressed gradient (fixed form).
    public init(_ gradient: SparseGradient, groups: Range<Int>) {
        layout = gradient.layout
        self.groups = groups
        form = .fixed
        counts = groups.map { gradient.layout.kept(inGroup: $0) }
        let first = groups.isEmpty ? 0 : gradient.entryStart(ofGroup: groups.lowerBound)
        let entries = first..<first + gradient.layout.kept(inGroups: groups)
        values = Array(gradient.values[entries])
        positions = Array(gradient.positions[entries])
    }

    init(layout: GroupLayout, groups: Range<Int>, form: Form, counts: [Int], values: [Float], positions: [UInt32]) {
        self.layout = layout
        self.groups = groups
        self.form = form
        self.counts = counts
        self.values = values
        self.positions = positions
    }

    /// Stored entries (for `dense`, the non-zero elements).
    public var nonZeroCount: Int {
        form == .dense ? values.reduce(0) { $0 + ($1 != 0 ? 1 : 0) } : values.count
    }

    /// Bytes of a count on the wire: a group of 65,536 elements can hold
    /// 65,536 entries, one more than UInt16 holds.
    var countBytes: Int { layout.groupSize < 65_536 ? 2 : 4 }

    /// Bytes this block takes on the wire in `form` with Float32 values, header included.
    public var wireBytes: Int { wireBytes(values: .float32) }

    /// Bytes this block takes on the wire in `form` with values in `format`,
    /// header included (see `encode(into:values:)`).
    public func wireBytes(values format: SparseValueFormat) -> Int {
        Self.headerBytes + payloadBytes(form, entries: values.count, values: format)
    }

    static let headerBytes = 4

    func payloadBytes(_ form: Form, entries: Int, values format: SparseValueFormat = .float32) -> Int {
        let scales = format.scaleBytes(groups: groups.count)
        switch form {
        case .fixed: return scales + entries * (format.valueBytes + layout.positionBytes)
        case .variable: return groups.count * countBytes + scales + entries * (format.valueBytes + layout.positionBytes)
        case .dense: return scales + elements.count * format.valueBytes
        }
    }

    /// The indices into `values` of group `groups.lowerBound + j`'s values, in
    /// any form; `start` is where group j's entries begin (the sum of the
    /// earlier counts) and is advanced past them.
    @inline(__always)
    func valueRange(ofGroup j: Int, start: inout Int) -> Range<Int> {
        if form == .dense {
            let r = layout.range(ofGroup: groups.lowerBound + j)
            return r.lowerBound - elements.lowerBound..<r.upperBound - elements.lowerBound
        }
        defer { start += counts[j] }
        return start..<start + counts[j]
    }

    /// The element of the vector that value `e` stands for.
    func element(ofValue e: Int) -> Int {
        if form == .dense { return elements.lowerBound + e }
        var start = 0
        for j in 0..<groups.count {
            let r = valueRange(ofGroup: j, start: &start)
            if r.contains(e) { return layout.range(ofGroup: groups.lowerBound + j).lowerBound + Int(positions[e]) }
        }
        preconditionFailure("value \(e) is outside the block's \(values.count)")
    }

    /// Adds the block's elements into `output` (subtracts them when
    /// `negated`), where `output[i - origin]` holds element i of the vector
    /// (origin 0: `output` is the whole vector).
    package func add(into output: UnsafeMutablePointer<Float>, origin: Int = 0, negated: Bool = false) {
        let base = elements.lowerBound - origin
        let sign: Float = negated ? -1 : 1
        if form == .dense {
            for i in 0..<values.count { output[base + i] += sign * values[i] }
            return
        }
        var e = 0
        for (j, g) in groups.enumerated() {
            let start = layout.range(ofGroup: g).lowerBound - origin
            for _ in 0..<counts[j] {
                output[start + Int(positions[e])] += sign * values[e]
                e += 1
            }
        }
    }

    /// Converts to the dense form.
    public mutating func makeDense() {
        guard form != .dense else { return }
        var dense = [Float](repeating: 0, count: elements.count)
        let origin = elements.lowerBound
        dense.withUnsafeMutableBufferPointer { d in add(into: d.baseAddress!, origin: origin) }
        values = dense
        positions = []
        counts = []
        form = .dense
    }

    /// Switches between `variable` and `dense`, whichever is smaller on the
    /// wire with values in `format` (SparCML's switch: fill-in grows with
    /// every merge).
    mutating func chooseSmallerForm(values format: SparseValueFormat = .float32) {
        if form == .variable
            && payloadBytes(.dense, entries: 0, values: format) < payloadBytes(.variable, entries: values.count, values: format)
        {
            makeDense()
        }
    }
}
