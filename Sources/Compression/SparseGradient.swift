/// A Group-TopK compressed vector: every group keeps exactly
/// `layout.kept(inGroup:)` entries, so no per-group counts are needed.
/// Entries are stored group after group, positions ascending inside each
/// group and relative to the group's start.
public struct SparseGradient: Sendable {
    public let layout: GroupLayout
    /// Selected values, group after group.
    public var values: [Float]
    /// In-group positions of `values`.
    public var positions: [UInt32]

    /// An empty gradient of `layout`'s size (all entries zero at positions 0...).
    public init(layout: GroupLayout) {
        self.layout = layout
        let n = layout.kept(inGroups: 0..<layout.groupCount)
        values = [Float](repeating: 0, count: n)
        positions = [UInt32](repeating: 0, count: n)
    }

    public init(layout: GroupLayout, values: [Float], positions: [UInt32]) {
        precondition(values.count == positions.count && values.count == layout.kept(inGroups: 0..<layout.groupCount),
                     "a Group-TopK gradient holds exactly the kept entries of every group")
        self.layout = layout
        self.values = values
        self.positions = positions
    }

    /// Index in `values` of group `g`'s first entry.
    @inline(__always)
    public func entryStart(ofGroup g: Int) -> Int { g * layout.k }

    /// Bytes on the wire: one Float and one position per entry.
    public var wireBytes: Int { values.count * layout.entryBytes }

    /// Writes the dense vector (zeros where nothing was selected).
    package func densify(into output: UnsafeMutableBufferPointer<Float>) {
        precondition(output.count == layout.length, "output has \(output.count) elements, expected \(layout.length)")
        guard let base = output.baseAddress else { return }
        base.update(repeating: 0, count: layout.length)
        for g in 0..<layout.groupCount {
            let start = layout.range(ofGroup: g).lowerBound
            let e = entryStart(ofGroup: g)
            for j in e..<e + layout.kept(inGroup: g) { base[start + Int(positions[j])] += values[j] }
        }
    }
}
