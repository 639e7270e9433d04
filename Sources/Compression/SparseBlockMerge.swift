/// The two ways a ring hop combines a received block with the local one.
extension SparseBlock {
    /// `exact`: the sum keeps the union of positions. The result is
    /// `variable`, or `dense` once that is smaller on the wire with values in
    /// `format` (the format the block will be sent in); summing is exact up
    /// to float rounding, so the ring's result equals an all-reduce of the
    /// densified inputs.
    public mutating func mergeExact(_ other: SparseBlock, values format: SparseValueFormat = .float32) {
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
            let before = newValues.count
            appendUnion(ofGroup: j, with: other, a: &a, b: &b, values: &newValues, positions: &newPositions)
            newCounts.append(newValues.count - before)
        }
        (form, counts, values, positions) = (.variable, newCounts, newValues, newPositions)
        chooseSmallerForm(values: format)
    }

    /// `reselect`: the union sum cut back to Group-TopK, so the block stays
    /// `fixed` and the ring's volume stays flat in N. In each group the
    /// kept entries are the largest magnitudes (ties to the lower position);
    /// the dropped values are added to `residual` (indexed by element of the
    /// whole vector) when given, so error feedback sends them later.
    ///
    /// `other` usually comes from a peer, so what this merge cannot take is
    /// a thrown `CompressionError` (this block is then unchanged, `residual`
    /// possibly not): a dense block (`.denseBlockInReselect`), a group with
    /// fewer entries in the union than it keeps (`.tooFewEntriesToReselect`),
    /// or a NaN in `other` (`.notANumberInBlock`). A NaN that the sum made
    /// from honest values (inf + -inf; it cannot be ranked, see `GroupTopK`)
    /// throws `.notANumber` naming the element.
    package mutating func mergeReselect(_ other: SparseBlock, residual: UnsafeMutablePointer<Float>?) throws {
        precondition(other.layout == layout && other.groups == groups, "merging blocks of different groups")
        guard form != .dense && other.form != .dense else {
            throw CompressionError.denseBlockInReselect(groups: groups)
        }
        var newValues = [Float](), newPositions = [UInt32]()
        newValues.reserveCapacity(layout.kept(inGroups: groups))
        newPositions.reserveCapacity(layout.kept(inGroups: groups))
        var unionValues = [Float](), unionPositions = [UInt32]()
        // Group-TopK's own selection over each union (ties to the lower
        // position, since the union is in position order).
        let selector = TopKSelector(capacity: layout.k, groupSize: layout.groupSize)
        var chosen = [UInt32](repeating: 0, count: layout.k)
        var a = 0, b = 0
        for (j, g) in groups.enumerated() {
            unionValues.removeAll(keepingCapacity: true)
            unionPositions.removeAll(keepingCapacity: true)
            appendUnion(ofGroup: j, with: other, a: &a, b: &b, values: &unionValues, positions: &unionPositions)
            let n = unionValues.count, keep = layout.kept(inGroup: g)
            guard n >= keep else {
                throw CompressionError.tooFewEntriesToReselect(group: g, entries: n, keeps: keep)
            }
            let start = layout.range(ofGroup: g).lowerBound
            let nan = unionValues.withUnsafeBufferPointer { u in
                chosen.withUnsafeMutableBufferPointer { selector.select(u.baseAddress!, count: n, k: keep, into: $0.baseAddress!) }
            }
            if let nan {
                // Group-TopK never sends a NaN, so one in `other` is malformed;
                // otherwise two finite-or-infinite values summed to it.
                let position = start + Int(unionPositions[nan])
                guard !other.values.contains(where: \.isNaN) else {
                    throw CompressionError.notANumberInBlock(position: position)
                }
                throw CompressionError.notANumber(position: position, what: "the merged sum")
            }
            var c = 0
            for i in 0..<n {
                if c < keep && Int(chosen[c]) == i {
                    newPositions.append(unionPositions[i])
                    newValues.append(unionValues[i])
                    c += 1
                } else {
                    residual?[start + Int(unionPositions[i])] += unionValues[i]
                }
            }
        }
        (form, counts, values, positions) = (.fixed, groups.map { layout.kept(inGroup: $0) }, newValues, newPositions)
    }

    /// Appends the position-ordered union of group `j`'s entries of this
    /// block (from `a`) and of `other` (from `b`) to `values`/`positions`,
    /// summing entries at the same position; advances `a` and `b`.
    @inline(__always)
    private func appendUnion(ofGroup j: Int, with other: SparseBlock, a: inout Int, b: inout Int,
                             values out: inout [Float], positions outPositions: inout [UInt32]) {
        let aEnd = a + counts[j], bEnd = b + other.counts[j]
        while a < aEnd || b < bEnd {
            if b == bEnd || (a < aEnd && positions[a] < other.positions[b]) {
                outPositions.append(positions[a]); out.append(values[a]); a += 1
            } else if a == aEnd || other.positions[b] < positions[a] {
                outPositions.append(other.positions[b]); out.append(other.values[b]); b += 1
            } else {
                outPositions.append(positions[a]); out.append(values[a] + other.values[b]); a += 1; b += 1
            }
        }
    }
}
