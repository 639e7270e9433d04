/// How Group-TopK cuts a flat vector: groups of `groupSize`, the last one
/// possibly shorter, and how many entries each group keeps.
///
///     k = max(1, round(ratio x groupSize))
///     the last group of length L' < groupSize keeps max(1, round(k x L' / groupSize))
///
/// No group keeps more entries than it has.
public struct GroupLayout: Sendable, Equatable {
    public let length: Int
    public let groupSize: Int
    public let ratio: Double
    /// Entries kept per full group.
    public let k: Int
    public let groupCount: Int

    public init(length: Int, groupSize: Int, ratio: Double) {
        precondition(length >= 0, "length must be >= 0")
        precondition(groupSize >= 1 && groupSize <= Int(UInt32.max), "group size must be in 1...\(UInt32.max)")
        precondition(ratio > 0 && ratio <= 1, "ratio must be in (0, 1]")
        self.length = length
        self.groupSize = groupSize
        self.ratio = ratio
        k = min(groupSize, max(1, Int((ratio * Double(groupSize)).rounded())))
        groupCount = (length + groupSize - 1) / groupSize
    }

    /// The elements of group `g`.
    @inline(__always)
    public func range(ofGroup g: Int) -> Range<Int> {
        g * groupSize..<min(length, (g + 1) * groupSize)
    }

    /// Entries group `g` keeps.
    @inline(__always)
    public func kept(inGroup g: Int) -> Int {
        let n = min(length, (g + 1) * groupSize) - g * groupSize
        if n == groupSize { return k }
        return min(n, max(1, Int((Double(k) * Double(n) / Double(groupSize)).rounded())))
    }

    /// Entries kept by groups g0..<g1 (full groups keep k each).
    public func kept(inGroups groups: Range<Int>) -> Int {
        guard !groups.isEmpty else { return 0 }
        let last = groups.upperBound - 1
        return (groups.count - 1) * k + kept(inGroup: last)
    }

    /// The fraction of the vector really kept: every group's kept entries
    /// over the length. Above `ratio` where the k >= 1 floor or rounding
    /// lifts k (group 256 at ratio 0.001 keeps 1 / 256, 3.9x the ratio).
    public var effectiveRatio: Double {
        length > 0 ? Double(kept(inGroups: 0..<groupCount)) / Double(length) : 0
    }

    /// Bytes of one in-group position on the wire: 2 when positions fit in
    /// UInt16 (groupSize <= 65,536), else 4.
    public var positionBytes: Int { groupSize <= 65_536 ? 2 : 4 }

    /// Bytes of one selected entry on the wire: a Float and a position.
    public var entryBytes: Int { 4 + positionBytes }
}
