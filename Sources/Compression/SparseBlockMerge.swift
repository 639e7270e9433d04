/// The two ways a ring hop combines a received block with the local one.
extension SparseBlock {
    /// `exact`: the sum keeps the union of positions. The result is
    /// `variable`, or `dense` once that is smaller; summing is exact up to
    /// float rounding, so the ring's result equals an all-reduce of the
    /// densified inputs.
    public mutating func mergeExact(_ other: SparseBlock) {
        precondition(other.layout == layout && other.groups == groups, "merging blocks of different groups")
        if form == .dense || other.form == .dense {
            makeDense()
            let origin = elements.lowerBound
            values.withUnsafeMutableBufferPointer { other.add(into: $0.baseAddress!, origin: origin) }
            return
        }
        var newCounts = [Int](), newValues = [Float](), newPositions = [UInt32]()
        newCounts.reserveCapacity(groups.count)
        newValues.reserveCapacity(values.count + other.values.count)
        newPositions.reserveCapacity(values.count + other.values.count)
        var a = 0, b = 0
        for j in 0..<groups.count {
            let aEnd = a + counts[j], bEnd = b + other.counts[j]
            let before = newValues.count
            while a < aEnd || b < bEnd {
                if b == bEnd || (a < aEnd && positions[a] < other.positions[b]) {
                    newPositions.append(positions[a]); newValues.append(values[a]); a += 1
                } else if a == aEnd || other.positions[b] < positions[a] {
                    newPositions.append(other.positions[b]); newValues.append(other.values[b]); b += 1
                } else {
                    newPositions.append(positions[a]); newValues.append(values[a] + other.values[b]); a += 1; b += 1
                }
            }
            newCounts.append(newValues.count - before)
        }
        (form, counts, values, positions) = (.variable, newCounts, newValues, newPositions)
        chooseSmallerForm()
    }

    /// `reselect`: the union sum cut back to Group-TopK, so the block stays
    /// `fixed` and the ring's volume stays flat in N. In each group the
    /// kept entries are the largest magnitudes (ties to the lower position);
    /// the dropped values are added to `residual` (indexed by element of the
    /// whole vector) when given, so error feedback sends them later.
    public mutating func mergeReselect(_ other: SparseBlock, residual: UnsafeMutablePointer<Float>?) {
        precondition(other.layout == layout && other.groups == groups, "merging blocks of different groups")
        precondition(form != .dense && other.form != .dense, "reselect merges sparse blocks only")
        var newValues = [Float](), newPositions = [UInt32]()
        newValues.reserveCapacity(layout.kept(inGroups: groups))
        newPositions.reserveCapacity(layout.kept(inGroups: groups))
        var unionValues = [Float](), unionPositions = [UInt32](), order = [Int]()
        var a = 0, b = 0
        for (j, g) in groups.enumerated() {
            unionValues.removeAll(keepingCapacity: true)
            unionPositions.removeAll(keepingCapacity: true)
            let aEnd = a + counts[j], bEnd = b + other.counts[j]
            while a < aEnd || b < bEnd {
                if b == bEnd || (a < aEnd && positions[a] < other.positions[b]) {
                    unionPositions.append(positions[a]); unionValues.append(values[a]); a += 1
                } else if a == aEnd || other.positions[b] < positions[a] {
                    unionPositions.append(other.positions[b]); unionValues.append(other.values[b]); b += 1
                } else {
                    unionPositions.append(positions[a]); unionValues.append(values[a] + other.values[b]); a += 1; b += 1
                }
            }
            let keep = layout.kept(inGroup: g)
            precondition(unionValues.count >= keep, "a group holds fewer entries than it keeps")
            // Largest magnitude first; equal magnitudes by position (the union is in position order).
            order = Array(0..<unionValues.count)
            order.sort { abs(unionValues[$0]) > abs(unionValues[$1]) || (abs(unionValues[$0]) == abs(unionValues[$1]) && $0 < $1) }
            let kept = order[..<keep].sorted()
            for i in kept {
                newPositions.append(unionPositions[i])
                newValues.append(unionValues[i])
            }
            if let residual {
                let start = layout.range(ofGroup: g).lowerBound
                for i in order[keep...] { residual[start + Int(unionPositions[i])] += unionValues[i] }
            }
        }
        (form, counts, values, positions) = (.fixed, groups.map { layout.kept(inGroup: $0) }, newValues, newPositions)
    }
}
