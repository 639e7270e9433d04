/// An n-dimensional array of unsigned bytes as stored in an IDX file.
///
/// `bytes` holds the elements in row-major order (the last dimension varies
/// fastest); its count is the product of `dimensions`.
public struct IDXArray: Sendable, Equatable {
    public let dimensions: [Int]
    public let bytes: [UInt8]

    /// Requires 1 to 255 dimensions, each in `0...UInt32.max` (what IDX can
    /// store), whose product equals `bytes.count`.
    public init(dimensions: [Int], bytes: [UInt8]) {
        precondition((1...255).contains(dimensions.count), "IDX arrays have 1 to 255 dimensions")
        precondition(
            dimensions.allSatisfy { $0 >= 0 && UInt64($0) <= UInt64(UInt32.max) },
            "IDX dimensions must be in 0...\(UInt32.max)")
        precondition(
            IDX.elementCount(dimensions) == bytes.count,
            "dimensions \(dimensions) do not match \(bytes.count) bytes")
        self.dimensions = dimensions
        self.bytes = bytes
    }
}

/// LeCun's IDX format, as used by MNIST and Fashion-MNIST, for unsigned bytes.
///
/// A file is the magic `00 00 08 n`, then `n` big-endian `UInt32` dimensions,
/// then the product of the dimensions in bytes, and nothing else.
public enum IDX {
    /// The IDX element type code for unsigned bytes, the only one supported.
    public static let unsignedByteType: UInt8 = 0x08

    /// Parses the bytes of an uncompressed IDX file. `name` (usually the path)
    /// is used in error messages only.
    ///
    /// Never traps, whatever `bytes` holds: every size is checked for overflow.
    /// - Throws: `DataError.wrongMagic`, `.unsupportedDataType`,
    ///   `.invalidHeader` (no dimensions, or sizes that overflow `Int`),
    ///   `.truncatedFile` (header or data cut short; counts are whole-file
    ///   bytes) or `.trailingBytes` (more bytes than the header accounts for).
    public static func parse(_ bytes: [UInt8], name: String) throws -> IDXArray {
        let header: Header
        switch try parseHeader(bytes, name: name) {
        case let .needs(count): throw DataError.truncatedFile(file: name, expectedBytes: count, actualBytes: bytes.count)
        case let .complete(h): header = h
        }
        if bytes.count < header.fileBytes {
            throw DataError.truncatedFile(file: name, expectedBytes: header.fileBytes, actualBytes: bytes.count)
        }
        if bytes.count > header.fileBytes {
            throw DataError.trailingBytes(file: name, expectedBytes: header.fileBytes, actualBytes: bytes.count)
        }
        return IDXArray(dimensions: header.dimensions, bytes: Array(bytes[header.byteCount...]))
    }

    /// An IDX header's content.
    struct Header {
        var dimensions: [Int]
        /// Bytes of the header: 4 + 4 x the number of dimensions.
        var byteCount: Int
        /// Bytes of one record along the first dimension (0 when there are none).
        var recordBytes: Int
        /// Bytes of the whole file the header describes.
        var fileBytes: Int
    }

    /// What the first bytes of an IDX file say: `.needs(n)` when the header
    /// is longer than `prefix` (n bytes in all are needed to go on), else
    /// the header. Checks the magic and type as soon as 4 bytes are there.
    /// - Throws: `DataError.wrongMagic`, `.unsupportedDataType`, and
    ///   `.invalidHeader` for zero dimensions or sizes that overflow `Int`.
    static func parseHeader(_ prefix: [UInt8], name: String) throws -> HeaderProgress {
        guard prefix.count >= 4 else { return .needs(4) }
        guard prefix[0] == 0, prefix[1] == 0 else {
            throw DataError.wrongMagic(file: name, found: Array(prefix[0..<4]))
        }
        guard prefix[2] == unsignedByteType else {
            throw DataError.unsupportedDataType(file: name, code: prefix[2])
        }
        let rank = Int(prefix[3])
        guard rank >= 1 else {
            throw DataError.invalidHeader(file: name, reason: "zero dimensions")
        }
        let headerSize = 4 + 4 * rank
        guard prefix.count >= headerSize else { return .needs(headerSize) }
        var dimensions: [Int] = []
        dimensions.reserveCapacity(rank)
        for d in 0..<rank {
            let o = 4 + 4 * d
            let value = UInt32(prefix[o]) << 24 | UInt32(prefix[o + 1]) << 16
                | UInt32(prefix[o + 2]) << 8 | UInt32(prefix[o + 3])
            guard let dimension = Int(exactly: value) else {
                throw DataError.invalidHeader(file: name, reason: "dimension \(value) does not fit Int")
            }
            dimensions.append(dimension)
        }
        guard let elements = elementCount(dimensions) else {
            let shown = dimensions.map(String.init).joined(separator: " x ")
            throw DataError.invalidHeader(file: name, reason: "\(shown) elements overflow Int")
        }
        let (fileBytes, overflow) = headerSize.addingReportingOverflow(elements)
        guard !overflow else {
            throw DataError.invalidHeader(file: name, reason: "file size \(headerSize) + \(elements) overflows Int")
        }
        return .complete(Header(dimensions: dimensions, byteCount: headerSize,
                                recordBytes: dimensions[0] == 0 ? 0 : elements / dimensions[0], fileBytes: fileBytes))
    }

    enum HeaderProgress {
        case needs(Int)
        case complete(Header)
    }

    /// Reads and parses the IDX file at `path`, plain or gzip-compressed.
    /// - Throws: the errors of `readPossiblyCompressedFile(path:)` and `parse(_:name:)`.
    public static func read(path: String) throws -> IDXArray {
        try parse(readPossiblyCompressedFile(path: path), name: path)
    }

    /// The bytes of the uncompressed IDX file holding `array`.
    public static func encode(_ array: IDXArray) -> [UInt8] {
        var out: [UInt8] = [0, 0, unsignedByteType, UInt8(array.dimensions.count)]
        out.reserveCapacity(4 + 4 * array.dimensions.count + array.bytes.count)
        for d in array.dimensions {
            let v = UInt32(d)
            out += [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
        }
        out += array.bytes
        return out
    }

    /// The product of `dimensions`, or nil when it overflows `Int`.
    static func elementCount(_ dimensions: [Int]) -> Int? {
        var product = 1
        for d in dimensions {
            let (p, overflow) = product.multipliedReportingOverflow(by: d)
            if overflow { return nil }
            product = p
        }
        return product
    }
}
