/// The wire format of a block, little-endian:
///
///     header   4 bytes: form (0 fixed, 1 variable, 2 dense), position bytes (2 or 4),
///              value format (0 float32, 1 float16, 2 int8; `SparseValueFormat`), 1 reserved (0)
///     fixed    [scales], values (x n), positions (UInt16 or UInt32 x n)
///     variable counts (UInt16, or UInt32 when groups hold 65,536), [scales], values, positions
///     dense    [scales], values (x block elements)
///
///     scales   int8 only: one Float32 per group of the block, the largest magnitude
///              among that group's values in the block (finite, >= 0)
///     values   Float32, Float16 (IEEE binary16) or Int8 (-127...127, value = q scale / 127)
///
///     bytes = 4 + [counts: groups x count bytes] + [int8: 4 x groups] + n x (value bytes + position bytes)
///           = 4 + [int8: 4 x groups] + elements x value bytes               (dense)
///
/// A fixed block's entry count n follows from the layout, so the receiver
/// (which knows the layout and the block's groups) needs no counts. With
/// UInt16 positions (groups of at most 65,536) a Group-TopK entry is 6 bytes
/// with Float32 values, 4 with float16 and 3 (+ 4 / k) with int8.
extension SparseBlock {
    /// Writes the block with Float32 values into `bytes` (grown if needed);
    /// returns the byte count.
    @discardableResult
    public func encode(into bytes: inout [UInt8]) -> Int {
        let total = wireBytes
        if bytes.count < total { bytes = [UInt8](repeating: 0, count: total) }
        bytes.withUnsafeMutableBytes { write(to: $0.baseAddress!, values: .float32) }
        return total
    }

    /// Writes the block with values in `format` into `bytes` (grown if
    /// needed); returns the byte count, `wireBytes(values: format)`. The
    /// quantized formats refuse a NaN or infinite value with
    /// `CompressionError.notFinite` naming its element of the vector.
    @discardableResult
    public func encode(into bytes: inout [UInt8], values format: SparseValueFormat) throws -> Int {
        try checkEncodable(format)
        let total = wireBytes(values: format)
        if bytes.count < total { bytes = [UInt8](repeating: 0, count: total) }
        bytes.withUnsafeMutableBytes { write(to: $0.baseAddress!, values: format) }
        return total
    }

    /// Throws what `encode(into:values:)` would refuse.
    func checkEncodable(_ format: SparseValueFormat) throws {
        guard format != .float32 else { return }
        try values.withUnsafeBufferPointer { v in
            guard let base = v.baseAddress, let e = firstNonFinite(base, count: v.count) else { return }
            throw CompressionError.notFinite(position: element(ofValue: e), value: v[e], encoding: "\(format.name) sparse values")
        }
    }

