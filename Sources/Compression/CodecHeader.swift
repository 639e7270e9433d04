/// The 12 bytes every dense codec's message starts with, little-endian:
///
///     offset 0  UInt8   format     0x10 fp16, 0x11 int8, 0x12 qsgd, 0x13 sign
///     offset 1  UInt8   bits       bits per element: 16, 8, qsgd's 1 + ceil(log2(s + 1)), 1
///     offset 2  UInt16  levels     qsgd's s; 0 for the others
///     offset 4  UInt32  elements   n, the vector's length
///     offset 8  UInt32  bucket     elements per scale (bucket or group size); 0 for fp16
///
/// The receiver knows the codec and its settings, so every field is
/// checked against what it expects: a message of other settings, or bytes
/// that are not a message, are refused naming the field. The format tags
/// are apart from the sparse block's forms (0...2). A changed layout gets a
/// new tag: the tag is the version.
struct CodecHeader: Equatable {
    enum Format: UInt8 {
        case float16 = 0x10, int8 = 0x11, qsgd = 0x12, sign = 0x13
    }

    static let byteCount = 12

    var format: Format
    var bits: Int
    var levels: Int
    var elements: Int
    var bucket: Int

    /// The header of a message of `elements` floats; the length must fit
    /// the UInt32 field (16 GiB of floats).
    init(format: Format, bits: Int, levels: Int = 0, elements: Int, bucket: Int) {
        precondition(elements >= 0 && elements <= Int(UInt32.max), "a message holds at most \(UInt32.max) elements, not \(elements)")
        assert(bits >= 1 && bits <= 16 && levels >= 0 && levels <= Int(UInt16.max) && bucket >= 0 && bucket <= Int(UInt32.max))
        (self.format, self.bits, self.levels, self.elements, self.bucket) = (format, bits, levels, elements, bucket)
    }

    func write(to p: UnsafeMutableRawPointer) {
        p.storeBytes(of: format.rawValue, as: UInt8.self)
        p.storeBytes(of: UInt8(bits), toByteOffset: 1, as: UInt8.self)
        p.storeBytes(of: UInt16(levels).littleEndian, toByteOffset: 2, as: UInt16.self)
        p.storeBytes(of: UInt32(elements).littleEndian, toByteOffset: 4, as: UInt32.self)
        p.storeBytes(of: UInt32(bucket).littleEndian, toByteOffset: 8, as: UInt32.self)
    }

    /// Checks that `bytes` is `totalBytes` long and starts with this header;
    /// otherwise throws `CompressionError.undecodable` naming `encoding` and
    /// the first field that differs.
    func check(_ bytes: UnsafeRawBufferPointer, totalBytes: Int, encoding: String) throws {
        func fail(_ reason: String) -> CompressionError { .undecodable(encoding: encoding, reason: reason) }
        guard bytes.count >= Self.byteCount, let p = bytes.baseAddress else {
            throw fail("\(bytes.count) bytes, shorter than the \(Self.byteCount)-byte header")
        }
        let tag = p.load(as: UInt8.self)
        guard tag == format.rawValue else { throw fail("format tag \(hex(tag)) where \(hex(format.rawValue)) was expected") }
        let bits = Int(p.load(fromByteOffset: 1, as: UInt8.self))
        guard bits == self.bits else { throw fail("\(bits) bits per element where \(self.bits) were expected") }
        let levels = Int(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 2, as: UInt16.self)))
        guard levels == self.levels else { throw fail("\(levels) levels where \(self.levels) were expected") }
        let elements = Int(UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
        guard elements == self.elements else { throw fail("\(elements) elements where \(self.elements) were expected") }
        let bucket = Int(UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 8, as: UInt32.self)))
        guard bucket == self.bucket else { throw fail("bucket size \(bucket) where \(self.bucket) was expected") }
        guard bytes.count == totalBytes else { throw fail("\(bytes.count) bytes where \(totalBytes) were expected") }
    }

    private func hex(_ b: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return "0x" + String(digits[Int(b >> 4)]) + String(digits[Int(b & 15)])
    }
}

/// ceil(count / size): the buckets (or groups) of `size` a vector of
/// `count` elements is cut into, the last one possibly shorter.
@inline(__always)
func bucketCount(_ count: Int, _ size: Int) -> Int { (count + size - 1) / size }

/// A dense codec: one 12-byte `CodecHeader`, then its payload.
protocol DenseCodec: GradientCodec {
    /// The header of a message of `count` floats.
    func header(count: Int) -> CodecHeader
}

extension DenseCodec {
    /// What every dense codec's encoding does first: checks that `bytes` is
    /// exactly one message long and that every value is finite (else
    /// `CompressionError.notFinite`, nothing written), writes the header,
    /// then hands `body` the values (nil when there are none), their count
    /// and the payload after the header.
    func encodeFrame(_ values: Span<Float>, into bytes: inout MutableRawSpan,
                     _ body: (UnsafePointer<Float>?, Int, UnsafeMutableRawPointer) -> Void) throws {
        let n = values.count
        precondition(bytes.byteCount == encodedBytes(count: n), "\(name) needs \(encodedBytes(count: n)) bytes for \(n) floats, not \(bytes.byteCount)")
        let h = header(count: n)
        try values.withUnsafeBufferPointer { x in
            try requireFinite(x, encoding: name)
            bytes.withUnsafeMutableBytes { out in
                let p = out.baseAddress!
                h.write(to: p)
                body(x.baseAddress, n, p + CodecHeader.byteCount)
            }
        }
    }
}
