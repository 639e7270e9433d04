/// The wire format of a block, little-endian:
///
///     header   4 bytes: form (0 fixed, 1 variable, 2 dense), position bytes (2 or 4), 2 reserved
///     fixed    values (Float x n), positions (UInt16 or UInt32 x n)
///     variable counts (UInt16, or UInt32 when groups hold 65,536), values, positions
///     dense    values (Float x block elements)
///
/// A fixed block's entry count n follows from the layout, so the receiver
/// (which knows the layout and the block's groups) needs no counts.
extension SparseBlock {
    /// Writes the block into `bytes` (grown if needed); returns the byte count.
    @discardableResult
    public func encode(into bytes: inout [UInt8]) -> Int {
        let total = wireBytes
        if bytes.count < total { bytes = [UInt8](repeating: 0, count: total) }
        bytes.withUnsafeMutableBytes { raw in
            let p = raw.baseAddress!
            p.storeBytes(of: form.rawValue, as: UInt8.self)
            p.storeBytes(of: UInt8(layout.positionBytes), toByteOffset: 1, as: UInt8.self)
            p.storeBytes(of: UInt16(0), toByteOffset: 2, as: UInt16.self)
            var offset = Self.headerBytes
            if form == .variable {
                for c in counts {
                    if countBytes == 2 { p.storeBytes(of: UInt16(c).littleEndian, toByteOffset: offset, as: UInt16.self) }
                    else { p.storeBytes(of: UInt32(c).littleEndian, toByteOffset: offset, as: UInt32.self) }
                    offset += countBytes
                }
            }
            values.withUnsafeBytes { v in
                if v.count > 0 { (p + offset).copyMemory(from: v.baseAddress!, byteCount: v.count) }
                offset += v.count
            }
            if layout.positionBytes == 2 {
                for q in positions {
                    p.storeBytes(of: UInt16(q).littleEndian, toByteOffset: offset, as: UInt16.self)
                    offset += 2
                }
            } else {
                for q in positions {
                    p.storeBytes(of: q.littleEndian, toByteOffset: offset, as: UInt32.self)
                    offset += 4
                }
            }
        }
        return total
    }

    /// Reads a block of `groups` of `layout` from `bytes`, checking every size
    /// and position against the layout. Throws
    /// `CompressionError.undecodableBlock` saying what is wrong.
    package init(decoding bytes: UnsafeRawBufferPointer, layout: GroupLayout, groups: Range<Int>) throws {
        func fail(_ why: String) -> CompressionError { .undecodableBlock(groups: groups, reason: why) }
        guard bytes.count >= Self.headerBytes, let p = bytes.baseAddress else { throw fail("\(bytes.count) bytes, shorter than the header") }
        guard let form = Form(rawValue: p.load(as: UInt8.self)) else { throw fail("unknown form \(p.load(as: UInt8.self))") }
        guard Int(p.load(fromByteOffset: 1, as: UInt8.self)) == layout.positionBytes else { throw fail("position width disagrees") }
        var block = SparseBlock(layout: layout, groups: groups, form: form, counts: [], values: [], positions: [])
        var offset = Self.headerBytes
        let entries: Int
        switch form {
        case .fixed:
            block.counts = groups.map { layout.kept(inGroup: $0) }
            entries = layout.kept(inGroups: groups)
        case .variable:
            guard bytes.count >= offset + groups.count * block.countBytes else { throw fail("truncated counts") }
            block.counts.reserveCapacity(groups.count)
            for g in groups {
                let c = block.countBytes == 2 ? Int(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
                    : Int(UInt32(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
                guard c <= layout.range(ofGroup: g).count else { throw fail("group \(g) claims \(c) entries") }
                block.counts.append(c)
                offset += block.countBytes
            }
            entries = block.counts.reduce(0, +)
        case .dense:
            entries = block.elements.count
        }
        let expected = Self.headerBytes + block.payloadBytes(form, entries: entries)
        guard bytes.count == expected else { throw fail("\(bytes.count) bytes where \(expected) were expected") }
        block.values = [Float](unsafeUninitializedCapacity: entries) { buffer, n in
            if entries > 0 {
                UnsafeMutableRawPointer(buffer.baseAddress!).copyMemory(from: p + offset, byteCount: entries * 4)
            }
            n = entries
        }
        offset += entries * 4
        if form != .dense {
            block.positions.reserveCapacity(entries)
            for (j, g) in groups.enumerated() {
                let size = UInt32(layout.range(ofGroup: g).count)
                var previous: Int64 = -1
                for _ in 0..<block.counts[j] {
                    let q = layout.positionBytes == 2 ? UInt32(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
                        : UInt32(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
                    guard q < size, Int64(q) > previous else { throw fail("position \(q) in group \(g) is out of order or range") }
                    previous = Int64(q)
                    block.positions.append(q)
                    offset += layout.positionBytes
                }
            }
        }
        self = block
    }
}