    /// Writes `wireBytes(values: format)` bytes at `p`; the values are finite
    /// unless `format` is float32 (`checkEncodable`).
    func write(to p: UnsafeMutableRawPointer, values format: SparseValueFormat) {
        p.storeBytes(of: form.rawValue, as: UInt8.self)
        p.storeBytes(of: UInt8(layout.positionBytes), toByteOffset: 1, as: UInt8.self)
        p.storeBytes(of: format.rawValue, toByteOffset: 2, as: UInt8.self)
        p.storeBytes(of: UInt8(0), toByteOffset: 3, as: UInt8.self)
        var offset = Self.headerBytes
        if form == .variable {
            for c in counts {
                if countBytes == 2 { p.storeBytes(of: UInt16(c).littleEndian, toByteOffset: offset, as: UInt16.self) }
                else { p.storeBytes(of: UInt32(c).littleEndian, toByteOffset: offset, as: UInt32.self) }
                offset += countBytes
            }
        }
        values.withUnsafeBufferPointer { v in
            guard let v0 = v.baseAddress else { return }
            switch format {
            case .float32:
                // Float32 values are copied as they are in memory (little-endian hosts, as everywhere here).
                (p + offset).copyMemory(from: v0, byteCount: v.count * 4)
            case .float16:
                encodeHalves(v0, count: v.count, into: p + offset)
            case .int8:
                let scales = p + offset, q = scales + format.scaleBytes(groups: groups.count)
                var start = 0
                for j in 0..<groups.count {
                    let r = valueRange(ofGroup: j, start: &start)
                    let m = maxMagnitude(v0 + r.lowerBound, count: r.count)
                    storeFloat(m, scales, 4 * j)
                    quantizeNearest(v0 + r.lowerBound, count: r.count, scale: m,
                                    into: (q + r.lowerBound).assumingMemoryBound(to: Int8.self))
                }
            }
        }
        offset += format.scaleBytes(groups: groups.count) + values.count * format.valueBytes
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

    /// Reads a block of `groups` of `layout` with values in `format` from
    /// `bytes`, checking every size, position, scale and value an encoder
    /// cannot have written. Throws `CompressionError.undecodableBlock` saying
    /// what is wrong. The values come back as Float32 (dequantized).
    package init(decoding bytes: UnsafeRawBufferPointer, layout: GroupLayout, groups: Range<Int>,
                 values format: SparseValueFormat = .float32) throws
    {
        func fail(_ why: String) -> CompressionError { .undecodableBlock(groups: groups, reason: why) }
        guard bytes.count >= Self.headerBytes, let p = bytes.baseAddress else { throw fail("\(bytes.count) bytes, shorter than the header") }
        guard let form = Form(rawValue: p.load(as: UInt8.self)) else { throw fail("unknown form \(p.load(as: UInt8.self))") }
        guard Int(p.load(fromByteOffset: 1, as: UInt8.self)) == layout.positionBytes else { throw fail("position width disagrees") }
        let valueFormat = p.load(fromByteOffset: 2, as: UInt8.self)
        guard valueFormat == format.rawValue else {
            throw fail("value format \(valueFormat) where \(format.rawValue) (\(format.name)) was expected")
        }
        guard p.load(fromByteOffset: 3, as: UInt8.self) == 0 else { throw fail("reserved byte \(p.load(fromByteOffset: 3, as: UInt8.self)), not 0") }
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
        let expected = Self.headerBytes + block.payloadBytes(form, entries: entries, values: format)
        guard bytes.count == expected else { throw fail("\(bytes.count) bytes where \(expected) were expected") }
        try block.readValues(p + offset, count: entries, format: format, fail: fail)
        offset += format.scaleBytes(groups: groups.count) + entries * format.valueBytes
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

    /// Reads `count` values (after the scales, for int8) at `p` into
    /// `values`, refusing a non-finite float16, a bad int8 scale or -128.
    private mutating func readValues(_ p: UnsafeRawPointer, count: Int, format: SparseValueFormat,
                                     fail: (String) -> CompressionError) throws
    {
        switch format {
        case .float32:
            values = [Float](unsafeUninitializedCapacity: count) { buffer, n in
                if count > 0 { UnsafeMutableRawPointer(buffer.baseAddress!).copyMemory(from: p, byteCount: count * 4) }
                n = count
            }
        case .float16:
            if let bad = firstNonFiniteHalf(p, count: count) { throw fail("value \(bad) is not finite") }
            values = [Float](repeating: 0, count: count)
            values.withUnsafeMutableBufferPointer { v in
                if let v0 = v.baseAddress { decodeHalves(p, count: count, into: v0, OverwriteStore.self) }
            }
        case .int8:
            for j in 0..<groups.count {
                let s = loadFloat(p, 4 * j)
                guard s.isFinite && s >= 0 else { throw fail("the scale of group \(groups.lowerBound + j) is \(s)") }
            }
            let q = p + format.scaleBytes(groups: groups.count)
            if let bad = firstMinus128(q, count: count) { throw fail("value \(bad) is -128, outside -127...127") }
            values = [Float](repeating: 0, count: count)
            let block = self
            values.withUnsafeMutableBufferPointer { v in
                guard let v0 = v.baseAddress else { return }
                var start = 0
                for j in 0..<block.groups.count {
                    let r = block.valueRange(ofGroup: j, start: &start)
                    dequantize(q + r.lowerBound, count: r.count, scale: loadFloat(p, 4 * j), into: v0 + r.lowerBound, OverwriteStore.self)
                }
            }
        }
    }
}
